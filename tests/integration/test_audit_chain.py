"""The digest chain on a real log: every writer (gateway, coordinator) chains its events, `hive audit verify`
finds the log clean, and names exactly the event that was altered, removed or inserted in a copy of it; with an
audit key, a copy whose chain was recomputed without the key is caught too."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import orjson
import pytest
from nats.js.errors import APIError
from nats.js.api import StorageType, StreamConfig

from core.audit.verify_log import messages
from core.settings import Settings
from core.store.chain import DIGEST_HEADER, PREV_HEADER, digester, link
from core.store.connect import connect
from tests.integration.fleet_stack import fleet
from tests.integration.hive_cli import run_hive
from tests.integration.test_gateway_support import auth

Message = tuple[int, str, dict[str, str], bytes]


async def _write_a_real_log(settings: Settings) -> int:
    """Tasks run to completion on a sidecar, one cancelled while queued, the sidecar drained: events appended by
    the gateway (created, cancel and drain requests) and by the coordinator (everything else)."""
    async with fleet(settings) as stack:
        sidecar = await stack.sidecar()
        done = [await stack.create(prompt=f"hello {i}", capabilities=["echo"]) for i in range(3)]
        stuck = await stack.create(capabilities=["gpu-only"])  # no agent can take it: it waits, queued
        for task in done:
            await stack.reaches(task["id"], "completed")
        await stack.reaches(stuck["id"], "queued")
        cancel = await stack.client.delete(f"/api/tasks/{stuck['id']}", headers=auth(settings, "admin"))
        assert cancel.status_code == 202, cancel.text
        await stack.reaches(stuck["id"], "cancelled")
        drain = await stack.client.post(f"/api/agents/{sidecar.agent_id}/drain", headers=auth(settings, "admin"))
        assert drain.status_code == 202, drain.text
        await stack.agent(sidecar.agent_id, min_seq=drain.json()["seq"])
        # The coordinator chained every append onto digests its fold had read: it never had to fetch one.
        assert stack.coordinator.store.heads.misses == 0
    nc, js = await connect(settings, "test-chain", ensure=False)
    last = (await js.stream_info(settings.events_stream)).state.last_seq
    await nc.close()
    return int(last)


async def _copy(settings: Settings, name: str, log: list[Message]) -> str:
    """A second stream holding `log` (subjects under `<name>.`, the Hive headers kept); returns its name."""
    nc, js = await connect(settings, "test-chain-copy", ensure=False)
    try:
        await js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"], storage=StorageType.MEMORY,
                                         allow_direct=True))
        for _, subject, headers, payload in log:
            kept = {k: v for k, v in headers.items() if k in (DIGEST_HEADER, PREV_HEADER)}
            await js.publish(f"{name}.{subject}", payload, stream=name, headers=kept or None)
    finally:
        await nc.close()
    return name


async def _verify(settings: Settings, *args: str) -> tuple[int, dict[str, Any]]:
    status, out, err = await run_hive(settings, "audit", "verify", "--json", *args)
    assert status in (0, 1), err
    return status, json.loads(out)


def _findings(report: dict[str, Any]) -> list[tuple[int, str]]:
    return [(f["seq"], f["kind"]) for f in report["findings"]]


async def test_verify_clean_then_each_tampering_named(settings: Settings) -> None:
    last = await _write_a_real_log(settings)
    status, report = await _verify(settings)
    assert (status, report["findings"], report["events"], report["unsigned"]) == (0, [], last, 0)
    status, out, _ = await run_hive(settings, "audit", "verify")
    assert status == 0 and out.strip().endswith("the chain holds"), out

    nc, _ = await connect(settings, "test-chain-read", ensure=False)
    log = [m async for m in messages(nc, settings.events_stream, ">", last)]
    await nc.close()
    assert len(log) == last and all(DIGEST_HEADER in m[2] for m in log)
    # A task's assignment, in the middle of its history (events of its task come after it).
    at = next(i for i, m in enumerate(log) if b'"task.assigned.v1"' in m[3])
    subject = log[at][1]
    assert any(m[1] == subject for m in log[at + 1:])

    # Altered: the agent it was assigned to rewritten, headers kept.
    event = orjson.loads(log[at][3])
    event["data"]["agent_id"] = "someone-else"
    altered = [*log[:at], (0, subject, log[at][2], orjson.dumps(event)), *log[at + 1:]]
    status, report = await _verify(settings, "--stream", await _copy(settings, f"{settings.prefix}_ALTERED", altered))
    assert (status, _findings(report)) == (1, [(at + 1, "changed")])
    assert report["findings"][0]["subject"].endswith(subject)

    # Removed: the successor of the gap is named, with the missing event's digest.
    removed = log[:at] + log[at + 1:]
    status, report = await _verify(settings, "--stream", await _copy(settings, f"{settings.prefix}_REMOVED", removed))
    successor = next(i for i, m in enumerate(removed) if i >= at and m[1] == subject)
    assert (status, _findings(report)) == (1, [(successor + 1, "removed")])
    assert report["findings"][0]["digest"] == log[at][2][DIGEST_HEADER]

    # Inserted: a forged event right after the assignment, chained to it as a writer would.
    forged = msgspec.json.encode({**event, "type": "task.completed.v1", "data": {
        "agent_id": "someone-else", "attempt": 1, "result": {"output": "forged"}}})
    prev = log[at][2][DIGEST_HEADER]
    headers = {DIGEST_HEADER: link(prev, forged), PREV_HEADER: prev}
    inserted = [*log[:at + 1], (0, subject, headers, forged), *log[at + 1:]]
    status, report = await _verify(settings, "--stream", await _copy(settings, f"{settings.prefix}_INSERTED", inserted))
    assert (status, _findings(report)) == (1, [(at + 2, "inserted")])

    # The events stream refuses deletes (deny_delete); a copy that allows them shows the gap by its sequence.
    nc, js = await connect(settings, "test-chain-delete", ensure=False)
    try:
        with pytest.raises(APIError, match="delete not permitted"):
            await js.delete_msg(settings.events_stream, log[at][0])
        copy = await _copy(settings, f"{settings.prefix}_DELETED", log)
        await js.delete_msg(copy, at + 1)
    finally:
        await nc.close()
    status, report = await _verify(settings, "--stream", copy)
    assert status == 1 and _findings(report)[0] == (at + 1, "removed")
    assert report["findings"][0]["detail"] == f"seq {at + 1} not in the stream (deleted)"


async def test_a_keyed_chain_verifies_only_under_its_key_and_catches_a_chain_recomputed_without_it(
        settings: Settings) -> None:
    keyed = msgspec.structs.replace(settings, audit_key="test-audit-key-" + settings.prefix)
    last = await _write_a_real_log(keyed)
    status, report = await _verify(keyed)
    assert (status, report["findings"], report["keyed"], report["events"]) == (0, [], True, last)
    # Without the key every digest fails, and the text says why.
    status, report = await _verify(settings)
    assert status == 1 and {f["kind"] for f in report["findings"]} == {"changed"}
    status, out, _ = await run_hive(settings, "audit", "verify")
    assert status == 1 and "set it here too" in out, out

    nc, _ = await connect(keyed, "test-chain-read", ensure=False)
    log = [m async for m in messages(nc, keyed.events_stream, ">", last)]
    await nc.close()
    assert all(m[2][DIGEST_HEADER] == digester(keyed.audit_key)(m[2][PREV_HEADER], m[3]) for m in log)
    # The forger rewrites a task's assignment and recomputes every later digest of that task with SHA-256,
    # the only digest they can make: each event they rewrote is named.
    at = next(i for i, m in enumerate(log) if b'"task.assigned.v1"' in m[3])
    subject = log[at][1]
    event = orjson.loads(log[at][3])
    event["data"]["agent_id"] = "someone-else"
    forged, prev, rewritten = list(log), log[at][2][PREV_HEADER], []
    for i in range(at, len(log)):
        if log[i][1] != subject:
            continue
        payload = orjson.dumps(event) if i == at else log[i][3]
        digest = link(prev, payload)
        forged[i] = (0, subject, {DIGEST_HEADER: digest, PREV_HEADER: prev}, payload)
        prev = digest
        rewritten.append(i + 1)
    copy = await _copy(keyed, f"{keyed.prefix}_RECOMPUTED", forged)
    status, report = await _verify(keyed, "--stream", copy)
    assert (status, _findings(report)) == (1, [(seq, "unkeyed") for seq in rewritten])
    # Accepting plain digests before the forged part would be the only way past it, and is the auditor's call.
    status, report = await _verify(keyed, "--stream", copy, "--keyed-from", str(rewritten[-1] + 1))
    assert (status, report["findings"], report["unkeyed"]) == (0, [], len(rewritten))
