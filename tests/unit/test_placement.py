"""Placement policy, table-driven: eligibility, score and the least-recently-used tie-break."""

from __future__ import annotations

import pytest

from core.domain.placement import Candidate, Requirement, choose


def agent(id: str, caps: dict[str, float], *, slots: int = 2, busy: int = 0, models: tuple[str, ...] = (),
          last: int = 0, tps: float = 0.0, online: bool = True) -> Candidate:
    return Candidate(id=id, capabilities=caps, models=list(models), max_concurrency=slots, in_flight=busy,
                     last_assigned=last, tokens_per_s=tps, online=online)


CASES = [
    ("no agents", Requirement(capabilities=("echo",)), [], None),
    ("missing capability", Requirement(capabilities=("echo",)), [agent("a", {"shell": 1})], None),
    ("needs every capability", Requirement(capabilities=("echo", "gpu")),
     [agent("a", {"echo": 1}), agent("b", {"echo": 0.5, "gpu": 0.5})], "b"),
    ("full agent skipped", Requirement(capabilities=("echo",)),
     [agent("a", {"echo": 1}, slots=1, busy=1), agent("b", {"echo": 0.1})], "b"),
    ("offline agent skipped", Requirement(), [agent("a", {}, online=False), agent("b", {})], "b"),
    ("higher proficiency wins", Requirement(capabilities=("echo",)),
     [agent("a", {"echo": 0.2}), agent("b", {"echo": 0.9})], "b"),
    ("more free capacity wins", Requirement(), [agent("a", {}, slots=4, busy=3), agent("b", {}, slots=4)], "b"),
    ("faster wins", Requirement(), [agent("a", {}, tps=10), agent("b", {}, tps=40)], "b"),
    ("model required", Requirement(model="llama3"),
     [agent("a", {}, models=("qwen",)), agent("b", {}, models=("llama3",))], "b"),
    ("agent listing no models takes any", Requirement(model="llama3"), [agent("a", {})], "a"),
    ("tie goes to least recently used", Requirement(), [agent("a", {}, last=5), agent("b", {}, last=2)], "b"),
]


@pytest.mark.parametrize(("name", "need", "agents", "expected"), CASES, ids=[c[0] for c in CASES])
def test_choose(name: str, need: Requirement, agents: list[Candidate], expected: str | None) -> None:
    chosen = choose(need, agents)
    assert (chosen.id if chosen else None) == expected
