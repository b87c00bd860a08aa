"""Placement policy, table-driven: eligibility, score and the least-recently-used tie-break."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.domain.placement import Candidate, Requirement, choose, eligible, score, unfit


def agent(id: str, caps: dict[str, float], *, slots: int = 2, busy: int = 0, models: tuple[str, ...] = (),
          last: int = 0, tps: float = 0.0, online: bool = True, vram: int | None = None,
          loaded: tuple[str, ...] = ()) -> Candidate:
    return Candidate(id=id, capabilities=caps, models=list(models), max_concurrency=slots, in_flight=busy,
                     last_assigned=last, tokens_per_s=tps, online=online, free_vram_mb=vram,
                     loaded_models=frozenset(loaded))


CASES = [
    ("no agents", Requirement(capabilities=("echo",)), [], None),
    ("missing capability", Requirement(capabilities=("echo",)), [agent("a", {"shell": 1})], None),
    ("needs every capability", Requirement(capabilities=("echo", "gpu")),
     [agent("a", {"echo": 1}), agent("b", {"echo": 0.5, "gpu": 0.5})], "b"),
    ("needs every one of three capabilities", Requirement(capabilities=("a", "b", "c")),
     [agent("x", {"a": 1, "b": 1}), agent("y", {"a": 0.1, "b": 0.1, "c": 0.1}), agent("z", {"b": 1, "c": 1})], "y"),
    ("full agent skipped", Requirement(capabilities=("echo",)),
     [agent("a", {"echo": 1}, slots=1, busy=1), agent("b", {"echo": 0.1})], "b"),
    ("agent with no slots skipped", Requirement(), [agent("a", {}, slots=0), agent("b", {}, busy=1)], "b"),
    ("every agent full", Requirement(), [agent("a", {}, slots=1, busy=1), agent("b", {}, slots=2, busy=2)], None),
    ("offline agent skipped", Requirement(), [agent("a", {}, online=False), agent("b", {})], "b"),
    ("higher proficiency wins", Requirement(capabilities=("echo",)),
     [agent("a", {"echo": 0.2}), agent("b", {"echo": 0.9})], "b"),
    ("mean proficiency over the required capabilities", Requirement(capabilities=("x", "y")),
     [agent("a", {"x": 1.0, "y": 0.1}), agent("b", {"x": 0.6, "y": 0.6, "z": 0.0})], "b"),
    ("more free capacity wins", Requirement(), [agent("a", {}, slots=4, busy=3), agent("b", {}, slots=4)], "b"),
    ("faster wins", Requirement(), [agent("a", {}, tps=10), agent("b", {}, tps=40)], "b"),
    ("speed is relative to the fastest eligible agent", Requirement(capabilities=("echo",)),
     [agent("a", {"echo": 0.5}, tps=20), agent("b", {"echo": 0.6}, tps=10), agent("c", {}, tps=1000)], "a"),
    ("model required", Requirement(model="llama3"),
     [agent("a", {}, models=("qwen",)), agent("b", {}, models=("llama3",))], "b"),
    ("model and capability both required", Requirement(capabilities=("echo",), model="llama3"),
     [agent("a", {"echo": 1}, models=("qwen",)), agent("b", {"shell": 1}, models=("llama3",)),
      agent("c", {"echo": 0.1}, models=("llama3", "qwen"))], "c"),
    ("agent listing no models takes any", Requirement(model="llama3"), [agent("a", {})], "a"),
    ("tie goes to least recently used", Requirement(), [agent("a", {}, last=5), agent("b", {}, last=2)], "b"),
    # 0.1 + 0.2 != 0.3 in floats: scores equal up to rounding noise are a tie, not a win.
    ("float noise is a tie", Requirement(capabilities=("x", "y")),
     [agent("a", {"x": 0.1, "y": 0.2}, last=5), agent("b", {"x": 0.3, "y": 0.0}, last=2)], "b"),
    ("full tie goes to the first listed", Requirement(), [agent("a", {}, last=1), agent("b", {}, last=1)], "a"),
    ("a pin picks its agent over a better one", Requirement(capabilities=("echo",), agent_id="b"),
     [agent("a", {"echo": 1.0}, tps=50), agent("b", {"echo": 0.1})], "b"),
    ("a pinned agent that is full: the task waits", Requirement(agent_id="b"),
     [agent("a", {}), agent("b", {}, slots=1, busy=1)], None),
    ("a pinned agent that is draining or offline: the task waits", Requirement(agent_id="b"),
     [agent("a", {}), agent("b", {}, online=False)], None),
    ("a pinned agent without the capability: the task waits", Requirement(capabilities=("echo",), agent_id="b"),
     [agent("a", {"echo": 1.0}), agent("b", {"shell": 1.0})], None),
    ("a pinned agent without the model: the task waits", Requirement(model="llama3", agent_id="b"),
     [agent("a", {}), agent("b", {}, models=("qwen",))], None),
    ("a pin to an unknown agent: the task waits", Requirement(agent_id="zz"), [agent("a", {})], None),
    ("not enough free VRAM skipped", Requirement(model="llama3", min_vram_mb=8000),
     [agent("a", {}, vram=4000, tps=99), agent("b", {}, vram=9000)], "b"),
    ("no GPU seen: no VRAM to offer", Requirement(min_vram_mb=1), [agent("a", {})], None),
    ("the model already loaded needs no free VRAM", Requirement(model="llama3", min_vram_mb=8000),
     [agent("a", {}, vram=100, loaded=("llama3",)), agent("b", {}, vram=500)], "a"),
    ("VRAM asked, none free anywhere: the task waits", Requirement(model="m", min_vram_mb=8000),
     [agent("a", {}, vram=7999), agent("b", {}, vram=0, loaded=("other",))], None),
    ("affinity: the agent with the model loaded wins", Requirement(model="llama3"),
     [agent("a", {}, tps=40), agent("b", {}, tps=20, loaded=("llama3",))], "b"),
    ("affinity does not beat a much better fit", Requirement(capabilities=("x",), model="llama3"),
     [agent("a", {"x": 1.0}, slots=4), agent("b", {"x": 0.1}, slots=4, busy=3, loaded=("llama3",))], "a"),
    ("another model loaded is no affinity", Requirement(model="llama3"),
     [agent("a", {}, last=5, loaded=("qwen",)), agent("b", {}, last=2)], "b"),
]


@pytest.mark.parametrize(("need", "caps", "models", "expected"), [
    (Requirement(capabilities=("echo",)), {"echo": 0.0}, [], None),
    (Requirement(capabilities=("echo", "gpu", "x")), {"echo": 1.0}, [], "lacks the capabilities gpu, x"),
    (Requirement(capabilities=("gpu",)), {"echo": 1.0}, [], "lacks the capability gpu"),
    (Requirement(model="llama3"), {}, ["qwen", "phi"], "does not offer the model llama3 (it offers qwen, phi)"),
    (Requirement(model="llama3"), {}, [], None),  # an agent listing no models runs any
])
def test_unfit_says_why_an_agent_can_never_run_a_task(need: Requirement, caps: dict[str, float], models: list[str],
                                                      expected: str | None) -> None:
    assert unfit(caps, models, need) == expected


@pytest.mark.parametrize(("name", "need", "agents", "expected"), CASES, ids=[c[0] for c in CASES])
def test_choose(name: str, need: Requirement, agents: list[Candidate], expected: str | None) -> None:
    chosen = choose(need, agents)
    assert (chosen.id if chosen else None) == expected


def reference_choose(need: Requirement, agents: list[Candidate]) -> Candidate | None:
    """The policy as documented, written plainly: `choose` is its fast form and must agree exactly."""
    pool = [a for a in agents if eligible(a, need)]
    if not pool:
        return None
    fastest = max(a.tokens_per_s for a in pool)
    return max(pool, key=lambda a: (round(score(a, need, fastest), 9), -a.last_assigned))


CAPS = ["a", "b", "c", "d"]
MODELS = ["m1", "m2", "m3"]
candidates = st.builds(
    lambda i, caps, models, slots, busy, last, tps, online, vram, loaded: Candidate(
        id=str(i), capabilities=caps, models=models, max_concurrency=slots, in_flight=min(busy, slots + 1),
        last_assigned=last, tokens_per_s=tps, online=online, free_vram_mb=vram, loaded_models=loaded),
    st.integers(0, 10**6),
    st.dictionaries(st.sampled_from(CAPS), st.sampled_from([0.0, 0.1, 0.2, 0.3, 1 / 3, 0.5, 1.0])),
    st.lists(st.sampled_from(MODELS), max_size=2, unique=True),
    st.integers(0, 4), st.integers(0, 5), st.integers(0, 3), st.sampled_from([0.0, 10.0, 30.0, 45.5]),
    st.booleans(), st.sampled_from([None, 0, 4000, 8000, 24000]), st.frozensets(st.sampled_from(MODELS), max_size=2),
)
requirements = st.builds(
    lambda caps, model, pin, vram: Requirement(capabilities=tuple(sorted(caps)), model=model, agent_id=pin,
                                               min_vram_mb=vram),
    st.sets(st.sampled_from(CAPS), max_size=3), st.sampled_from([None, *MODELS]),
    st.one_of(st.none(), st.integers(0, 10**6).map(str)), st.sampled_from([None, 1000, 8000]),
)


@given(requirements, st.lists(candidates, max_size=30))
def test_choose_agrees_with_the_documented_policy(need: Requirement, agents: list[Candidate]) -> None:
    assert choose(need, agents) is reference_choose(need, agents)


@given(requirements, st.lists(candidates, min_size=1, max_size=30), st.integers(0, 29))
def test_a_pinned_choice_agrees_with_the_documented_policy(need: Requirement, agents: list[Candidate], k: int) -> None:
    pinned = msgspec.structs.replace(need, agent_id=agents[k % len(agents)].id)
    chosen = choose(pinned, agents)
    assert chosen is reference_choose(pinned, agents)
    assert chosen is None or chosen.id == pinned.agent_id
