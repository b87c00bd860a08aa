"""Functions at run time: scopes (`const`/`let`, closures), calls with destructured parameters, the statements
of a function body, and assignment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.workflows.errors import ExpressionError
from core.workflows.expr_access import get_member, iterate, set_member
from core.workflows.expr_operators import binary
from core.workflows.expr_parser import Node
from core.workflows.expr_values import UNDEFINED, Fn, nullish, to_string, truthy

if TYPE_CHECKING:
    from core.workflows.expr_eval import Evaluator

MISSING = object()


class _Uninitialised:
    """A `let`/`const` name of a block before its declaration ran (JavaScript's temporal dead zone)."""


_TDZ = _Uninitialised()


class Env:
    """One scope: a function's parameters or a block's declarations, and the scope around it."""

    __slots__ = ("names", "consts", "parent")

    def __init__(self, parent: Env | None) -> None:
        self.names: dict[str, Any] = {}
        self.consts: set[str] = set()
        self.parent = parent


def lookup(env: Env | None, name: str) -> Any:
    """The value of a declared name, or MISSING when no enclosing scope declares it."""
    while env is not None:
        value = env.names.get(name, MISSING)
        if value is not MISSING:
            if value is _TDZ:
                raise ExpressionError(f"cannot access '{name}' before its declaration")
            return value
        env = env.parent
    return MISSING


class _Return:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def make_function(ev: Evaluator, node: Node) -> Fn:
    """The closure a `fn` node evaluates to: it captures the scope it was created in."""
    _, name, params, body, is_block = node
    captured = ev.env
    fn: Fn

    def invoke(args: list[Any]) -> Any:
        ev.budget.enter()
        saved = ev.env
        ev.env = Env(captured)
        try:
            if name is not None:
                ev.env.names[name] = fn  # a named function expression sees itself (for recursion)
            _bind_params(ev, params, args)
            if not is_block:
                return ev.eval(body)
            outcome = run_block(ev, body)
            return outcome.value if outcome is not None else UNDEFINED
        finally:
            ev.env = saved
            ev.budget.leave()

    fn = Fn(name or "anonymous", invoke)
    return fn


def _bind_params(ev: Evaluator, params: list[Node], args: list[Any]) -> None:
    assert ev.env is not None
    for i, param in enumerate(params):
        if param[0] == "prest":
            bind(ev, param[1], list(args[i:]), ev.env, False)
            return
        bind(ev, param, args[i] if i < len(args) else UNDEFINED, ev.env, False)


def bind(ev: Evaluator, pattern: Node, value: Any, env: Env, const: bool) -> None:
    """Binds `value` to a name or destructuring pattern in `env`."""
    kind = pattern[0]
    if kind == "pname":
        env.names[pattern[1]] = value
        if const:
            env.consts.add(pattern[1])
    elif kind == "pdefault":
        bind(ev, pattern[1], ev.eval(pattern[2]) if value is UNDEFINED else value, env, const)
    elif kind == "parr":
        items = iterate(value)
        for i, element in enumerate(pattern[1]):
            if element is not None:
                bind(ev, element, items[i] if i < len(items) else UNDEFINED, env, const)
        if pattern[2] is not None:
            bind(ev, pattern[2], items[len(pattern[1]):], env, const)
    else:
        if nullish(value):
            raise ExpressionError(f"cannot destructure {to_string(value)}: it is not an object")
        used: set[str] = set()
        for key_node, target in pattern[1]:
            key = to_string(ev.eval(key_node))
            used.add(key)
            bind(ev, target, get_member(value, key), env, const)
        if pattern[2] is not None:
            rest = {k: v for k, v in value.items() if k not in used} if isinstance(value, dict) else {}
            bind(ev, ("pname", pattern[2]), rest, env, const)


def run_block(ev: Evaluator, block: Node) -> _Return | None:
    """Runs `{ statements }` in a scope of its own; a `return` ends it with its value."""
    _, statements, declared = block
    saved = ev.env
    env = Env(saved)
    for name in declared:
        env.names[name] = _TDZ
    ev.env = env
    try:
        for statement in statements:
            outcome = run(ev, statement)
            if outcome is not None:
                return outcome
        return None
    finally:
        ev.env = saved


def run(ev: Evaluator, statement: Node) -> _Return | None:
    ev.budget.step()
    kind = statement[0]
    if kind == "expr":
        ev.eval(statement[1])
    elif kind == "decl":
        assert ev.env is not None
        for target, init in statement[2]:
            bind(ev, target, UNDEFINED if init is None else ev.eval(init), ev.env, statement[1] == "const")
    elif kind == "return":
        return _Return(UNDEFINED if statement[1] is None else ev.eval(statement[1]))
    elif kind == "if":
        branch = statement[2] if truthy(ev.eval(statement[1])) else statement[3]
        if branch is not None:
            return run(ev, branch)
    elif kind == "block":
        return run_block(ev, statement)
    return None


def assign(ev: Evaluator, node: Node) -> Any:
    """`target op= value` for a declared variable or a property; `&&=`, `||=`, `??=` only when they must."""
    _, op, target, value_node = node
    if target[0] == "name":
        env = _declaring(ev.env, target[1])
        current = env.names[target[1]]
        if current is _TDZ:
            raise ExpressionError(f"cannot access '{target[1]}' before its declaration")
        value = _combine(ev, op, current, value_node)
        if value is MISSING:
            return current
        if target[1] in env.consts:
            raise ExpressionError(f"assignment to constant variable '{target[1]}'")
        env.names[target[1]] = value
        return value
    obj, key = ev.eval(target[1]), ev.eval(target[2])
    current = get_member(obj, key) if op != "=" else UNDEFINED
    value = _combine(ev, op, current, value_node)
    if value is MISSING:
        return current
    set_member(obj, key, value)
    return value


def _declaring(env: Env | None, name: str) -> Env:
    while env is not None:
        if name in env.names:
            return env
        env = env.parent
    raise ExpressionError(f"cannot assign to '{name}': only names declared with let (or parameters) can change")


def _combine(ev: Evaluator, op: str, current: Any, value_node: Node) -> Any:
    """The value to store, or MISSING when a logical assignment short-circuits."""
    if op == "=":
        return ev.eval(value_node)
    if op == "&&=":
        return ev.eval(value_node) if truthy(current) else MISSING
    if op == "||=":
        return MISSING if truthy(current) else ev.eval(value_node)
    if op == "??=":
        return ev.eval(value_node) if nullish(current) else MISSING
    return binary(op[:-1], current, ev.eval(value_node))
