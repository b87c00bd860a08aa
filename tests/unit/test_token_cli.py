"""`hive token issue` (HS256 and RS256) and `hive token keygen`, run through the CLI's main()."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from core.cli import main
from core.dev.secret import ensure_secret
from core.tokens import load_public_key, verify_token

SECRET = "cli-test-secret-long-enough-for-hs256-0123456789"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HIVE_JWT_SECRET", "HIVE_JWT_ALGORITHM", "HIVE_JWT_PUBLIC_KEY_FILE", "HIVE_JWT_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)


def issued(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["token", "issue", *args]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


@pytest.fixture
def keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    private, public = tmp_path / "private.pem", tmp_path / "public.pem"
    assert main(["token", "keygen", "--private", str(private), "--public", str(public), "--bits", "2048"]) == 0
    out = capsys.readouterr().out
    assert f"HIVE_JWT_PUBLIC_KEY_FILE={public}" in out and f"HIVE_JWT_PRIVATE_KEY_FILE={private}" in out
    assert private.stat().st_mode & 0o777 == 0o600
    return private, public


def test_issue_hs256_with_the_configured_secret_or_the_dev_stacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HIVE_JWT_SECRET", SECRET)
    token = issued(capsys, "--role", "admin", "--subject", "ops", "--home", str(tmp_path / "no-dev-stack"))
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert verify_token(token, SECRET)["sub"] == "ops"
    home = tmp_path / "dev"
    dev_secret = ensure_secret(home)
    token = issued(capsys, "--role", "viewer", "--home", str(home))
    assert verify_token(token, dev_secret)["roles"] == ["viewer"]


def test_issue_rs256_with_a_private_key_given_or_configured(
    tmp_path: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = keys
    for args in (["--private-key", str(private)], ["--algorithm", "RS256", "--private-key", str(private)]):
        token = issued(capsys, "--role", "developer", "--home", str(tmp_path), *args)
        assert jwt.get_unverified_header(token)["alg"] == "RS256"
        assert verify_token(token, load_public_key(public), algorithms=("RS256",))["roles"] == ["developer"]
    monkeypatch.setenv("HIVE_JWT_PRIVATE_KEY_FILE", str(private))
    token = issued(capsys, "--role", "agent", "--subject", "gpu-01", "--home", str(tmp_path))
    assert verify_token(token, load_public_key(public), algorithms=("RS256",))["sub"] == "gpu-01"


def test_rs256_without_a_private_key_and_keygen_over_existing_files_fail_clearly(
    tmp_path: Path, keys: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "issue", "--role", "admin", "--algorithm", "RS256", "--home", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "HIVE_JWT_PRIVATE_KEY_FILE" in captured.err
    private, public = keys
    before = private.read_bytes()
    assert main(["token", "keygen", "--private", str(private), "--public", str(public), "--bits", "2048"]) == 2
    assert "--force" in capsys.readouterr().err
    assert private.read_bytes() == before
