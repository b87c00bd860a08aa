"""The expected values of the expression tables are JavaScript's: Node.js, where installed, must give each one."""

from __future__ import annotations

import pytest

from tests.unit.expr_support import node_available, run_in_node
from tests.unit.test_expr_functions import TABLES
from tests.unit.test_expr_regex import REGEX

pytestmark = pytest.mark.skipif(not node_available(), reason="Node.js is not installed")


def test_every_table_value_is_what_node_computes() -> None:
    cases = TABLES + REGEX
    answers = run_in_node([source for source, _ in cases])
    wrong = [(source, expected, answer) for (source, expected), answer in zip(cases, answers, strict=True)
             if answer != {"ok": expected}]
    assert wrong == []
