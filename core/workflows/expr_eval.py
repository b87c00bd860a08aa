"""Evaluates the expression AST against a scope: JavaScript semantics for the operators and methods n8n uses."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

from core.workflows import expr_builtins as builtins
from core.workflows.expr_dates import new_date
from core.workflows.errors import ExpressionError
from core.workflows.expr_parser import Node
from core.workflows.expr_values import (
    UNDEFINED,
    Fn,
    JsObject,
    compare,
    loose_equal,
    nullish,
    number,
    strict_equal,
    to_number,
    to_string,
    truthy,
    typeof,
)

MAX_STEPS = 100_000


class Scope(Protocol):
    def lookup(self, name: str) -> Any:
        """The value of a free name; ExpressionError if it has none."""
        ...


class _Short(Exception):
    """Optional chaining met null or undefined: the whole chain is undefined."""


class _Locals:
    def __init__(self, parent: Scope, names: dict[str, Any]) -> None:
        self.parent = parent
        self.names = names

    def lookup(self, name: str) -> Any:
        if name in self.names:
            return self.names[name]
        return self.parent.lookup(name)


class Evaluator:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.steps = 0

    def eval(self, node: Node) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ExpressionError("expression takes too many steps")
        kind = node[0]
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise ExpressionError(f"unsupported syntax {kind}")
        return handler(self, node)

    def lit(self, node: Node) -> Any:
        return node[1]

    def undef(self, node: Node) -> Any:
        return UNDEFINED

    def name(self, node: Node) -> Any:
        name = node[1]
        value = builtins.GLOBALS.get(name, _MISSING)
        if value is not _MISSING:
            return value
        return self.scope.lookup(name)

    def tmpl(self, node: Node) -> str:
        return "".join(p if isinstance(p, str) else to_string(self.eval(p)) for p in node[1])

    def arr(self, node: Node) -> list[Any]:
        return [self.eval(x) for x in node[1]]

    def obj(self, node: Node) -> dict[str, Any]:
        return {to_string(self.eval(k)): self.eval(v) for k, v in node[1]}

    def chain(self, node: Node) -> Any:
        try:
            return self.eval(node[1])
        except _Short:
            return UNDEFINED

    def member(self, node: Node) -> Any:
        target = self.eval(node[1])
        if node[3] and nullish(target):
            raise _Short()
        return get_member(target, self.eval(node[2]))

    def call(self, node: Node) -> Any:
        fn = self.eval(node[1])
        if node[3] and nullish(fn):
            raise _Short()
        if not isinstance(fn, Fn):
            raise ExpressionError(f"{_describe(node[1])} is not a function")
        return fn([self.eval(a) for a in node[2]])

    def new(self, node: Node) -> Any:
        args = [self.eval(a) for a in node[2]]
        if node[1] == "Date":
            return new_date(args, self.scope)
        raise ExpressionError(f"`new {node[1]}` is not supported")

    def arrow(self, node: Node) -> Fn:
        params, body = node[1], node[2]

        def call(args: list[Any]) -> Any:
            bound = {p: (args[i] if i < len(args) else UNDEFINED) for i, p in enumerate(params)}
            inner = Evaluator(_Locals(self.scope, bound))
            inner.steps = self.steps
            try:
                return inner.eval(body)
            finally:
                self.steps = inner.steps

        return Fn("arrow", call)

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


_MISSING = object()
_HANDLERS: dict[str, Callable[[Evaluator, Node], Any]] = {
    name: getattr(Evaluator, name)
    for name in ("lit", "undef", "name", "tmpl", "arr", "obj", "chain", "member", "call", "new", "arrow", "unary",
                 "cond", "logic", "bin")
}


def binary(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        pa, pb = _to_primitive(a), _to_primitive(b)
        if isinstance(pa, str) or isinstance(pb, str):
            return to_string(pa) + to_string(pb)
        return number(to_number(pa) + to_number(pb))
    if op in ("-", "*", "/", "%", "**"):
        return _arith(op, to_number(a), to_number(b))
    if op == "===":
        return strict_equal(a, b)
    if op == "!==":
        return not strict_equal(a, b)
    if op == "==":
        return loose_equal(a, b)
    if op == "!=":
        return not loose_equal(a, b)
    return compare(op, a, b)


def _to_primitive(v: Any) -> Any:
    if isinstance(v, list | dict | JsObject | Fn):
        return to_string(v)
    return v


def _arith(op: str, x: int | float, y: int | float) -> int | float:
    try:
        if op == "-":
            return number(x - y)
        if op == "*":
            return number(x * y)
        if op == "/":
            if y == 0:
                return math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x) * math.copysign(1, y)
            return number(x / y)
        if op == "%":
            if y == 0 or math.isinf(x):
                return math.nan
            return number(math.fmod(x, y))
        if abs(y) > 1024 and abs(x) > 1:
            raise ExpressionError("exponent too large")
        return number(float(x) ** y if not (isinstance(x, int) and isinstance(y, int) and y >= 0) else x**y)
    except (OverflowError, ZeroDivisionError, ValueError):
        return math.nan


def get_member(target: Any, key: Any) -> Any:
    if nullish(target):
        raise ExpressionError(f"cannot read properties of {to_string(target)} (reading '{to_string(key)}')")
    if isinstance(target, dict):
        name = to_string(key)
        if name in target:
            return target[name]
        return builtins.object_method(target, name)
    if isinstance(target, list):
        index = _index(key)
        if index is not None:
            return target[index] if index < len(target) else UNDEFINED
        return builtins.array_member(target, to_string(key))
    if isinstance(target, str):
        index = _index(key)
        if index is not None:
            return target[index] if index < len(target) else UNDEFINED
        return builtins.string_member(target, to_string(key))
    if isinstance(target, bool):
        return builtins.bool_member(target, to_string(key))
    if isinstance(target, int | float):
        return builtins.number_member(target, to_string(key))
    if isinstance(target, JsObject):
        return target.get(to_string(key))
    return UNDEFINED


def _index(key: Any) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int) and key >= 0:
        return key
    if isinstance(key, float) and key.is_integer() and key >= 0:
        return int(key)
    if isinstance(key, str) and key.isdigit() and key.isascii():
        return int(key)
    return None


def _describe(node: Node) -> str:
    if node[0] == "name":
        return str(node[1])
    if node[0] == "member" and node[2][0] == "lit":
        return f"{_describe(node[1])}.{node[2][1]}"
    return "the expression"


def evaluate(ast: Node, scope: Scope) -> Any:
    try:
        return Evaluator(scope).eval(ast)
    except RecursionError as err:
        raise ExpressionError("expression nested too deeply") from err
