"""Bearer tokens: HS256 and RS256 issue/verify, wrong keys, expiry, and algorithm confusion refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from core.settings import load_settings
from core.tokens import (
    TokenConfigError,
    TokenError,
    issue_token,
    load_private_key,
    load_public_key,
    signing_key,
    verification_key,
    verify_token,
    write_key_pair,
)
from gateway.auth import Authenticator
from tests.fakes.tokens import forge_hs256

NOW = datetime.now(UTC)
HOUR = timedelta(hours=1)
SECRET = "a-shared-secret-long-enough-for-hs256-0123456789"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    private, public = folder / "private.pem", folder / "public.pem"
    write_key_pair(private, public, bits=2048)
    return private, public


@pytest.fixture(scope="module")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("other-keys")
    private, public = folder / "private.pem", folder / "public.pem"
    write_key_pair(private, public, bits=2048)
    return private, public


def claims(ttl: timedelta = HOUR) -> dict[str, object]:
    return {"sub": "mallory", "roles": ["admin"], "iat": int(NOW.timestamp()), "exp": int((NOW + ttl).timestamp())}


def test_hs256_round_trip() -> None:
    token = issue_token(SECRET, role="developer", subject="alice", now=NOW, ttl=HOUR)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    got = verify_token(token, SECRET, algorithms=("HS256",))
    assert got["sub"] == "alice" and got["roles"] == ["developer"]


def test_rs256_signed_with_the_private_key_verifies_with_the_public_key(keys: tuple[Path, Path]) -> None:
    private, public = keys
    token = issue_token(load_private_key(private), role="viewer", subject="bob", now=NOW, ttl=HOUR, algorithm="RS256")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    got = verify_token(token, load_public_key(public), algorithms=("RS256",))
    assert got["sub"] == "bob" and got["roles"] == ["viewer"]


def test_wrong_keys_are_refused(keys: tuple[Path, Path], other_keys: tuple[Path, Path]) -> None:
    rs = issue_token(load_private_key(other_keys[0]), role="admin", subject="a", now=NOW, ttl=HOUR, algorithm="RS256")
    with pytest.raises(TokenError, match="Signature verification failed"):
        verify_token(rs, load_public_key(keys[1]), algorithms=("RS256",))
    hs = issue_token("another-secret-of-sufficient-length-0123456789", role="admin", subject="a", now=NOW, ttl=HOUR)
    with pytest.raises(TokenError, match="Signature verification failed"):
        verify_token(hs, SECRET, algorithms=("HS256",))


def test_expired_tokens_are_refused_in_both_modes(keys: tuple[Path, Path]) -> None:
    then = NOW - 2 * HOUR
    rs = issue_token(load_private_key(keys[0]), role="admin", subject="a", now=then, ttl=HOUR, algorithm="RS256")
    with pytest.raises(TokenError, match="expired"):
        verify_token(rs, load_public_key(keys[1]), algorithms=("RS256",))
    hs = issue_token(SECRET, role="admin", subject="a", now=then, ttl=HOUR)
    with pytest.raises(TokenError, match="expired"):
        verify_token(hs, SECRET, algorithms=("HS256",))


def test_hs256_signed_with_the_public_key_text_is_refused_by_an_rs256_verifier(keys: tuple[Path, Path]) -> None:
    # The classic confusion: an attacker who has the (public) key HMAC-signs a token with its PEM text and
    # hopes the verifier uses that text as an HS256 secret.
    public_pem = keys[1].read_bytes()
    forged = forge_hs256(claims(), public_pem)
    assert jwt.get_unverified_header(forged)["alg"] == "HS256"
    public_key = load_public_key(keys[1])
    with pytest.raises(TokenError, match="alg value is not allowed"):
        verify_token(forged, public_key, algorithms=("RS256",))
    # Even handed the PEM text itself, an RS256 verifier does not treat it as an HMAC secret.
    with pytest.raises(TokenError):
        verify_token(forged, public_pem.decode(), algorithms=("RS256",))
    # Also through the gateway's own authenticator, configured from settings as in production.
    settings = load_settings({}, jwt_algorithm="RS256", jwt_public_key_file=str(keys[1]))
    with pytest.raises(Exception, match="invalid bearer token"):
        Authenticator.from_settings(settings).from_token(forged)


def test_unsigned_and_other_algorithm_tokens_are_refused(keys: tuple[Path, Path]) -> None:
    unsigned = jwt.encode(claims(), None, algorithm="none")
    with pytest.raises(TokenError):
        verify_token(unsigned, load_public_key(keys[1]), algorithms=("RS256",))
    with pytest.raises(TokenError):
        verify_token(unsigned, SECRET, algorithms=("HS256",))
    # A genuine HS256 token is not accepted by a gateway configured for RS256, nor the other way round.
    hs = issue_token(SECRET, role="admin", subject="a", now=NOW, ttl=HOUR)
    with pytest.raises(TokenError):
        verify_token(hs, load_public_key(keys[1]), algorithms=("RS256",))
    rs = issue_token(load_private_key(keys[0]), role="admin", subject="a", now=NOW, ttl=HOUR, algorithm="RS256")
    with pytest.raises(TokenError):
        verify_token(rs, SECRET, algorithms=("HS256",))


def test_rs256_without_a_public_key_is_a_clear_startup_error() -> None:
    settings = load_settings({"HIVE_JWT_ALGORITHM": "RS256"})
    with pytest.raises(TokenConfigError, match="HIVE_JWT_PUBLIC_KEY_FILE"):
        verification_key(settings)
    with pytest.raises(TokenConfigError, match="HIVE_JWT_PUBLIC_KEY_FILE"):
        Authenticator.from_settings(settings)
    with pytest.raises(TokenConfigError, match="--private-key"):
        signing_key(settings, "RS256")


def test_key_settings_errors_name_the_problem(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(TokenConfigError, match="cannot read the JWT public key"):
        verification_key(load_settings({"HIVE_JWT_ALGORITHM": "RS256", "HIVE_JWT_PUBLIC_KEY_FILE": str(missing)}))
    with pytest.raises(TokenConfigError, match="not a PEM public key"):
        verification_key(load_settings({}, jwt_algorithm="RS256", jwt_public_key_file=str(keys[0])))
    ec_pem = tmp_path / "ec.pem"
    ec_pem.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(TokenConfigError, match="not an RSA public key"):
        verification_key(load_settings({}, jwt_algorithm="RS256", jwt_public_key_file=str(ec_pem)))
    with pytest.raises(TokenConfigError, match="not supported"):
        verification_key(load_settings({}, jwt_algorithm="none"))


def test_the_public_key_may_be_derived_from_the_private_key(keys: tuple[Path, Path]) -> None:
    settings = load_settings({"HIVE_JWT_ALGORITHM": "RS256", "HIVE_JWT_PRIVATE_KEY_FILE": str(keys[0])})
    key = verification_key(settings)
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.public_numbers() == load_public_key(keys[1]).public_numbers()
    token = issue_token(signing_key(settings, "RS256"), role="agent", subject="s", now=NOW, ttl=HOUR, algorithm="RS256")
    assert verify_token(token, key, algorithms=("RS256",))["roles"] == ["agent"]


def test_keygen_keeps_the_private_key_private_and_refuses_to_overwrite(tmp_path: Path) -> None:
    private, public = tmp_path / "k" / "private.pem", tmp_path / "k" / "public.pem"
    write_key_pair(private, public, bits=2048)
    assert private.stat().st_mode & 0o777 == 0o600
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    with pytest.raises(TokenConfigError, match="--force"):
        write_key_pair(private, public, bits=2048)
    before = private.read_bytes()
    write_key_pair(private, public, bits=2048, force=True)
    assert private.read_bytes() != before and private.stat().st_mode & 0o777 == 0o600
    with pytest.raises(TokenConfigError, match="shorter than 2048"):
        write_key_pair(tmp_path / "a", tmp_path / "b", bits=1024)
