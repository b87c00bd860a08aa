"""Reading and writing properties, iterating for spread and destructuring, and copying the workflow's data."""

from __future__ import annotations

from typing import Any

from core.workflows import expr_budget
from core.workflows.errors import ExpressionError
from core.workflows.expr_arrays import array_member
from core.workflows.expr_builtins import bool_member, number_member, object_method
from core.workflows.expr_ext_arrays import array_extension
from core.workflows.expr_ext_numbers import boolean_extension, generic_extension, number_extension
from core.workflows.expr_ext_objects import object_extension
from core.workflows.expr_ext_strings import string_extension
from core.workflows.expr_strings import string_member
from core.workflows.expr_values import HOLE, UNDEFINED, Fn, JsArray, JsObject, nullish, to_string, typeof

# An array may grow by assignment (`a[i] = x`, `a.length = n`) at most this far past its end.
MAX_GROWTH = 1_000_000


def index_of_key(key: Any) -> int | None:
    """The array index a property key names (`0`, `'3'`, `2.0`), or None."""
    if isinstance(key, bool):
        return None
    if isinstance(key, int) and key >= 0:
        return key
    if isinstance(key, float) and key.is_integer() and key >= 0:
        return int(key)
    if isinstance(key, str) and key.isdigit() and key.isascii() and (key == "0" or not key.startswith("0")):
        return int(key)
    return None


def get_method(target: Any, key: Any) -> Any:
    """A member about to be called: JavaScript's, or else n8n's extension function of that name (`.sum()`,
    `.toSnakeCase()`, `(null).isEmpty()` ...). Only calls see extensions, as in n8n, which rewrites calls only:
    `$json.keys` of an item without a `keys` field stays undefined."""
    if nullish(target) and isinstance(key, str):
        extension = generic_extension(target, key)
        if extension is not UNDEFINED:
            return extension
    value = get_member(target, key)
    if value is UNDEFINED and isinstance(key, str):
        return _extension(target, key)
    return value


def _extension(target: Any, name: str) -> Any:
    if isinstance(target, dict):
        return object_extension(target, name)
    if isinstance(target, list):
        return array_extension(target, name)
    if isinstance(target, str):
        return string_extension(target, name)
    if isinstance(target, bool):
        return boolean_extension(target, name)
    if isinstance(target, int | float):
        return number_extension(target, name)
    return UNDEFINED


def get_member(target: Any, key: Any) -> Any:
    if nullish(target):
        raise ExpressionError(f"cannot read properties of {to_string(target)} (reading '{to_string(key)}')")
    if isinstance(target, dict):
        name = to_string(key)
        if name in target:
            return target[name]
        return object_method(target, name)
    if isinstance(target, list):
        index = index_of_key(key)
        if index is not None:
            value = target[index] if index < len(target) else UNDEFINED
            return UNDEFINED if value is HOLE else value
        name = to_string(key)
        if isinstance(target, JsArray) and name in target.props:
            return target.props[name]
        return array_member(target, name)
    if isinstance(target, str):
        index = index_of_key(key)
        if index is not None:
            return target[index] if index < len(target) else UNDEFINED
        return string_member(target, to_string(key))
    if isinstance(target, bool):
        return bool_member(target, to_string(key))
    if isinstance(target, int | float):
        return number_member(target, to_string(key))
    if isinstance(target, JsObject):
        return target.get(to_string(key))
    if isinstance(target, Fn):
        if target.members is not None:
            return target.members.get(to_string(key), UNDEFINED)
        return target.name if to_string(key) == "name" else UNDEFINED
    return UNDEFINED


def set_member(target: Any, key: Any, value: Any) -> None:
    """`target[key] = value` as strict-mode JavaScript does it, for the values expressions can hold."""
    name = to_string(key)
    if nullish(target):
        raise ExpressionError(f"cannot set properties of {to_string(target)} (setting '{name}')")
    if isinstance(target, dict):
        target[name] = value
    elif isinstance(target, list):
        _set_element(target, key, value)
    elif isinstance(target, JsObject):
        target.set(name, value)
    else:
        raise ExpressionError(f"cannot create property '{name}' on {typeof(target)} {to_string(target)!r}")


def _set_element(items: list[Any], key: Any, value: Any) -> None:
    index = index_of_key(key)
    if index is None:
        if to_string(key) == "length":
            set_length(items, value)
            return
        raise ExpressionError(f"cannot set property '{to_string(key)}' of an array (only elements and length)")
    if index >= len(items):
        _grow(items, index + 1)
    items[index] = value


def set_length(items: list[Any], value: Any) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0 or value != int(value):
        raise ExpressionError("invalid array length")
    length = int(value)
    if length < len(items):
        del items[length:]
    else:
        _grow(items, length)


def _grow(items: list[Any], length: int) -> None:
    if length - len(items) > MAX_GROWTH:
        raise ExpressionError(f"array would grow by more than {MAX_GROWTH} elements")
    expr_budget.charge(length - len(items))
    items.extend([HOLE] * (length - len(items)))


def iterate(value: Any) -> list[Any]:
    """The elements `...value` and `[a, b] = value` see: arrays, strings (by code point), sets and maps."""
    if isinstance(value, list):
        expr_budget.charge(len(value))
        return [UNDEFINED if x is HOLE else x for x in value]
    if isinstance(value, str):
        expr_budget.charge(len(value))
        return list(value)
    if isinstance(value, JsObject):
        elements = getattr(value, "elements", None)
        if callable(elements):
            items = list(elements())
            expr_budget.charge(len(items))
            return items
    shown = "undefined" if value is UNDEFINED else typeof(value) if not nullish(value) else "null"
    raise ExpressionError(f"{shown} is not iterable (spread and array patterns need an array or a string)")


def own_copy(value: Any, memo: dict[int, tuple[Any, Any]]) -> Any:
    """A copy of the workflow's data (dicts and lists) for an expression that may change what it gets;
    the memo gives every original one copy, so `$json.a === $json.a` still holds."""
    if isinstance(value, dict | list):
        hit = memo.get(id(value))
        if hit is not None:
            return hit[1]
        expr_budget.charge(len(value))
        if isinstance(value, dict):
            copy: Any = {}
            memo[id(value)] = (value, copy)
            copy.update((k, own_copy(v, memo)) for k, v in value.items())
        else:
            copy = []
            memo[id(value)] = (value, copy)
            copy.extend(own_copy(v, memo) for v in value)
        return copy
    if isinstance(value, Fn) and value.members is None:
        inner = value
        return Fn(inner.name, lambda args: own_copy(inner(args), memo))
    return value
