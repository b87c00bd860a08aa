"""Wire contracts between the coordinator and sidecars: dispatch, reports and heartbeats (not events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from core.events.agent import Hardware
from core.events.task import TaskResult


class Dispatch(msgspec.Struct, frozen=True, kw_only=True):
    """One assignment sent on `<prefix>.dispatch.<agent_id>`; (task_id, attempt) fences it."""

    task_id: str
    attempt: int
    title: str
    prompt: str = ""
    model: str | None = None
    capabilities: list[str] = []
    payload: dict[str, Any] = {}
    timeout_s: float | None = None
    assigned_at: datetime | None = None


class Report(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """Base of reports on `<prefix>.reports.<agent_id>.<kind>`; agent_id is checked against the subject."""

    agent_id: str
    sent_at: datetime


class Registered(Report, frozen=True, kw_only=True, tag="registered"):
    name: str
    session_id: str
    capabilities: dict[str, float]
    models: list[str] = []
    max_concurrency: int = 1
    executor: str = ""
    hardware: Hardware = Hardware()
    version: str = ""


class Deregistered(Report, frozen=True, kw_only=True, tag="deregistered"):
    session_id: str
    reason: str = "shutdown"


class Started(Report, frozen=True, kw_only=True, tag="started"):
    task_id: str
    attempt: int


class Completed(Report, frozen=True, kw_only=True, tag="completed"):
    task_id: str
    attempt: int
    result: TaskResult
    # Set when no separate start report was sent (the task ended before the sidecar's start-report delay).
    started_at: datetime | None = None


class Failed(Report, frozen=True, kw_only=True, tag="failed"):
    task_id: str
    attempt: int
    error: str
    retryable: bool = False
    exit_code: int | None = None
    output: str = ""
    started_at: datetime | None = None
    # executor_error, or timed_out when the sidecar stopped the run at the task's timeout.
    reason: str = "executor_error"


AnyReport = Registered | Deregistered | Started | Completed | Failed


class Control(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """Base of the coordinator's orders to one sidecar on core NATS `<prefix>.control.<agent_id>`. Not stored:
    the coordinator sends each again every second or so until the log shows it was carried out."""


class CancelTask(Control, frozen=True, kw_only=True, tag="cancel"):
    """Stop this run of the task; the sidecar reports it as failed, which the coordinator records as cancelled."""

    task_id: str
    attempt: int


class DrainAgent(Control, frozen=True, kw_only=True, tag="drain"):
    """Drain, as on SIGTERM: take no new work, finish what runs within the grace period, deregister."""

    session_id: str


AnyControl = CancelTask | DrainAgent


class GpuSample(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    utilization_percent: float
    memory_used_mb: int
    memory_total_mb: int


class Heartbeat(msgspec.Struct, frozen=True, kw_only=True):
    """Stored under the agent's key in the heartbeat bucket every few seconds."""

    agent_id: str
    session_id: str
    sent_at: datetime
    in_flight: int = 0
    max_concurrency: int = 1
    cpu_percent: float = 0.0
    memory_percent: float = 0.0
    gpus: list[GpuSample] = []
    tokens_per_s: float = 0.0
    draining: bool = False
    # The original design's health check: mean executor run time over the latest runs, whether the host
    # takes work (not draining, its model server answering), and why not.
    response_time_s: float = 0.0
    available: bool = True
    error: str = ""
    # Models the model server has loaded now (Ollama's /api/ps): placement prefers them (no load time).
    loaded_models: list[str] = []

    def free_vram_mb(self) -> int | None:
        """The most free memory on one GPU (a model loads on one), None without GPUs."""
        if not self.gpus:
            return None
        return max(g.memory_total_mb - g.memory_used_mb for g in self.gpus)


class TokenChunk(msgspec.Struct, frozen=True, kw_only=True):
    """A piece of generated text on `<prefix>.live.task.<id>` (core NATS, not stored): live viewers only."""

    attempt: int
    index: int  # 0, 1, 2, ... within the attempt, so a viewer can order and spot gaps
    text: str


dispatch_encoder = msgspec.json.Encoder()
token_chunk_decoder = msgspec.json.Decoder(TokenChunk)
dispatch_decoder = msgspec.json.Decoder(Dispatch)
report_decoder = msgspec.json.Decoder(AnyReport)
heartbeat_decoder = msgspec.json.Decoder(Heartbeat)
control_decoder = msgspec.json.Decoder(AnyControl)
