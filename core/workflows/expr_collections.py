"""Set and Map: insertion-ordered, keys compared as JavaScript's SameValueZero does (1 and 1.0 alike, NaN
equal to itself, objects by identity, `1` and `'1'` and `true` apart)."""

from __future__ import annotations

import math
from typing import Any

from core.workflows import expr_budget
from core.workflows.errors import ExpressionError
from core.workflows.expr_access import iterate
from core.workflows.expr_args import arg, call
from core.workflows.expr_values import UNDEFINED, Fn, JsObject, nullish


def _key(v: Any) -> tuple[Any, ...]:
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, int | float):
        return ("nan",) if isinstance(v, float) and math.isnan(v) else ("n", v)
    if isinstance(v, str):
        return ("s", v)
    if v is None:
        return ("null",)
    if v is UNDEFINED:
        return ("undefined",)
    return ("o", id(v))  # the entry keeps the object itself, so its id stays its own


class _Collection(JsObject):
    shares_data = False
    kind = ""

    def __init__(self) -> None:
        self.entries: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    def put(self, key: Any, value: Any) -> None:
        expr_budget.charge(1)
        self.entries[_key(key)] = (key, value)

    def common(self, key: str) -> Any:
        if key == "size":
            return len(self.entries)
        if key == "has":
            return Fn("has", lambda a: _key(arg(a, 0)) in self.entries)
        if key == "delete":
            return Fn("delete", lambda a: self.entries.pop(_key(arg(a, 0)), None) is not None)
        if key == "clear":
            return Fn("clear", lambda a: self.entries.clear())
        if key == "toString":
            return Fn("toString", lambda a: f"[object {self.kind}]")
        return UNDEFINED


class SetValue(_Collection):
    kind = "Set"

    def elements(self) -> list[Any]:
        return [k for k, _ in self.entries.values()]

    def get(self, key: str) -> Any:
        if key == "add":
            return Fn("add", lambda a: self._add(arg(a, 0)))
        if key in ("values", "keys"):
            return Fn(key, lambda a: self.elements())
        if key == "entries":
            return Fn(key, lambda a: [[k, k] for k in self.elements()])
        if key == "forEach":
            return Fn(key, lambda a: self._for_each(arg(a, 0)))
        return self.common(key)

    def _add(self, value: Any) -> SetValue:
        self.put(value, value)
        return self

    def _for_each(self, fn: Any) -> Any:
        for k in self.elements():
            call(fn, k, k, self)
        return UNDEFINED


class MapValue(_Collection):
    kind = "Map"

    def elements(self) -> list[Any]:
        return [[k, v] for k, v in self.entries.values()]

    def get(self, key: str) -> Any:
        if key == "get":
            return Fn("get", lambda a: self.entries.get(_key(arg(a, 0)), (None, UNDEFINED))[1])
        if key == "set":
            return Fn("set", lambda a: self._set(arg(a, 0), arg(a, 1)))
        if key == "keys":
            return Fn(key, lambda a: [k for k, _ in self.entries.values()])
        if key == "values":
            return Fn(key, lambda a: [v for _, v in self.entries.values()])
        if key == "entries":
            return Fn(key, lambda a: self.elements())
        if key == "forEach":
            return Fn(key, lambda a: self._for_each(arg(a, 0)))
        return self.common(key)

    def _set(self, key: Any, value: Any) -> MapValue:
        self.put(key, value)
        return self

    def _for_each(self, fn: Any) -> Any:
        for k, v in list(self.entries.values()):
            call(fn, v, k, self)
        return UNDEFINED


def _source(args: list[Any]) -> list[Any]:
    source = arg(args, 0)
    return [] if nullish(source) else iterate(source)


def new_set(args: list[Any]) -> SetValue:
    out = SetValue()
    for x in _source(args):
        out.put(x, x)
    return out


def new_map(args: list[Any]) -> MapValue:
    out = MapValue()
    for entry in _source(args):
        if not isinstance(entry, list):
            raise ExpressionError("new Map(...) needs [key, value] pairs")
        out.put(arg(entry, 0), arg(entry, 1))
    return out
