"""An HTTP Request node's n8n authentication as its task's credential reference and capability, for every form n8n
exports (v1 `authentication: headerAuth/basicAuth/...`, v2 and v3+ `genericCredentialType` + `genericAuthType` or
`predefinedCredentialType` + `nodeCredentialType`, credentials as `{"id", "name"}` or an old export's bare name), the
shared exports that use credentials, and what upload refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.http_credentials import credential_capability, credential_slug
from core.workflows.errors import InvalidWorkflow
from core.workflows.model import parse_workflow
from core.workflows.node_misc import TriggerInput
from core.workflows.node_tasks import TaskRequest
from core.workflows.validate import validate
from tests.unit.workflow_support import FakeTasks, http_ok, load_runnable, run

TRIGGER = {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "parameters": {}, "typeVersion": 1}


def document(version: float, parameters: dict[str, Any], credentials: dict[str, Any] | None) -> dict[str, Any]:
    node: dict[str, Any] = {"name": "HTTP Request", "type": "n8n-nodes-base.httpRequest", "typeVersion": version,
                            "parameters": {"url": "https://api.test/x", **parameters}}
    if credentials is not None:
        node["credentials"] = credentials
    return {"nodes": [TRIGGER, node], "connections": {"Start": {"main": [[{"node": "HTTP Request", "index": 0}]]}}}


def task_of(version: float, parameters: dict[str, Any], credentials: dict[str, Any] | None) -> TaskRequest:
    workflow = parse_workflow(document(version, parameters, credentials))
    validate(workflow)
    tasks = FakeTasks(lambda n, r: http_ok({}))
    finish, _ = run(workflow, tasks, TriggerInput(items=[{}]))
    assert finish.status == "completed", finish.error
    request: TaskRequest = tasks.calls[0][1]
    return request


def ref(kind: str, name: str = "My API", ident: str = "c1") -> dict[str, Any]:
    return {kind: {"id": ident, "name": name}}


@pytest.mark.parametrize(("version", "parameters", "credentials", "expected"), [
    # v1: the authentication value names the scheme, and with it the credential type.
    (1, {"authentication": "headerAuth"}, ref("httpHeaderAuth"), "httpHeaderAuth"),
    (1, {"authentication": "basicAuth"}, ref("httpBasicAuth"), "httpBasicAuth"),
    (1, {"authentication": "queryAuth"}, ref("httpQueryAuth"), "httpQueryAuth"),
    (1, {"authentication": "oAuth2"}, ref("oAuth2Api"), "oAuth2Api"),
    # v2: generic or predefined, and the credential types themselves (as v2's credential list shows them).
    (2, {"authentication": "genericCredentialType", "genericAuthType": "httpBasicAuth"}, ref("httpBasicAuth"),
     "httpBasicAuth"),
    (2, {"authentication": "predefinedCredentialType", "nodeCredentialType": "openAiApi"}, ref("openAiApi"),
     "openAiApi"),
    (2, {"authentication": "httpQueryAuth"}, ref("httpQueryAuth"), "httpQueryAuth"),
    # v3 and later.
    (3, {"authentication": "genericCredentialType", "genericAuthType": "httpHeaderAuth"}, ref("httpHeaderAuth"),
     "httpHeaderAuth"),
    (4.2, {"authentication": "genericCredentialType", "genericAuthType": "httpBearerAuth"}, ref("httpBearerAuth"),
     "httpBearerAuth"),
    (4.2, {"authentication": "genericCredentialType", "genericAuthType": "httpCustomAuth"}, ref("httpCustomAuth"),
     "httpCustomAuth"),
    (4.2, {"authentication": "genericCredentialType", "genericAuthType": "httpQueryAuth"}, ref("httpQueryAuth"),
     "httpQueryAuth"),
    (4.2, {"authentication": "genericCredentialType", "genericAuthType": "oAuth2Api"}, ref("oAuth2Api"), "oAuth2Api"),
    (4.2, {"authentication": "predefinedCredentialType", "nodeCredentialType": "youTubeOAuth2Api"},
     ref("youTubeOAuth2Api"), "youTubeOAuth2Api"),
])
def test_each_authentication_form_becomes_a_credential_reference(version: float, parameters: dict[str, Any],
                                                                 credentials: dict[str, Any], expected: str) -> None:
    task = task_of(version, parameters, {"unrelated": {"id": "x", "name": "Other"}, **credentials})
    assert task.payload["request"]["credential"] == {"name": "My API", "id": "c1", "type": expected}
    assert task.capabilities == ["http", "http.cred.my-api"]


def test_an_old_export_names_its_credential_by_name_alone() -> None:
    task = task_of(1, {"authentication": "headerAuth"}, {"httpHeaderAuth": "openai_key"})
    assert task.payload["request"]["credential"] == {"name": "openai_key", "type": "httpHeaderAuth"}
    assert task.capabilities == ["http", "http.cred.openai_key"]


@pytest.mark.parametrize(("version", "parameters"), [
    (1, {}), (1, {"authentication": "none"}), (4.2, {"authentication": "none"}), (4.2, {}),
])
def test_no_authentication_sends_no_credential_even_with_credentials_listed(version: float,
                                                                           parameters: dict[str, Any]) -> None:
    task = task_of(version, parameters, ref("httpHeaderAuth"))
    assert "credential" not in task.payload["request"] and task.capabilities == ["http"]


@pytest.mark.parametrize(("export", "name", "kind"), [
    ("manual-set-http-error-output-fallback.json", "DaoXE (Header Auth)", "httpHeaderAuth"),
    ("webhook-http-wait-respond-tunova.json", "Tunova API key", "httpHeaderAuth"),
    ("webhook-if-http-respond-elevenlabs.json", "Custom Auth account", "httpCustomAuth"),
    ("manual-http-noop-merge-youtube-watermark.json", "YouTube Account Mechenable", "youTubeOAuth2Api"),
])
def test_the_shared_exports_carry_their_credentials_by_name(export: str, name: str, kind: str) -> None:
    seen: list[TaskRequest] = []

    def answer(n: str, request: TaskRequest) -> str:
        seen.append(request)
        return http_ok({"id": "job-7", "status": "done", "items": []})

    workflow = load_runnable(export)
    run(workflow, FakeTasks(answer), TriggerInput(items=[{"body": {"text": "hi", "prompt": "p"}}]))
    credentialed = [r for r in seen if r.payload["request"].get("credential", {}).get("name") == name]
    assert credentialed, [r.payload["request"].get("credential") for r in seen]
    for request in credentialed:
        assert request.payload["request"]["credential"]["type"] == kind
        assert request.capabilities == ["http", credential_capability(name)]
    # The export holds names and ids only, and so does every task: nothing else was made of them.
    assert all(set(r.payload["request"].get("credential", {})) <= {"name", "id", "type"} for r in seen)


@pytest.mark.parametrize(("version", "parameters", "credentials", "field", "message"), [
    # n8n's "HTTP Request" to OpenAI template: headerAuth, with its credential stripped from the export.
    (1, {"authentication": "headerAuth"}, None, "$.nodes[1].credentials.httpHeaderAuth",
     "authentication with httpHeaderAuth needs credentials.httpHeaderAuth"),
    (4.2, {"authentication": "genericCredentialType", "genericAuthType": "httpHeaderAuth"}, ref("httpBasicAuth"),
     "$.nodes[1].credentials.httpHeaderAuth", "needs credentials.httpHeaderAuth"),
    (4.2, {"authentication": "genericCredentialType", "genericAuthType": "httpHeaderAuth"},
     {"httpHeaderAuth": {"id": "1", "name": ""}}, "$.nodes[1].credentials.httpHeaderAuth", "naming the credential"),
    (4.2, {"authentication": "genericCredentialType"}, ref("httpHeaderAuth"), "$.nodes[1].parameters.genericAuthType",
     "needs genericAuthType"),
    (4.2, {"authentication": "predefinedCredentialType"}, ref("openAiApi"), "$.nodes[1].parameters.nodeCredentialType",
     "needs nodeCredentialType"),
    (4.2, {"authentication": "genericCredentialType", "genericAuthType": "httpDigestAuth"}, ref("httpDigestAuth"),
     "$.nodes[1].parameters.genericAuthType", "digest authentication is not supported"),
    (1, {"authentication": "digestAuth"}, ref("httpDigestAuth"), "$.nodes[1].parameters.authentication",
     "digest authentication is not supported"),
    (2, {"authentication": "oAuth1Api"}, ref("oAuth1Api"), "$.nodes[1].parameters.authentication",
     "OAuth1 request signing is not supported"),
    (4.2, {"authentication": "headerAuth"}, ref("httpHeaderAuth"), "$.nodes[1].parameters.authentication",
     "unknown authentication 'headerAuth'"),  # a v1 value is not one of v3's
    (4.2, {"authentication": "={{ 'genericCredentialType' }}"}, ref("httpHeaderAuth"),
     "$.nodes[1].parameters.authentication", "not an expression"),
    (4.2, {"provideSslCertificates": True}, None, "$.nodes[1].parameters.provideSslCertificates",
     "client SSL certificates (httpSslAuth) are not supported"),
])
def test_upload_refuses_authentication_it_cannot_honour(version: float, parameters: dict[str, Any],
                                                         credentials: dict[str, Any] | None, field: str,
                                                         message: str) -> None:
    with pytest.raises(InvalidWorkflow) as caught:
        validate(parse_workflow(document(version, parameters, credentials)))
    problems = [(p.field, p.message) for p in caught.value.problems]
    assert any(f == field and message in m for f, m in problems), problems


@pytest.mark.parametrize(("name", "slug"), [
    ("ElevenLabs", "elevenlabs"),
    ("Tunova API key", "tunova-api-key"),
    ("openai_key", "openai_key"),
    ("DaoXE (Header Auth)", "daoxe-header-auth-903de94a"),
    ("Ключ", "1de36a32"),
])
def test_a_credential_name_as_a_capability(name: str, slug: str) -> None:
    assert credential_slug(name) == slug
    capability = credential_capability(name)
    assert capability == f"http.cred.{slug}"


def test_long_and_punctuated_names_stay_valid_capabilities_and_distinct() -> None:
    names = ["x" * 200, "x" * 199 + "y", "a.b", "a,b", "a b", "A B"]
    capabilities = [credential_capability(n) for n in names]
    assert all(len(c) <= 64 and json.dumps(c) and set(c) <= set("abcdefghijklmnopqrstuvwxyz0123456789_.-")
               for c in capabilities)
    # Only case and spaces-as-dashes are ignored: "a b" and "A B" are one credential, the others are not.
    assert len(set(capabilities)) == len(names) - 1
