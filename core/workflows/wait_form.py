"""A Wait node's form (resume: form): the submitted fields checked against the node's `formFields` and
turned into the item n8n emits (each field by its label, then `submittedAt` and `formMode`)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from core.workflows.errors import WorkflowError
from core.workflows.expr_values import to_number

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TEXT = ("text", "textarea", "email", "password", "date", "hiddenField")


class ResumeRejected(WorkflowError):
    """A resume request whose body does not fit the waiting node (a 400 naming `field`, a JSON path)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def path_of(name: str) -> str:
    return f"$.{name}" if _IDENT.match(name) else f"$[{name!r}]".replace("'", '"')


def _options(field: dict[str, Any]) -> list[str]:
    values = (field.get("fieldOptions") or {}).get("values") if isinstance(field.get("fieldOptions"), dict) else None
    return [str(v.get("option")) for v in values or [] if isinstance(v, dict) and v.get("option") not in (None, "")]


def _value(field: dict[str, Any], value: Any, path: str) -> Any:
    kind = str(field.get("fieldType", "text"))
    if kind == "number":
        number = to_number(value) if isinstance(value, int | float | str) and not isinstance(value, bool) else None
        if number is None or number != number or (isinstance(value, str) and not value.strip()):
            raise ResumeRejected(path, f"must be a number, not {value!r}")
        return number
    if kind in _TEXT:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ResumeRejected(path, "must be text")
        return str(value).strip() if kind == "text" else str(value)
    if kind in ("dropdown", "checkbox", "radio"):
        many = kind == "checkbox" or field.get("multiselect") is True
        chosen = value if isinstance(value, list) else [value]
        if not many and len(chosen) != 1:
            raise ResumeRejected(path, "choose one option")
        allowed = _options(field)
        for v in chosen:
            if not isinstance(v, str) or (allowed and v not in allowed):
                raise ResumeRejected(path, f"{v!r} is not one of the options ({', '.join(allowed)})")
        return chosen if many else chosen[0]
    return value  # file and others: kept as sent (Hive moves no binary data)


def form_item(fields: list[Any], body: Any, now: datetime) -> dict[str, Any]:
    """The item for a form submitted as a JSON object of values by field label (or n8n's `field-<n>` keys)."""
    if not isinstance(body, dict):
        raise ResumeRejected("$", "a form resume takes a JSON object of the form's fields, by label")
    if not fields:
        out = dict(body)
    else:
        out = {}
        for i, field in enumerate(f for f in fields if isinstance(f, dict)):
            if field.get("fieldType") == "html":
                continue
            name = str(field.get("fieldLabel") or field.get("fieldName") or f"field-{i}")
            value = body.get(name, body.get(f"field-{i}"))
            if value is None or value == "" or value == []:
                if field.get("requiredField") is True:
                    raise ResumeRejected(path_of(name), "is required")
                out[name] = None
                continue
            out[name] = _value(field, value, path_of(name))
    out["submittedAt"] = now.isoformat()
    out["formMode"] = "production"
    return out
