"""The Set node's typed values (n8n's validateEntry / validateFieldType) and its lenient JSON parsing."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from core.workflows.errors import ExpressionError, NodeFailed
from core.workflows.expr_parser import parse
from core.workflows.expr_values import UNDEFINED, from_json, to_number, to_string

MISSING = UNDEFINED


def describe(value: Any) -> str:
    """n8n's getValueDescription."""
    if value is None:
        return "'null'"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return f"'{to_string(value)}'"


def _stringify(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _number(value: Any) -> Any:
    x = to_number(value) if not isinstance(value, dict) else math.nan
    if isinstance(x, float) and math.isnan(x):
        raise ValueError
    return x


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not (isinstance(value, str) and value.strip() == ""):
        x = to_number(value) if not isinstance(value, dict) else math.nan
        if x == 0:
            return False
        if x == 1:
            return True
    raise ValueError


def _array(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    text = to_string(value)
    try:
        parsed = from_json(text)
    except ExpressionError:
        try:
            parsed = from_json(text.replace("'", '"'))
        except ExpressionError as err:
            raise ValueError from err
    if not isinstance(parsed, list):
        raise ValueError
    return parsed


def _literal(node: Any) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "arr":
        return [_literal(n) for n in node[1]]
    if kind == "obj":
        return {to_string(_literal(k)): _literal(v) for k, v in node[1]}
    if kind == "unary" and node[1] in ("-", "+") and node[2][0] == "lit" and isinstance(node[2][1], int | float):
        return -node[2][1] if node[1] == "-" else node[2][1]
    raise ValueError


def js_object(text: str) -> Any:
    """jsonParse with acceptJSObject: JSON, or else a JavaScript object literal (unquoted or single-quoted keys)."""
    try:
        return from_json(text)
    except ExpressionError:
        pass
    try:
        tree = parse(f"({text})")
    except ExpressionError as err:
        raise ValueError from err
    if tree[0] != "obj":
        raise ValueError
    return _literal(tree)


def _object(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    parsed = js_object(to_string(value))
    if isinstance(parsed, list) or not (parsed is None or isinstance(parsed, dict)):
        raise ValueError
    return parsed


_PARSERS = {"number": _number, "boolean": _boolean, "array": _array, "object": _object}


def parse_typed(kind: str, value: Any) -> Any:
    """n8n's tryToParse<Type> for number, boolean, array and object: the value, or ValueError."""
    return _PARSERS[kind](value)


def text_of(value: Any) -> str:
    """n8n's tryToParseString: objects and arrays as JSON, undefined as ""."""
    if isinstance(value, dict | list) or value is None:
        return _stringify(value)
    return "" if value is MISSING else to_string(value)


def validate_entry(name: str, kind: str, value: Any, index: int, ignore: bool, version: float) -> Any:
    """The value a Set field of type `kind` gets (3.2+: null and undefined stay null; 3.1+: a missing string is
    an error), or NodeFailed with n8n's message."""
    if version >= 3.2 and (value is None or value is MISSING):
        return None
    if kind == "string":
        if version > 3 and (value is None or value is MISSING):
            if ignore:
                return None
            raise NodeFailed(f"'{name}' expects a string but we got {describe(value)} [item {index}]", index)
        value = _stringify(value) if isinstance(value, dict | list) or value is None else to_string(value)
        return value
    if value is None or value is MISSING:
        return None
    parser = _PARSERS.get(kind.lower())
    if parser is None:
        return value
    try:
        return parser(value)
    except (ValueError, ExpressionError) as err:
        if ignore:
            return value
        raise NodeFailed(f"'{name}' expects a {kind} but we got {describe(value)} [item {index}]", index) from err


_QUOTE_KEYS = re.compile(r"""(['"])?([a-zA-Z0-9_]+)(['"])?:""")
_TRAILING = re.compile(r",\s*([\]}])")


def parse_json_parameter(data: Any, index: int, entry: str | None = None) -> dict[str, Any]:
    """n8n's parseJsonParameter: JSON, else the same text with quotes, keys and trailing commas mended."""
    where = f"entry \"{entry}\" inside 'Fields to Set'" if entry else "'JSON Output'"
    parsed: Any = data
    if isinstance(data, str):
        try:
            parsed = from_json(data)
        except ExpressionError:
            mended = _TRAILING.sub(r"\1", _QUOTE_KEYS.sub(r'"\2":', data.replace("'", '"')))
            mended = re.sub(r",+\Z", "", mended)
            try:
                parsed = from_json(mended)
            except ExpressionError as err:
                raise NodeFailed(f"The {where} in item {index} contains invalid JSON", index) from err
    if not isinstance(parsed, dict):
        raise NodeFailed(f"The {where} in item {index} does not contain a valid JSON object", index)
    return parsed
