"""Issues and verifies the gateway's bearer JWTs: HS256 with a shared secret, or RS256 with an RSA key pair
(the gateway holds only the public key; whoever issues tokens holds the private one)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeAlias

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.errors import ConfigError
from core.settings import Settings

ROLES = ("admin", "developer", "viewer", "agent")
ALGORITHMS = ("HS256", "RS256")
# A shared secret (HS256) or an RSA key (RS256): what PyJWT signs, or verifies, with.
SigningKey: TypeAlias = str | rsa.RSAPrivateKey
Key: TypeAlias = str | rsa.RSAPublicKey
MIN_RSA_BITS = 2048


class TokenError(Exception):
    """A token that is missing, malformed, expired or signed with another key."""


class TokenConfigError(ConfigError):
    """The token settings cannot work: an unknown algorithm, or a key that is missing or unreadable."""


def issue_token(key: SigningKey, *, role: str, subject: str, now: datetime, ttl: timedelta, algorithm: str = "HS256") -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    claims = {"sub": subject, "roles": [role], "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp())}
    return jwt.encode(claims, key, algorithm=algorithm)


def verify_token(token: str, key: Key, *, algorithms: tuple[str, ...] = ("HS256",)) -> dict[str, object]:
    """The token's claims, if `key` signed it with one of `algorithms` (never 'none') and it has not expired."""
    try:
        claims: dict[str, object] = jwt.decode(token, key, algorithms=list(algorithms), options={"require": ["sub", "exp"]})
    except jwt.PyJWTError as err:
        raise TokenError(str(err)) from err
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) and r in ROLES for r in roles):
        raise TokenError("token has no valid 'roles' claim")
    return claims


def check_algorithm(algorithm: str) -> str:
    if algorithm not in ALGORITHMS:
        raise TokenConfigError(f"HIVE_JWT_ALGORITHM={algorithm!r} is not supported: use one of {', '.join(ALGORITHMS)}")
    return algorithm


def verification_key(settings: Settings) -> Key:
    """What the gateway checks signatures with: the secret (HS256) or the public key (RS256), loaded once at start.

    For RS256 the public key comes from HIVE_JWT_PUBLIC_KEY_FILE, or is derived from HIVE_JWT_PRIVATE_KEY_FILE
    when only that is set."""
    if check_algorithm(settings.jwt_algorithm) == "HS256":
        return settings.jwt_secret
    if settings.jwt_public_key_file:
        return load_public_key(Path(settings.jwt_public_key_file))
    if settings.jwt_private_key_file:
        return load_private_key(Path(settings.jwt_private_key_file)).public_key()
    raise TokenConfigError(
        "HIVE_JWT_ALGORITHM=RS256 needs the issuer's RSA public key: set HIVE_JWT_PUBLIC_KEY_FILE to its PEM file "
        "(`hive token keygen` makes a key pair)")


def signing_key(settings: Settings, algorithm: str, private_key_file: str | None = None,
                secret: str | None = None) -> SigningKey:
    """What `hive token issue` signs with: the secret (HS256) or the private key (RS256)."""
    if check_algorithm(algorithm) == "HS256":
        return secret if secret is not None else settings.jwt_secret
    path = private_key_file or settings.jwt_private_key_file
    if not path:
        raise TokenConfigError("RS256 tokens are signed with an RSA private key: pass --private-key FILE or set "
                               "HIVE_JWT_PRIVATE_KEY_FILE (`hive token keygen` makes a key pair)")
    return load_private_key(Path(path))


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise TokenConfigError(f"cannot read the JWT {what} {path}: {err.strerror or err}") from err


def load_public_key(path: Path) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(_read(path, "public key"))
    except ValueError as err:
        raise TokenConfigError(f"{path} is not a PEM public key ({err})") from err
    if not isinstance(key, rsa.RSAPublicKey):
        raise TokenConfigError(f"{path} holds a {type(key).__name__}, not an RSA public key (RS256 needs RSA)")
    return key


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path, "private key"), password=None)
    except (ValueError, TypeError) as err:
        raise TokenConfigError(f"{path} is not an unencrypted PEM private key ({err})") from err
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TokenConfigError(f"{path} holds a {type(key).__name__}, not an RSA private key (RS256 needs RSA)")
    return key


def generate_key_pair(bits: int = 3072) -> tuple[bytes, bytes]:
    """A new RSA key pair as (private PEM, PKCS#8 unencrypted; public PEM, SubjectPublicKeyInfo)."""
    if bits < MIN_RSA_BITS:
        raise TokenConfigError(f"RSA keys shorter than {MIN_RSA_BITS} bits are not safe to use (asked for {bits})")
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def write_key_pair(private_path: Path, public_path: Path, *, bits: int = 3072, force: bool = False) -> None:
    """Write a new key pair; the private key readable by its owner only. Existing files are kept unless `force`."""
    if not force:
        for path in (private_path, public_path):
            if path.exists():
                raise TokenConfigError(f"{path} exists; pass --force to replace it")
    private, public = generate_key_pair(bits)
    for path, data, mode in ((private_path, private, 0o600), (public_path, public, 0o644)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # a new file, so the mode below applies (open() keeps an old file's)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
