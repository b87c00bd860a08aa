"""What an expression sees: `$json`, `$input`, `$('Node')`, `$node`, `$itemIndex`, `$now`, `$execution`, ..."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.workflows.errors import ExpressionError
from core.workflows.expr_dates import DateValue
from core.workflows.expr_ext_globals import date_global
from core.workflows.expr_values import UNDEFINED, Fn, JsObject, to_number, to_string
from core.workflows.items import Item, Outputs


@dataclass
class RunView:
    """The execution as far as expressions may look: completed nodes' outputs, the time, ids."""

    outputs: dict[str, Outputs] = field(default_factory=dict)
    now: datetime | None = None
    execution_id: str = ""
    workflow_id: str = ""
    workflow_name: str = ""
    # Where a wait of this execution is resumed (POST; `$execution.resumeUrl`, n8n's name for it).
    resume_url: str = ""


def _as_item(item: Item) -> dict[str, Any]:
    return {"json": item.json, "binary": item.binary or {}}


class _NodeProxy(JsObject):
    """`$('Name')` and `$node['Name']`: another node's output, and the item this one came from."""

    def __init__(self, scope: ItemScope, name: str) -> None:
        self.scope = scope
        self.name = name

    def _outputs(self) -> Outputs:
        outputs = self.scope.view.outputs.get(self.name)
        if outputs is None:
            raise ExpressionError(f"node {self.name!r} has not run (yet) in this execution, so its data "
                                  "cannot be referenced here")
        return outputs

    def _first_output(self) -> list[Item]:
        outputs = self._outputs()
        return outputs[0] if outputs else []

    def paired(self) -> Item:
        outputs = self._outputs()
        lineage = self.scope.item.paired.get(self.name) if self.scope.item is not None else None
        if lineage is not None:
            o, i = lineage
            if o < len(outputs) and i < len(outputs[o]):
                return outputs[o][i]
        every = [item for out in outputs for item in out]
        if len(every) == 1:
            return every[0]
        raise ExpressionError(f"cannot tell which item of node {self.name!r} this item comes from (it is not "
                              f"an ancestor of this item); use $('{self.name}').first() or .all()")

    def get(self, key: str) -> Any:
        if key == "item":
            return _as_item(self.paired())
        if key == "json":
            return self.paired().json
        if key == "isExecuted":
            return self.name in self.scope.view.outputs
        if key == "first":
            return Fn("first", lambda a: _as_item(self._first_output()[0]) if self._first_output() else UNDEFINED)
        if key == "last":
            return Fn("last", lambda a: _as_item(self._first_output()[-1]) if self._first_output() else UNDEFINED)
        if key == "all":
            return Fn("all", lambda a: [_as_item(i) for i in self._pick(a)])
        if key in ("itemMatching", "pairedItem"):
            return Fn(key, lambda a: _as_item(self.paired()))
        return UNDEFINED

    def _pick(self, args: list[Any]) -> list[Item]:
        outputs = self._outputs()
        o = int(to_number(args[0])) if args and isinstance(args[0], int | float) else 0
        return outputs[o] if 0 <= o < len(outputs) else []


class _InputProxy(JsObject):
    """`$input`: the items this node received (on its first input) and the current one."""

    def __init__(self, scope: ItemScope) -> None:
        self.scope = scope

    def get(self, key: str) -> Any:
        items = self.scope.items
        if key == "item":
            return _as_item(self.scope.item) if self.scope.item is not None else UNDEFINED
        if key == "first":
            return Fn("first", lambda a: _as_item(items[0]) if items else UNDEFINED)
        if key == "last":
            return Fn("last", lambda a: _as_item(items[-1]) if items else UNDEFINED)
        if key == "all":
            return Fn("all", lambda a: [_as_item(i) for i in items])
        return UNDEFINED


class _NodeMap(JsObject):
    def __init__(self, scope: ItemScope) -> None:
        self.scope = scope

    def get(self, key: str) -> Any:
        return _NodeProxy(self.scope, key)


class ItemScope:
    """The names an expression on node `node` sees while processing `items[index]`."""

    def __init__(self, view: RunView, node: str, items: list[Item], index: int) -> None:
        self.view = view
        self.node = node
        self.items = items
        self.index = index
        self.item: Item | None = items[index] if 0 <= index < len(items) else None

    def lookup(self, name: str) -> Any:
        if name == "$json":
            return self.item.json if self.item is not None else {}
        if name == "$binary":
            return (self.item.binary or {}) if self.item is not None else {}
        if name == "$input":
            return _InputProxy(self)
        if name == "$itemIndex":
            return self.index
        if name == "$runIndex":
            return 0
        if name in ("$now", "$today"):
            if self.view.now is None:
                raise ExpressionError(f"{name} is not available here")
            at = self.view.now
            return DateValue(at if name == "$now" else at.replace(hour=0, minute=0, second=0, microsecond=0))
        if name == "Date":
            return date_global(lambda: self.lookup("$now"))
        if name == "$":
            return Fn("$", lambda a: _NodeProxy(self, to_string(a[0]) if a else ""))
        if name == "$node":
            return _NodeMap(self)
        if name == "$execution":
            return {"id": self.view.execution_id, "mode": "manual", "resumeUrl": self.view.resume_url,
                    "resumeFormUrl": self.view.resume_url}
        if name == "$workflow":
            return {"id": self.view.workflow_id, "name": self.view.workflow_name, "active": False}
        if name == "$prevNode":
            return {"name": "", "outputIndex": 0, "runIndex": 0}
        if name in ("$env", "$vars", "$secrets"):
            raise ExpressionError(f"{name} is not available in Hive (a workflow cannot read the host's environment)")
        raise ExpressionError(f"{name} is not defined")
