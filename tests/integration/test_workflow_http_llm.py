"""Shared n8n exports run by the coordinator on real sidecars: HTTP nodes against a local server standing in
for the outside host (an error output routing to a fallback), and n8n's chainLlm on an Ollama model served by
a server speaking Ollama's protocol."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.settings import Settings
from tests.fakes.chat_api import ChatApi
from tests.fakes.ollama_server import FakeOllama
from tests.integration.fleet_stack import fleet
from tests.integration.test_workflow_executions import finished, node, run_workflow

N8N = Path(__file__).resolve().parents[1] / "data" / "n8n"


def export(name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((N8N / name).read_text())
    return value


async def test_http_error_output_falls_back_to_the_second_model(settings: Settings) -> None:
    document = export("manual-set-http-error-output-fallback.json")
    async with ChatApi() as api, fleet(settings) as f:
        # The outside host is replaced by the local one: the primary answers 503, the fallback a completion.
        for n in document["nodes"]:
            if n["name"] == "Primary model (DaoXE)":
                n["parameters"]["url"] = f"{api.url}/down"
            elif n["name"] == "Fallback model (DaoXE)":
                n["parameters"]["url"] = f"{api.url}/v1/chat/completions"
        # Both HTTP nodes use the header credential "DaoXE (Header Auth)": the agent holds it, the workflow names it.
        await f.sidecar(max_concurrency=2, http={"allowed_hosts": [f"127.0.0.1:{api.port}"], "credentials": {
            "DaoXE (Header Auth)": {"type": "header", "name": "Authorization", "value": "Bearer daoxe-key"}}})
        done = await finished(f, (await run_workflow(f, document, {}))["id"])
        assert done["status"] == "completed", done
        assert done["result"] == [{"json": {"answer": "answer from YOUR_DAOXE_FALLBACK_MODEL_ID",
                                            "served_model": "YOUR_DAOXE_FALLBACK_MODEL_ID", "via": "fallback"}}]
        primary = node(done, "Primary model (DaoXE)")
        assert primary["outputs"][0] == [] and primary["outputs"][1][0]["json"]["statusCode"] == 503
        assert [r["path"] for r in api.requests] == ["/down", "/v1/chat/completions"]
        assert [r["headers"]["authorization"] for r in api.requests] == ["Bearer daoxe-key"] * 2
        assert api.requests[1]["body"]["messages"][0]["role"] == "system"
        assert all(n["node"] != "Answer (primary)" for n in done["nodes"])


async def test_chat_trigger_and_chain_llm_on_an_ollama_agent(settings: Settings) -> None:
    document = export("ai-chat-chainllm-ollama-starter-kit.json")
    async with FakeOllama({"llama3.2:latest": "hello from the GPU"}) as ollama, fleet(settings) as f:
        await f.sidecar(capabilities={"llm": 1.0}, models=["llama3.2:latest"],
                        executor={"type": "ollama", "url": ollama.url})
        done = await finished(f, (await run_workflow(f, document, {"chat_input": "say hi", "session_id": "s"}))["id"])
        assert done["status"] == "completed", done
        (item,) = done["result"]
        assert item["json"]["text"] == "hello from the GPU"
        task = await f.task(item["json"]["task_id"])
        assert task["model"] == "llama3.2:latest" and task["capabilities"] == ["llm"] and task["prompt"] == "say hi"
        assert ollama.requests[-1]["model"] == "llama3.2:latest"
