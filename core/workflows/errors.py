"""Errors of the workflow engine: an invalid document (a list of problems), a bad expression, a node that failed."""

from __future__ import annotations

import msgspec

from core.errors import HiveError


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """One thing wrong with a workflow document: which node (if any), where in it, and what."""

    message: str
    node: str | None = None
    # A JSON path into the document, e.g. `$.nodes[3].parameters.url`.
    field: str = "$"


class WorkflowError(HiveError):
    """Root of the workflow engine's errors."""


class InvalidWorkflow(WorkflowError):
    """The document cannot be run; `problems` names every node at fault, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(_describe(p) for p in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(f"invalid workflow: {shown}{more}")


def _describe(p: Problem) -> str:
    return f"node {p.node!r}: {p.message}" if p.node is not None else p.message


class ExpressionError(WorkflowError):
    """An expression that cannot be parsed or evaluated (names what and where, once `at` is known)."""

    def __init__(self, message: str, *, node: str | None = None, parameter: str | None = None) -> None:
        self.reason = message
        self.node = node
        self.parameter = parameter
        where = ""
        if node is not None:
            where = f"node {node!r}" + (f", parameter {parameter}" if parameter else "") + ": "
        super().__init__(f"{where}{message}")

    def at(self, node: str, parameter: str) -> ExpressionError:
        return ExpressionError(self.reason, node=self.node or node, parameter=self.parameter or parameter)


class NodeFailed(WorkflowError):
    """A built-in node could not compute its output for an item (the item's index is kept)."""

    def __init__(self, message: str, item_index: int | None = None) -> None:
        self.item_index = item_index
        super().__init__(message)
