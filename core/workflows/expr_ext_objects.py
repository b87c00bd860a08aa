"""n8n's object extensions (`.hasField('a')`, `.compact()`, `.urlEncode()` ...), after its ObjectExtensions."""

from __future__ import annotations

import urllib.parse
from typing import Any

from core.workflows import expr_budget
from core.workflows.errors import ExpressionError
from core.workflows.expr_args import arg, cap
from core.workflows.expr_ext_common import Extension, bind, has_key, is_object, to_json_string, undefined
from core.workflows.expr_values import UNDEFINED, nullish, spread_object, to_string


def compact_object(value: Any, depth: int = 0) -> dict[str, Any]:
    """Without the fields that are null, undefined, 'nil', '' or an object with no keys, at every depth (arrays
    inside come out as objects keyed by index, as n8n's Object.entries walk makes them)."""
    if depth > 100:
        raise ExpressionError("value nested too deeply to compact")
    out: dict[str, Any] = {}
    for key, val in spread_object(value).items():
        if nullish(val) or val == "nil" or val == "":
            continue
        if is_object(val):
            entries = spread_object(val)
            if not entries:
                continue
            out[key] = compact_object(val, depth + 1)
        else:
            out[key] = val
    return out


def _string_arg(args: list[Any], message: str) -> str:
    match = arg(args, 0)
    if not isinstance(match, str) or match == "":
        raise ExpressionError(message)
    return match


def _remove_field(obj: dict[str, Any], args: list[Any]) -> dict[str, Any]:
    name = to_string(arg(args, 0))
    if name not in obj:
        return obj
    expr_budget.charge(len(obj))
    return {k: v for k, v in obj.items() if k != name}


def _remove_containing(obj: dict[str, Any], args: list[Any]) -> dict[str, Any]:
    match = _string_arg(args, "removeFieldsContaining(): expected non-empty string arg")
    expr_budget.charge(len(obj))
    return {k: v for k, v in obj.items() if not (isinstance(v, str) and match in v)}


def _keep_containing(obj: dict[str, Any], args: list[Any]) -> dict[str, Any]:
    match = _string_arg(args, "argument of keepFieldsContaining must be a non-empty string")
    expr_budget.charge(len(obj))
    return {k: v for k, v in obj.items() if isinstance(v, str) and match in v}


def _form_part(text: str) -> str:
    # application/x-www-form-urlencoded as URLSearchParams writes it: space as +, only *-._ and alphanumerics kept.
    return urllib.parse.quote_plus(text, safe="*").replace("~", "%7E")


def _url_encode(obj: dict[str, Any], args: list[Any]) -> str:
    expr_budget.charge(len(obj))
    return cap("&".join(f"{_form_part(k)}={_form_part(to_string(v))}" for k, v in obj.items()))


EXTENSIONS: dict[str, Extension] = {
    "isEmpty": lambda o, a: len(o) == 0, "isNotEmpty": lambda o, a: len(o) > 0,
    "hasField": lambda o, a: has_key(o, arg(a, 0)), "removeField": _remove_field,
    "removeFieldsContaining": _remove_containing, "keepFieldsContaining": _keep_containing,
    "compact": lambda o, a: compact_object(o), "urlEncode": _url_encode,
    "keys": lambda o, a: list(o.keys()), "values": lambda o, a: list(o.values()),
    "toJsonString": to_json_string,
    "toInt": undefined, "toFloat": undefined, "toBoolean": undefined, "toDateTime": undefined,
}


def object_extension(obj: dict[str, Any], key: str) -> Any:
    impl = EXTENSIONS.get(key)
    return UNDEFINED if impl is None else bind(key, impl, obj)
