"""The node types Hive runs, what kind each is, and the parameters each cannot do without."""

from __future__ import annotations

from enum import StrEnum

from core.workflows.model import Node


class Kind(StrEnum):
    TRIGGER = "trigger"  # starts an execution with the execute request's items
    BUILTIN = "builtin"  # computed by the coordinator, inline
    TASK = "task"  # one Hive task per input item, run on an agent
    MODEL = "model"  # a LangChain sub-node: configuration for the node it feeds, never run itself
    IGNORED = "ignored"  # sticky notes


BASE = "n8n-nodes-base."
LANGCHAIN = "@n8n/n8n-nodes-langchain."

MANUAL_TRIGGER = BASE + "manualTrigger"
START = BASE + "start"
WEBHOOK = BASE + "webhook"
CHAT_TRIGGER = LANGCHAIN + "chatTrigger"
MANUAL_CHAT_TRIGGER = LANGCHAIN + "manualChatTrigger"
SET = BASE + "set"
IF = BASE + "if"
SWITCH = BASE + "switch"
MERGE = BASE + "merge"
NOOP = BASE + "noOp"
WAIT = BASE + "wait"
RESPOND = BASE + "respondToWebhook"
HTTP = BASE + "httpRequest"
AGENT_TASK = "hive.agentTask"
MCP_TOOL = "hive.mcpTool"
CHAIN_LLM = LANGCHAIN + "chainLlm"
LM_CHAT_OLLAMA = LANGCHAIN + "lmChatOllama"
LM_OLLAMA = LANGCHAIN + "lmOllama"
STICKY = BASE + "stickyNote"

KINDS: dict[str, Kind] = {
    MANUAL_TRIGGER: Kind.TRIGGER, START: Kind.TRIGGER, WEBHOOK: Kind.TRIGGER, CHAT_TRIGGER: Kind.TRIGGER,
    MANUAL_CHAT_TRIGGER: Kind.TRIGGER,
    SET: Kind.BUILTIN, IF: Kind.BUILTIN, SWITCH: Kind.BUILTIN, MERGE: Kind.BUILTIN, NOOP: Kind.BUILTIN,
    WAIT: Kind.BUILTIN, RESPOND: Kind.BUILTIN,
    HTTP: Kind.TASK, AGENT_TASK: Kind.TASK, MCP_TOOL: Kind.TASK, CHAIN_LLM: Kind.TASK,
    LM_CHAT_OLLAMA: Kind.MODEL, LM_OLLAMA: Kind.MODEL,
    STICKY: Kind.IGNORED,
}
MODELS = frozenset({LM_CHAT_OLLAMA, LM_OLLAMA})
# The capability a chainLlm node's task asks for: an agent whose executor serves Ollama models offers it.
LLM_CAPABILITY = "llm"


def kind_of(node: Node) -> Kind | None:
    return KINDS.get(node.type)


def short_type(node_type: str) -> str:
    return node_type.rsplit(".", 1)[-1]


def required_parameters(node: Node) -> list[str]:
    """Dotted parameter paths that must be present and non-empty for this node to run."""
    p = node.parameters
    if node.type == HTTP:
        return ["url"]
    if node.type == AGENT_TASK:
        return ["capability", "prompt"]
    if node.type == MCP_TOOL:
        return ["server", "tool"]
    if node.type in MODELS:
        return ["model"]
    if node.type == CHAIN_LLM and p.get("promptType") == "define":
        return ["text"]
    if node.type == WAIT and p.get("resume") == "specificTime":
        return ["dateTime"]
    if node.type == SWITCH and p.get("mode") == "expression" and node.type_version >= 2:
        return ["output"]  # v1's output defaults to 0, which an export leaves out
    return []


def supported_names() -> str:
    return ", ".join(sorted(short_type(t) for t, k in KINDS.items() if k is not Kind.IGNORED))
