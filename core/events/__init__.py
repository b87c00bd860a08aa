"""The event catalog: versioned, tagged msgspec events and their envelope."""

from core.events.agent import AGENT_EVENTS, AgentEvent
from core.events.codec import decode_envelope, encode_envelope
from core.events.envelope import Envelope, Recorded, new_envelope
from core.events.system import SYSTEM_EVENTS, SystemEvent
from core.events.task import TASK_EVENTS, TaskEvent

__all__ = [
    "AGENT_EVENTS",
    "AgentEvent",
    "Envelope",
    "Recorded",
    "SYSTEM_EVENTS",
    "SystemEvent",
    "TASK_EVENTS",
    "TaskEvent",
    "decode_envelope",
    "encode_envelope",
    "new_envelope",
]
