"""The work one expression evaluation may do: steps, data built, nested calls (built-ins charge it too)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from core.workflows.errors import ExpressionError

MAX_STEPS = 100_000
# Elements and characters that built-ins (spread, slice, concat, Array(n), join, split, regex input ...) may
# build or scan in one evaluation: they run at C speed, so they count apart from the evaluator's steps.
MAX_CELLS = 10_000_000
MAX_CALL_DEPTH = 60
# CPU seconds the expressions of one node may take, all its items together: built-ins and task parameters are
# computed on the coordinator's event loop, where a long computation would stall placement and the leader lease.
# Time, not steps, so that C-speed built-ins count too; outputs are recorded as events, so replays never redo it.
NODE_CPU_S = 2.0
_CHECK_EVERY = 1024  # steps between two looks at the clock


class Budget:
    """What is left for one evaluation; raises ExpressionError when a limit is passed."""

    __slots__ = ("steps", "cells", "depth")

    def __init__(self) -> None:
        self.steps = 0
        self.cells = 0
        self.depth = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ExpressionError(f"expression takes too many steps (more than {MAX_STEPS})")
        if not self.steps % _CHECK_EVERY:
            check_node_time()

    def build(self, n: int) -> None:
        self.cells += n
        check_node_time()
        if self.cells > MAX_CELLS:
            raise ExpressionError(f"expression builds or scans too much data (more than {MAX_CELLS:,} "
                                  "elements or characters)")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_CALL_DEPTH:
            raise ExpressionError(f"too much recursion (more than {MAX_CALL_DEPTH} nested function calls)")

    def leave(self) -> None:
        self.depth -= 1


_CURRENT: ContextVar[Budget | None] = ContextVar("expression_budget", default=None)


def current() -> Budget:
    """The running evaluation's budget; outside an evaluation, a fresh one (so work is bounded anyway)."""
    budget = _CURRENT.get()
    return budget if budget is not None else Budget()


def charge(n: int) -> None:
    """Count `n` elements or characters a built-in is about to build or scan."""
    current().build(max(n, 0))


def step() -> None:
    """Count one step of a built-in's loop (a regex search, a callback's call)."""
    current().step()


def activate(budget: Budget) -> object:
    return _CURRENT.set(budget)


def deactivate(token: object) -> None:
    _CURRENT.reset(token)  # type: ignore[arg-type]


# (when the running node's CPU allowance ends, in time.thread_time(); the allowance), or None outside a node.
_NODE_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("node_deadline", default=None)


@contextmanager
def node_work(limit_s: float | None = None) -> Iterator[None]:
    """Bound the CPU time of every evaluation made for one node (its items together); NODE_CPU_S by default."""
    limit = NODE_CPU_S if limit_s is None else limit_s
    token = _NODE_DEADLINE.set((time.thread_time() + limit, limit))
    try:
        yield
    finally:
        _NODE_DEADLINE.reset(token)


def check_node_time() -> None:
    deadline = _NODE_DEADLINE.get()
    if deadline is not None and time.thread_time() > deadline[0]:
        raise ExpressionError(f"the node's expressions took more than {deadline[1]:g} s of the coordinator's CPU "
                              "(all items together): do heavy work in a task on an agent (hive.agentTask)")
