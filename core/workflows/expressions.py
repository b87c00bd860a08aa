"""n8n parameter values: a string starting with `=` is a template whose `{{ }}` parts are expressions."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from core.workflows.errors import ExpressionError
from core.workflows.expr_eval import Scope, evaluate
from core.workflows.expr_lexer import find_close
from core.workflows.expr_parser import Node, parse
from core.workflows.expr_values import UNDEFINED, Fn, JsObject, to_json_value, to_string

Part = str | Node
MAX_PARAMETER_DEPTH = 64


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


@functools.lru_cache(maxsize=4096)
def compile_template(text: str) -> tuple[Part, ...]:
    """The parts of a template (the text after `=`): literal strings and parsed `{{ }}` expressions."""
    parts: list[Part] = []
    i = 0
    while True:
        start = text.find("{{", i)
        if start < 0:
            if i < len(text):
                parts.append(text[i:])
            return tuple(parts)
        if start > i:
            parts.append(text[i:start])
        end = find_close(text, start + 2, "}}")
        parts.append(parse(text[start + 2:end]))
        i = end + 2


def render_template(parts: tuple[Part, ...], scope: Scope) -> Any:
    """A lone `{{ }}` keeps its value's type; mixed with text, everything becomes one string."""
    if len(parts) == 1 and not isinstance(parts[0], str):
        return evaluate(parts[0], scope)
    return join_template(parts, scope)


def join_template(parts: tuple[Part, ...], scope: Scope, to_text: Callable[[Any], str] | None = None) -> str:
    """The text with each `{{ }}` replaced by its value spelled by `to_text` (by default as in a mixed template)."""
    spell = _in_text if to_text is None else to_text
    return "".join(part if isinstance(part, str) else spell(evaluate(part, scope)) for part in parts)


def _in_text(value: Any) -> str:
    if value is UNDEFINED:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(to_json_value(value), ensure_ascii=False, separators=(",", ":"))
    return to_string(value)


def resolve(value: Any, scope: Scope, depth: int = 0) -> Any:
    """A parameter value with every expression in it evaluated (recursively through objects and lists)."""
    if depth > MAX_PARAMETER_DEPTH:
        raise ExpressionError("parameter nested too deeply")
    if isinstance(value, str):
        if not value.startswith("="):
            return value
        return render_template(compile_template(value[1:]), scope)
    if isinstance(value, dict):
        return {k: resolve(v, scope, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, scope, depth + 1) for v in value]
    return value


def plain_value(value: Any) -> Any:
    """An evaluated value as JSON data (undefined becomes null; host objects their JSON form)."""
    if value is UNDEFINED or isinstance(value, Fn):
        return None
    if isinstance(value, JsObject | dict | list | float | int):
        return to_json_value(value)
    return value


def check_syntax(value: Any, path: str, depth: int = 0) -> list[tuple[str, str]]:
    """(field path, message) for every expression in a parameter value that does not parse."""
    if depth > MAX_PARAMETER_DEPTH:
        return [(path, "parameter nested too deeply")]
    if isinstance(value, str) and value.startswith("="):
        try:
            compile_template(value[1:])
        except ExpressionError as err:
            return [(path, f"expression does not parse: {err.reason}")]
        return []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in check_syntax(v, f"{path}.{k}", depth + 1)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in check_syntax(v, f"{path}[{i}]", depth + 1)]
    return []
