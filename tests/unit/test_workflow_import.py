"""Every n8n export in tests/data/n8n (copies of ../shared/n8n) either imports, or is rejected naming each unsupported node."""

from __future__ import annotations

import pytest

from core.workflows.errors import InvalidWorkflow
from core.workflows.validate import validate
from tests.unit.workflow_support import load

IMPORTS = [
    "ai-chat-chainllm-ollama-starter-kit.json",
    "manual-set-http-error-output-fallback.json",
    "manual-set-http-ollama-blog-chain.json",
    "manual-set-if-branch.json",
    "manual-set-merge3-paired-items.json",
    "manual-switch-null-outputs.json",
    "manual-switch-rules-set.json",
    "manual-wait-http.json",
    "webhook-http-wait-respond-tunova.json",
]

# Files whose node types Hive runs but with one parameter it refuses (node -> the field named).
PARAMETER_REJECTS = {
    # Merge v2.1 has no mode 'mergeByPosition' (MergeV2.node.ts: append, combine, chooseBranch): n8n outputs nothing.
    "manual-http-noop-merge-youtube-watermark.json": {"Merge": "$.nodes[6].parameters.mode"},
    # A binary file response: Hive moves no binary data between nodes.
    "webhook-if-http-respond-elevenlabs.json": {"Respond to Webhook": "$.nodes[1].parameters.respondWith"},
}

# The README's "unsupported types" per file, less the LangChain nodes Hive runs (chainLlm, the Ollama models, the
# chat triggers): the nodes named are exactly those of the remaining types.
REJECTS = {
    "ai-agent-ollama-tools-weather-wiki.json": {
        "AI Agent": "@n8n/n8n-nodes-langchain.agent",
        "Window Buffer Memory": "@n8n/n8n-nodes-langchain.memoryBufferWindow",
        "Weather HTTP Request": "@n8n/n8n-nodes-langchain.toolHttpRequest",
        "Wikipedia": "@n8n/n8n-nodes-langchain.toolWikipedia",
    },
    "ai-chainllm-ollama-output-parser.json": {
        "Auto-fixing Output Parser": "@n8n/n8n-nodes-langchain.outputParserAutofixing",
        "Structured Output Parser": "@n8n/n8n-nodes-langchain.outputParserStructured",
    },
    "ai-lmollama-hallucination-check-with-code.json": {
        "Aggregate": "n8n-nodes-base.aggregate",
        "Code": "n8n-nodes-base.code",
        "When Executed by Another Workflow": "n8n-nodes-base.executeWorkflowTrigger",
        "Filter": "n8n-nodes-base.filter",
        "Split Out1": "n8n-nodes-base.splitOut",
    },
    "unsupported-function-webhook-switch-bitrix24.json": {
        "Process Message": "n8n-nodes-base.function",
        "Process Join": "n8n-nodes-base.function",
        "Process Install": "n8n-nodes-base.function",
    },
    "unsupported-googlesheets-airtable-sync.json": {
        "Airtable Search": "n8n-nodes-base.airtable",
        "Google Sheets Upsert": "n8n-nodes-base.googleSheets",
    },
    "unsupported-schedule-code-if-set.json": {
        "Schedule Trigger": "n8n-nodes-base.scheduleTrigger",
        "Code": "n8n-nodes-base.code",
    },
    "unsupported-slack-postgres-mongodb-etl.json": {
        "Cron": "n8n-nodes-base.cron",
        "Google Cloud Natural Language": "n8n-nodes-base.googleCloudNaturalLanguage",
        "MongoDB": "n8n-nodes-base.mongoDb",
        "Postgres": "n8n-nodes-base.postgres",
        "Slack": "n8n-nodes-base.slack",
        "Twitter": "n8n-nodes-base.twitter",
    },
}


def test_the_lists_cover_all_18_files() -> None:
    assert len(IMPORTS) + len(REJECTS) + len(PARAMETER_REJECTS) == 18


@pytest.mark.parametrize("name", IMPORTS)
def test_imports(name: str) -> None:
    workflow = load(name)
    graph = validate(workflow)
    assert graph.triggers


@pytest.mark.parametrize("name", sorted(REJECTS))
def test_rejected_naming_every_unsupported_node(name: str) -> None:
    workflow = load(name)
    with pytest.raises(InvalidWorkflow) as caught:
        validate(workflow)
    unsupported = {p.node: p.message for p in caught.value.problems if p.message.startswith("unsupported node type")}
    assert set(unsupported) == set(REJECTS[name])
    for node, node_type in REJECTS[name].items():
        assert node_type in unsupported[node]
        assert node in str(caught.value) or len(caught.value.problems) > 10
    # Each problem points into the document.
    for p in caught.value.problems:
        assert p.field.startswith("$")


@pytest.mark.parametrize("name", sorted(PARAMETER_REJECTS))
def test_rejected_naming_the_parameter_hive_refuses(name: str) -> None:
    with pytest.raises(InvalidWorkflow) as caught:
        validate(load(name))
    assert {p.node: p.field for p in caught.value.problems} == PARAMETER_REJECTS[name]


def test_every_shared_export_is_covered() -> None:
    from tests.unit.workflow_support import N8N_DIR

    assert {p.name for p in N8N_DIR.glob("*.json")} == set(IMPORTS) | set(REJECTS) | set(PARAMETER_REJECTS)
    assert len(IMPORTS) + len(REJECTS) + len(PARAMETER_REJECTS) == 18
