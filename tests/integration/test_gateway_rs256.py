"""A gateway served with RS256: it holds only the public key, accepts tokens its private key signed, refuses others."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from core.dev.ports import free_port
from core.settings import Settings
from core.tokens import TokenConfigError, issue_token, load_private_key, write_key_pair
from gateway.server import run_gateway
from tests.fakes.tokens import forge_hs256
from tests.integration.served import served


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_rs256_gateway_accepts_its_issuers_tokens_only(settings: Settings, tmp_path: Path) -> None:
    private, public = tmp_path / "private.pem", tmp_path / "public.pem"
    write_key_pair(private, public, bits=2048)
    stranger_private, stranger_public = tmp_path / "stranger.pem", tmp_path / "stranger.pub.pem"
    write_key_pair(stranger_private, stranger_public, bits=2048)
    rs = msgspec.structs.replace(settings, gateway_port=free_port(), jwt_algorithm="RS256",
                                 jwt_public_key_file=str(public))
    now, hour = datetime.now(UTC), timedelta(hours=1)

    def rs256(key: Path, *, now: datetime = now) -> str:
        return issue_token(load_private_key(key), role="developer", subject="alice", now=now, ttl=hour, algorithm="RS256")

    claims = {"sub": "mallory", "roles": ["admin"], "exp": int((now + hour).timestamp())}
    refused = {
        "another key pair": rs256(stranger_private),
        "expired": rs256(private, now=now - 3 * hour),
        "HS256 with the shared secret": issue_token(settings.jwt_secret, role="admin", subject="a", now=now, ttl=hour),
        "HS256 with the public key as secret": forge_hs256(claims, public.read_bytes()),
    }
    async with served(rs, asyncio.Event()) as (client, _):
        good = _bearer(rs256(private))
        assert (await client.get("/api/tasks", headers=good)).status_code == 200
        created = await client.post("/api/tasks", json={"title": "signed with RS256"}, headers=good)
        assert created.status_code == 201, created.text
        for name, token in refused.items():
            resp = await client.get("/api/tasks", headers=_bearer(token))
            assert resp.status_code == 401, (name, resp.text)
            assert resp.headers["www-authenticate"].startswith("Bearer"), name


async def test_rs256_without_a_public_key_fails_at_start(settings: Settings) -> None:
    rs = msgspec.structs.replace(settings, gateway_port=free_port(), jwt_algorithm="RS256")
    with pytest.raises(TokenConfigError, match="HIVE_JWT_PUBLIC_KEY_FILE"):
        await run_gateway(rs, asyncio.Event())
