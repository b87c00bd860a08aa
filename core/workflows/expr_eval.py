"""Evaluates the expression AST against a scope: JavaScript semantics for the operators and methods n8n uses,
within a budget of steps, data and nested calls (expr_budget)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from core.workflows import expr_budget
from core.workflows import expr_builtins as builtins
from core.workflows import expr_constructors as constructors
from core.workflows import expr_ext_globals as ext_globals
from core.workflows.errors import ExpressionError
from core.workflows.expr_access import get_member, get_method, iterate, own_copy
from core.workflows.expr_arrays import MUTATORS
from core.workflows.expr_functions import MISSING, Env, assign, lookup, make_function
from core.workflows.expr_operators import binary
from core.workflows.expr_parser import Node
from core.workflows.expr_regexp import RegExpValue
from core.workflows.expr_values import (
    UNDEFINED,
    Fn,
    JsObject,
    nullish,
    number,
    spread_object,
    to_number,
    to_string,
    truthy,
    typeof,
)

__all__ = ["Scope", "binary", "evaluate", "get_member"]

_GLOBALS: dict[str, Any] = {**builtins.GLOBALS, **constructors.GLOBALS, **ext_globals.GLOBALS}
# Calls that change their target; an expression that may make one gets copies of the workflow's data, so the
# items other nodes and later decisions see stay as they were.
_CHANGES_TARGET = MUTATORS | {"assign"}


class Scope(Protocol):
    def lookup(self, name: str) -> Any:
        """The value of a free name; ExpressionError if it has none."""
        ...


class _Short(Exception):
    """Optional chaining met null or undefined: the whole chain is undefined."""


class Evaluator:
    def __init__(self, scope: Scope, budget: expr_budget.Budget, protect: bool) -> None:
        self.scope = scope
        self.budget = budget
        self.env: Env | None = None
        self.protect = protect
        self.memo: dict[int, tuple[Any, Any]] = {}

    def eval(self, node: Node) -> Any:
        budget = self.budget
        budget.steps += 1
        if budget.steps > expr_budget.MAX_STEPS:
            budget.step()  # raises, with the message
        handler = _HANDLERS.get(node[0])
        if handler is None:
            raise ExpressionError(f"unsupported syntax {node[0]}")
        return handler(self, node)

    def shared(self, value: Any) -> Any:
        """A value from outside the expression: a copy of it when the expression may change what it holds."""
        return own_copy(value, self.memo) if self.protect else value

    def values(self, nodes: list[Node]) -> list[Any]:
        """Array elements or call arguments, with `...spread` ones expanded."""
        out: list[Any] = []
        for node in nodes:
            if node[0] == "spread":
                out.extend(iterate(self.eval(node[1])))
            else:
                out.append(self.eval(node))
        return out

    def lit(self, node: Node) -> Any:
        return node[1]

    def undef(self, node: Node) -> Any:
        return UNDEFINED

    def regex(self, node: Node) -> RegExpValue:
        return RegExpValue(node[1], node[2])  # a literal makes a new RegExp (with its own lastIndex) each time

    def name(self, node: Node) -> Any:
        name = node[1]
        value = lookup(self.env, name)
        if value is not MISSING:
            return value
        value = _GLOBALS.get(name, MISSING)
        if value is not MISSING:
            return value
        return self.shared(self.scope.lookup(name))

    def tmpl(self, node: Node) -> str:
        return "".join(p if isinstance(p, str) else to_string(self.eval(p)) for p in node[1])

    def arr(self, node: Node) -> list[Any]:
        return self.values(node[1])

    def obj(self, node: Node) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node[1]:
            if key is None:
                out.update(spread_object(self.eval(value)))
            else:
                name = to_string(self.eval(key))
                out[name] = self.eval(value)
        return out

    def chain(self, node: Node) -> Any:
        try:
            return self.eval(node[1])
        except _Short:
            return UNDEFINED

    def member(self, node: Node, calling: bool = False) -> Any:
        target = self.eval(node[1])
        if node[3] and nullish(target):
            raise _Short()
        value = (get_method if calling else get_member)(target, self.eval(node[2]))
        if isinstance(target, JsObject) and target.shares_data:
            return self.shared(value)
        return value

    def method(self, node: Node) -> Any:
        """A call's member callee (`x.f` of `x.f()`): charged as `eval` charges a node; sees n8n's extensions."""
        budget = self.budget
        budget.steps += 1
        if budget.steps > expr_budget.MAX_STEPS:
            budget.step()
        return self.member(node, calling=True)

    def call(self, node: Node) -> Any:
        if node[1] == ("name", "$if") and lookup(self.env, "$if") is MISSING and \
                not any(a[0] == "spread" for a in node[2]):
            return ext_globals.lazy_if(node[2], self.eval)  # n8n rewrites $if(t, a, b) to t ? a : b
        callee = node[1]
        fn = self.method(callee) if callee[0] == "member" else self.eval(callee)
        if node[3] and nullish(fn):
            raise _Short()
        if not isinstance(fn, Fn):
            raise ExpressionError(f"{_describe(node[1])} is not a function")
        return fn(self.values(node[2]))

    def new(self, node: Node) -> Any:
        return constructors.construct(node[1], self.values(node[2]), self.scope)

    def fn(self, node: Node) -> Fn:
        return make_function(self, node)

    def assign(self, node: Node) -> Any:
        return assign(self, node)

    def unary(self, node: Node) -> Any:
        op = node[1]
        if op == "typeof":
            try:
                return typeof(self.eval(node[2]))
            except ExpressionError:
                if node[2][0] == "name":
                    return "undefined"
                raise
        value = self.eval(node[2])
        if op == "!":
            return not truthy(value)
        if op == "-":
            return number(-to_number(value))
        return to_number(value)

    def cond(self, node: Node) -> Any:
        return self.eval(node[2]) if truthy(self.eval(node[1])) else self.eval(node[3])

    def logic(self, node: Node) -> Any:
        op, left = node[1], self.eval(node[2])
        if op == "&&":
            return self.eval(node[3]) if truthy(left) else left
        if op == "||":
            return left if truthy(left) else self.eval(node[3])
        return self.eval(node[3]) if nullish(left) else left

    def bin(self, node: Node) -> Any:
        return binary(node[1], self.eval(node[2]), self.eval(node[3]))


_HANDLERS: dict[str, Callable[[Evaluator, Node], Any]] = {
    name: getattr(Evaluator, name)
    for name in ("lit", "undef", "regex", "name", "tmpl", "arr", "obj", "chain", "member", "call", "new", "fn",
                 "assign", "unary", "cond", "logic", "bin")
}


def may_change_data(ast: Node) -> bool:
    """Whether the expression could change a list or object it did not build itself: it calls a mutating
    method, assigns to a property, or reads a computed property (which could name such a method)."""
    stack: list[Any] = [ast]
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, tuple) and x:
            if x[0] == "member" and len(x) == 4:
                prop = x[2]
                if not (isinstance(prop, tuple) and prop[0] == "lit") or to_string(prop[1]) in _CHANGES_TARGET:
                    return True
            elif x[0] == "assign" and x[2][0] == "member":
                return True
            stack.extend(x[1:])
    return False


def _describe(node: Node) -> str:
    if node[0] == "name":
        return str(node[1])
    if node[0] == "member" and node[2][0] == "lit":
        return f"{_describe(node[1])}.{node[2][1]}"
    return "the expression"


def evaluate(ast: Node, scope: Scope) -> Any:
    budget = expr_budget.Budget()
    token = expr_budget.activate(budget)
    try:
        return Evaluator(scope, budget, may_change_data(ast)).eval(ast)
    except RecursionError as err:
        raise ExpressionError("expression nested too deeply") from err
    except (TypeError, ValueError, AttributeError, IndexError, KeyError, OverflowError) as err:
        # A case the built-ins do not handle yet: the node fails with a message instead of the engine crashing.
        raise ExpressionError(f"internal error evaluating the expression ({type(err).__name__}: {err})") from err
    finally:
        expr_budget.deactivate(token)
