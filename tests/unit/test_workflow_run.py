"""The n8n exports run to completion in the pure engine with n8n's item semantics (tasks answered by a fake)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from core.workflows.node_misc import TriggerInput
from core.workflows.node_tasks import TaskRequest
from tests.unit.workflow_support import NOW, FakeTasks, http_ok, load, load_runnable, outputs, run


def test_if_branch_runs_the_true_side_only() -> None:
    finish, state = run(load("manual-set-if-branch.json"))
    assert finish.status == "completed"
    assert outputs(state, "If") == [[{"v": "1"}], []]
    assert outputs(state, "Set B") == [[{"v": "true"}]]
    assert "Set C" not in state.nodes  # the false branch got no items: it never ran
    assert finish.result == [{"json": {"v": "true"}}]


def test_three_input_merge_and_paired_items() -> None:
    finish, state = run(load("manual-set-merge3-paired-items.json"))
    assert finish.status == "completed"
    assert outputs(state, "Merge V3, dynamic inputs") == [[
        {"Branch 1 Field": "Branch 1 Value"}, {"Branch 2 Field": "Branch 2 Value"}, {"Branch 3 Field": "Branch 3 Value"},
    ]]
    # `$(`Branch ${$itemIndex + 1}`).item` follows each merged item back to the branch it came from.
    assert outputs(state, "Edit Fields") == [[
        {"item_0": "Branch 1 Value"}, {"item_1": "Branch 2 Value"}, {"item_2": "Branch 3 Value"},
    ]]


def test_switch_with_null_connections_sends_the_item_nowhere() -> None:
    finish, state = run(load("manual-switch-null-outputs.json"))
    assert finish.status == "completed"
    # The first rule ("" equals "") matches; output 0 is not connected (null), so Edit Fields never runs.
    assert outputs(state, "Switch") == [[{}], [], []]
    assert "Edit Fields" not in state.nodes


def test_switch_rules_route_pinned_items_to_renamed_outputs() -> None:
    finish, state = run(load("manual-switch-rules-set.json"))
    assert finish.status == "completed"
    switch = outputs(state, "Switch")
    assert [[i["code"] for i in out] for out in switch] == [[1], [2], [3]]
    # Set v3.4 keeps only the fields it sets: an assignment with an empty name sets the key "", others none.
    assert outputs(state, "Only Item 1") == [[{"": ""}]]
    assert outputs(state, "Only Item 2") == [[{}]]
    assert outputs(state, "Only Item 3") == [[{}]]


def test_given_items_replace_pinned_data() -> None:
    finish, state = run(load("manual-switch-rules-set.json"), given=TriggerInput(items=[{"json": {"code": 2}}]))
    assert finish.status == "completed"
    assert outputs(state, "Switch") == [[], [{"code": 2}], []]
    assert set(state.nodes) == {"When clicking ‘Execute workflow’", "Switch", "Only Item 2"}


def test_error_output_routes_a_failed_request_to_the_fallback() -> None:
    def answer(node: str, request: TaskRequest) -> Any:
        if node == "Primary model (DaoXE)":
            return ("fail", "HTTP 503", http_ok({"error": "overloaded"}, status=503))
        return http_ok({"model": "fallback-1", "choices": [{"message": {"content": "three titles"}}]})

    tasks = FakeTasks(answer)
    finish, state = run(load("manual-set-http-error-output-fallback.json"), tasks)
    assert finish.status == "completed", finish.error
    assert [node for node, _ in tasks.calls] == ["Primary model (DaoXE)", "Fallback model (DaoXE)"]
    primary, fallback = tasks.calls[0][1], tasks.calls[1][1]
    # Its header credential travels by name, and only an agent holding it may take the task.
    assert primary.capabilities == ["http", "http.cred.daoxe-header-auth-903de94a"]
    assert primary.payload["kind"] == "http" and primary.payload["request"]["credential"] == {
        "name": "DaoXE (Header Auth)", "id": "REPLACE_WITH_YOUR_CREDENTIAL_ID", "type": "httpHeaderAuth"}
    assert primary.payload["request"]["method"] == "POST"
    assert primary.payload["request"]["body"]["model"] == "YOUR_DAOXE_MODEL_ID"
    # The error item derives from the primary's input: `$('Set inputs').item` still resolves.
    assert fallback.payload["request"]["body"]["model"] == "YOUR_DAOXE_FALLBACK_MODEL_ID"
    assert fallback.payload["request"]["body"]["messages"][1]["content"].startswith("Give me three punchy")
    assert outputs(state, "Answer (fallback)") == [[{"answer": "three titles", "served_model": "fallback-1",
                                                      "via": "fallback"}]]
    assert "Answer (primary)" not in state.nodes
    assert outputs(state, "Primary model (DaoXE)")[1][0]["statusCode"] == 503


def test_error_output_not_taken_when_the_request_succeeds() -> None:
    tasks = FakeTasks(lambda node, r: http_ok({"model": "p", "choices": [{"message": {"content": "ok"}}]}))
    finish, state = run(load("manual-set-http-error-output-fallback.json"), tasks)
    assert finish.status == "completed"
    assert outputs(state, "Answer (primary)") == [[{"answer": "ok", "served_model": "p", "via": "primary"}]]
    assert len(tasks.calls) == 1


def test_a_failed_request_without_error_handling_fails_the_execution() -> None:
    tasks = FakeTasks(lambda node, r: ("fail", "HTTP 500", http_ok("boom", status=500)))
    finish, state = run(load("manual-wait-http.json"), tasks)
    assert finish.status == "failed"
    assert finish.node == "Request"
    assert "HTTP 500" in (finish.error or "")


def test_wait_then_request() -> None:
    tasks = FakeTasks(lambda node, r: http_ok({"ip": "192.0.2.1"}))
    finish, state = run(load("manual-wait-http.json"), tasks)
    assert finish.status == "completed"
    wait = state.nodes["Wait"]
    assert wait.resume_at == NOW + timedelta(seconds=2)
    assert tasks.calls[0][1].payload["request"]["url"] == "https://api.ipify.org?format=json"
    assert tasks.calls[0][1].payload["request"]["method"] == "GET"
    assert outputs(state, "Request") == [[{"ip": "192.0.2.1"}]]


def test_ollama_blog_chain_over_plain_http() -> None:
    seen: list[dict[str, Any]] = []

    def answer(node: str, request: TaskRequest) -> str:
        body = request.payload["request"]["body"]
        seen.append(body)
        text = json.dumps({"model": body["model"], "response": f"<{node}>"})
        return http_ok(text, headers={"content-type": "text/plain"})

    finish, state = run(load("manual-set-http-ollama-blog-chain.json"), FakeTasks(answer))
    assert finish.status == "completed", finish.error
    assert len(seen) == 4 and all(b["model"] == "llama3:8b" and b["stream"] is False for b in seen)
    assert "<1. Research Topic (Ollama)>" in seen[1]["prompt"]  # JSON.parse($json.data).response of the step before
    assert "How to Self-Host AI Models with Ollama" in seen[1]["prompt"]  # $('Set Blog Parameters').item...
    final = outputs(state, "Final Output")[0][0]
    assert final == {"final_post": "<4. Edit & Polish (Ollama)>", "topic": "How to Self-Host AI Models with Ollama",
                     "generated_at": "2025-03-01T12:00:00.000Z"}


def test_webhook_wait_and_respond() -> None:
    def answer(node: str, request: TaskRequest) -> str:
        if node == "Tunova: start generation":
            return http_ok({"job_id": "job-7"})
        return http_ok({"status": "done", "clips": [{"audio_url": "https://x/a.mp3", "title": "Song"}]})

    tasks = FakeTasks(answer)
    given = TriggerInput(body={"prompt": "a song about bees", "instrumental": True})
    finish, state = run(load("webhook-http-wait-respond-tunova.json"), tasks, given)
    assert finish.status == "completed", finish.error
    start = tasks.calls[0][1].payload["request"]
    assert start["body"] == {"prompt": "a song about bees", "instrumental": True}
    assert tasks.calls[1][1].payload["request"]["url"] == "https://api.tunova.ai/api/jobs/job-7"
    assert state.nodes["Wait for render"].resume_at == NOW + timedelta(seconds=150)
    assert finish.response is not None
    assert finish.response["body"] == {"status": "done", "audio_url": "https://x/a.mp3", "title": "Song"}


def test_webhook_if_branches_to_the_error_response_only_when_the_check_fails() -> None:
    tasks = FakeTasks(lambda node, r: http_ok("audio-bytes", headers={"content-type": "audio/mpeg"}))
    given = TriggerInput(body={"voice_id": "v1", "text": "hi"})
    finish, state = run(load_runnable("webhook-if-http-respond-elevenlabs.json"), tasks, given)
    assert finish.status == "completed"
    # n8n's `exists` on the literal "voice_id" (not an expression) is always true.
    assert tasks.calls[0][1].payload["request"]["url"] == "https://api.elevenlabs.io/v1/text-to-speech/v1"
    assert "Error" not in state.nodes
    assert finish.response is not None and finish.response["node"] == "Respond to Webhook"


def test_fan_out_and_merge_by_position() -> None:
    def answer(node: str, request: TaskRequest) -> str:
        if node == "Get My Channel ID":
            return http_ok({"items": [{"id": "UC123"}]})
        if node == "Download Watermark":
            return http_ok("PNG...", headers={"content-type": "image/png"})
        if node == "Initiate Upload":
            return http_ok({}, headers={"location": "https://upload/session-1"})
        return http_ok({"ok": True})

    tasks = FakeTasks(answer)
    finish, state = run(load_runnable("manual-http-noop-merge-youtube-watermark.json"), tasks)
    assert finish.status == "completed", finish.error
    calls = {node: r.payload["request"] for node, r in tasks.calls}
    assert calls["Get My Channel ID"]["query"] == {"part": "id", "mine": "true"}
    assert calls["Initiate Upload"]["url"].endswith("channelId=UC123")
    assert calls["Upload Image Data"]["method"] == "PUT"
    assert calls["Upload Image Data"]["url"] == "https://upload/session-1"
    merged = outputs(state, "Merge")[0]
    assert len(merged) == 1 and merged[0]["data"] == "PNG..." and merged[0]["statusCode"] == 200


def test_chat_trigger_chain_llm_on_an_ollama_model() -> None:
    tasks = FakeTasks(lambda node, r: "Hello from the fleet")
    finish, state = run(load("ai-chat-chainllm-ollama-starter-kit.json"), tasks,
                        TriggerInput(chat_input="hi there", session_id="s1"))
    assert finish.status == "completed"
    request = tasks.calls[0][1]
    assert request.capabilities == ["llm"] and request.model == "llama3.2:latest" and request.prompt == "hi there"
    assert outputs(state, "Basic LLM Chain") == [[{"text": "Hello from the fleet", "task_id": "task-1"}]]
