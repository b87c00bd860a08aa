"""The Wait node (typeVersion 1 and 1.1): when it lets its items go on (after a time, or on a resume request
with an optional time limit), and the item a resume request makes (n8n's webhook and form resumes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.expr_values import to_number, to_string
from core.workflows.items import Item
from core.workflows.model import Node
from core.workflows.node_params import option, resolve_param
from core.workflows.wait_form import form_item

RESUMES = ("timeInterval", "specificTime", "webhook", "form")
# Resumed by a request: POST /api/executions/{id}/resume.
EXTERNAL = ("webhook", "form")
_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
MAX_WAIT = timedelta(days=365)
# Request headers that carry credentials: never copied into the item (it is stored in the event log forever).
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


class WaitPlan(NamedTuple):
    resume_at: datetime | None  # a time, or a resume request's time limit (None: none)
    resume: str | None  # "webhook" | "form": waits for a resume request


def resume_kind(node: Node) -> str:
    return str(node.parameters.get("resume", "timeInterval"))


def plan_wait(node: Node, items: list[Item], view: RunView, now: datetime) -> WaitPlan:
    """When the Wait node lets its items go on; NodeFailed names what is wrong with its parameters."""
    kind = resume_kind(node)
    if kind == "specificTime":
        return WaitPlan(_at(node, "dateTime", items, view), None)
    if kind in EXTERNAL:
        if resolve_param(node, "limitWaitTime", view, items, 0, False) is not True:
            return WaitPlan(None, kind)
        if resolve_param(node, "limitType", view, items, 0, "afterTimeInterval") == "atSpecifiedTime":
            key = "maxDateAndTime" if "maxDateAndTime" in node.parameters else "maxDateTime"
            return WaitPlan(_at(node, key, items, view), kind)
        return WaitPlan(_after(node, ("resumeAmount", 1), ("resumeUnit", "hours"), items, view, now), kind)
    if kind != "timeInterval":
        raise NodeFailed(f"node {node.name!r}: resume {kind!r} is not one of {', '.join(RESUMES)}")
    # n8n's defaults changed with typeVersion 1.1 (an export leaves a parameter at its default out).
    defaults = (("amount", 1), ("unit", "hours")) if node.type_version < 1.1 else (("amount", 5), ("unit", "seconds"))
    return WaitPlan(_after(node, defaults[0], defaults[1], items, view, now), None)


def _at(node: Node, key: str, items: list[Item], view: RunView) -> datetime:
    raw = to_string(resolve_param(node, key, view, items, 0, ""))
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as err:
        raise NodeFailed(f"node {node.name!r}: {key} {raw!r} is not an ISO date and time") from err
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _after(node: Node, amount_param: tuple[str, int], unit_param: tuple[str, str], items: list[Item],
           view: RunView, now: datetime) -> datetime:
    amount = to_number(resolve_param(node, amount_param[0], view, items, 0, amount_param[1]))
    unit = str(resolve_param(node, unit_param[0], view, items, 0, unit_param[1]))
    if unit not in _UNITS or not isinstance(amount, int | float) or amount != amount or amount < 0:
        raise NodeFailed(f"node {node.name!r}: cannot wait {amount} {unit}")
    delay = timedelta(seconds=float(amount) * _UNITS[unit])
    if delay > MAX_WAIT:
        raise NodeFailed(f"node {node.name!r}: waits longer than {MAX_WAIT.days} days are not supported")
    return now + delay


def resumed_json(node: Node, via: str, body: Any, headers: dict[str, str], query: dict[str, str],
                 now: datetime) -> dict[str, Any]:
    """The item a resume request makes, as n8n's Wait emits it: for a webhook `{headers, params, query, body}`;
    for a form the submitted fields by label, `submittedAt` and `formMode`. ResumeRejected (a 400, with the
    field's path) when a form's body does not fit its fields."""
    if via == "form":
        fields = option(node.parameters, "formFields", "values", default=[]) or []
        return form_item(fields if isinstance(fields, list) else [], body, now)
    kept = {k.lower(): v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
    return {"headers": kept, "params": {}, "query": dict(query), "body": body if body is not None else {}}
