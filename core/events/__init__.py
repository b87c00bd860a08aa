"""The event catalog: versioned, tagged msgspec events and their envelope."""

from core.events.agent import AGENT_EVENTS, AgentEvent
from core.events.codec import decode_envelope, encode_envelope
from core.events.envelope import Envelope, Recorded, new_envelope
from core.events.execution import EXECUTION_EVENTS, ExecutionEvent
from core.events.system import SYSTEM_EVENTS, SystemEvent
from core.events.task import TASK_EVENTS, TaskEvent
from core.events.workflow import WORKFLOW_EVENTS, WorkflowEvent

__all__ = [
    "AGENT_EVENTS",
    "AgentEvent",
    "EXECUTION_EVENTS",
    "Envelope",
    "ExecutionEvent",
    "Recorded",
    "SYSTEM_EVENTS",
    "SystemEvent",
    "TASK_EVENTS",
    "TaskEvent",
    "WORKFLOW_EVENTS",
    "WorkflowEvent",
    "decode_envelope",
    "encode_envelope",
    "new_envelope",
]
