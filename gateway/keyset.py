"""The WHERE clause of a list query, built from optional filters, and its keyset page (limit + 1 rows)."""

from __future__ import annotations

from typing import Any


class Where:
    """Filters whose value is None are left out; each value becomes a numbered parameter, never SQL text."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []

    def _arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, column: str, value: Any, op: str = "=") -> Where:
        if value is not None:
            self.clauses.append(f"{column} {op} {self._arg(value)}")
        return self

    def flag(self, column: str, value: bool | None) -> Where:
        """A boolean column that must be true (True), false (False), or either (None)."""
        if value is not None:
            self.clauses.append(column if value else f"NOT {column}")
        return self

    def before(self, columns: tuple[str, str], values: tuple[Any, Any] | None) -> Where:
        """Rows after a cursor in a (time, id) DESC order: those whose pair is smaller than the cursor's."""
        if values is not None:
            self.clauses.append(f"({', '.join(columns)}) < ({self._arg(values[0])}, {self._arg(values[1])})")
        return self

    def page(self, select: str, order: str, limit: int) -> tuple[str, list[Any]]:
        """`select` filtered and ordered, limit + 1 rows: the extra one tells the caller more remain."""
        where = f" WHERE {' AND '.join(self.clauses)}" if self.clauses else ""
        return f"{select}{where} ORDER BY {order} LIMIT {self._arg(limit + 1)}", self.args
