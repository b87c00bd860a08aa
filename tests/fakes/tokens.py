"""Tokens no honest issuer makes: HS256 signed by hand, e.g. with a public key's PEM text as the secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_hs256(claims: dict[str, object], secret: bytes) -> str:
    """A token HMAC-signed with `secret` by hand (PyJWT refuses to use a PEM key as an HMAC secret)."""
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"
