"""Placement policy: which agent should run a task. Pure: candidates in, choice out.

Eligible: online (not draining, lost or cooling down after failures), a free slot, every required capability,
the model if the task names one (an agent listing no models takes any), and when the task asks for VRAM, that
much free on one GPU, unless the model is already loaded there (it needs no more).

Score (higher wins), each term in [0, 1]:
  0.4  * proficiency   mean proficiency over the task's required capabilities (1.0 if it names none)
  0.25 * free capacity  free slots / max concurrency
  0.15 * speed         the agent's measured tokens/s relative to the fastest candidate
  0.2  * affinity      1 if the task's model is already loaded on the agent (no load time), else 0
Ties go to the agent that was assigned least recently, so equal agents share the work.
A pinned task (an admin's `PUT /api/tasks/{id}/assign`) has only its agent as a candidate, under the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgspec

W_PROFICIENCY = 0.4
W_FREE = 0.25
W_SPEED = 0.15
W_AFFINITY = 0.2
# Scores are compared rounded to this many places, so float noise never beats the least-recently-used rule.
DIGITS = 9
# A raw score this far below the best cannot round up to meet it: skip rounding it (most candidates).
_MARGIN = 1e-8


class Candidate(msgspec.Struct, kw_only=True):
    id: str
    capabilities: dict[str, float]
    models: Sequence[str]
    max_concurrency: int
    in_flight: int
    # A monotonically increasing tick of the agent's last assignment (0: never).
    last_assigned: int = 0
    tokens_per_s: float = 0.0
    online: bool = True
    # From the heartbeat: the most free VRAM on one GPU (None: no GPU seen), and the models loaded right now.
    free_vram_mb: int | None = None
    loaded_models: frozenset[str] = frozenset()

    @property
    def free_slots(self) -> int:
        return self.max_concurrency - self.in_flight


class Requirement(msgspec.Struct, frozen=True, kw_only=True):
    capabilities: tuple[str, ...] = ()
    model: str | None = None
    # Pinned: only this agent may take the task.
    agent_id: str | None = None
    # Free VRAM (MiB, on one GPU) the task needs to load its model.
    min_vram_mb: int | None = None


def unfit(capabilities: Mapping[str, float], models: Sequence[str], need: Requirement) -> str | None:
    """Why an agent offering these can never run a task of `need` (None: it can, given a free slot)."""
    missing = [cap for cap in need.capabilities if cap not in capabilities]
    if missing:
        return f"lacks the capabilit{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)}"
    if need.model is not None and models and need.model not in models:
        return f"does not offer the model {need.model} (it offers {', '.join(models)})"
    return None


def eligible(agent: Candidate, need: Requirement) -> bool:
    if not agent.online or agent.free_slots <= 0:
        return False
    if need.agent_id is not None and agent.id != need.agent_id:
        return False
    if any(cap not in agent.capabilities for cap in need.capabilities):
        return False
    # An agent that lists no models accepts any (a CLI agent chooses its own).
    if need.model is not None and agent.models and need.model not in agent.models:
        return False
    return has_vram(agent, need)


def has_vram(agent: Candidate, need: Requirement) -> bool:
    if need.min_vram_mb is None or (need.model is not None and need.model in agent.loaded_models):
        return True
    return agent.free_vram_mb is not None and agent.free_vram_mb >= need.min_vram_mb


def score(agent: Candidate, need: Requirement, fastest: float) -> float:
    caps = need.capabilities
    proficiency = sum(agent.capabilities[c] for c in caps) / len(caps) if caps else 1.0
    free = agent.free_slots / agent.max_concurrency if agent.max_concurrency > 0 else 0.0
    speed = agent.tokens_per_s / fastest if fastest > 0 else 0.0
    affinity = 1.0 if need.model is not None and need.model in agent.loaded_models else 0.0
    return W_PROFICIENCY * proficiency + W_FREE * free + W_SPEED * speed + W_AFFINITY * affinity


def choose(need: Requirement, agents: Iterable[Candidate]) -> Candidate | None:
    """The best eligible agent, or None when no agent can take the task now.

    Same result as `max(eligible agents, key=(round(score, DIGITS), -last_assigned))`, first one on a
    full tie; written out as two plain loops because it runs per decision over the whole fleet.
    """
    pool = _eligible(need, agents)
    if not pool:
        return None
    fastest = max(a.tokens_per_s for a in pool)
    caps = need.capabilities
    # One required capability (the usual case) skips building a generator per agent: x / 1 == x exactly.
    only = caps[0] if len(caps) == 1 else None
    model = need.model
    best: Candidate | None = None
    best_raw = best_rounded = 0.0
    for a in pool:
        # The terms as in `score`, in the same order, so the floats are identical.
        if only is not None:
            proficiency = a.capabilities[only]
        else:
            proficiency = sum(a.capabilities[c] for c in caps) / len(caps) if caps else 1.0
        free = (a.max_concurrency - a.in_flight) / a.max_concurrency
        speed = a.tokens_per_s / fastest if fastest > 0 else 0.0
        affinity = 1.0 if model is not None and model in a.loaded_models else 0.0
        raw = W_PROFICIENCY * proficiency + W_FREE * free + W_SPEED * speed + W_AFFINITY * affinity
        if best is not None and raw < best_raw - _MARGIN:
            continue
        rounded = round(raw, DIGITS)
        if best is None or rounded > best_rounded or (rounded == best_rounded and a.last_assigned < best.last_assigned):
            best, best_raw, best_rounded = a, raw, rounded
    return best


def _eligible(need: Requirement, agents: Iterable[Candidate]) -> list[Candidate]:
    """`eligible` over many agents, as narrowing passes: each is one cheap test per agent, no call."""
    # A free slot implies max_concurrency > 0, which `choose` divides by.
    pool = [a for a in agents if a.in_flight < a.max_concurrency and a.online]
    if need.agent_id is not None:
        pool = [a for a in pool if a.id == need.agent_id]
    for cap in need.capabilities:
        pool = [a for a in pool if cap in a.capabilities]
    model = need.model
    if model is not None:
        # An agent that lists no models accepts any (a CLI agent chooses its own).
        pool = [a for a in pool if not a.models or model in a.models]
    if need.min_vram_mb is not None:
        pool = [a for a in pool if has_vram(a, need)]
    return pool
