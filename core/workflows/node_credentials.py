"""An HTTP Request node's n8n authentication as the credential reference its task carries: the credential's name,
id and n8n type, never a secret (the agent that holds a credential of that name applies it), and the capability that
places the task on such an agent; pure."""

from __future__ import annotations

from typing import Any

from core.http_credentials import credential_capability
from core.workflows.errors import NodeFailed
from core.workflows.model import Node

# v1's `authentication` values (v2 shows the credential types themselves) and the credential type each one uses.
V1_AUTH = {"basicAuth": "httpBasicAuth", "digestAuth": "httpDigestAuth", "headerAuth": "httpHeaderAuth",
           "queryAuth": "httpQueryAuth", "oAuth1": "oAuth1Api", "oAuth2": "oAuth2Api"}
# Schemes that compute something per request (a challenge's digest, a signature): a value the agent stores cannot
# stand in for them.
UNSUPPORTED = {
    "httpDigestAuth": "digest authentication is not supported (the agent applies header, bearer, basic, query or "
                      "custom credentials)",
    "oAuth1Api": "OAuth1 request signing is not supported (the agent applies header, bearer, basic, query or "
                 "custom credentials)",
}
Path = tuple[str, str]  # (JSON path under `$.nodes[i]`, message)


def _chosen_type(node: Node) -> tuple[str | None, str, list[Path]]:
    """(the credential type the node uses or None, the parameter that chose it, problems)."""
    p = node.parameters
    auth = p.get("authentication", "none")
    if auth in (None, "", "none"):
        return None, "", []
    if not isinstance(auth, str) or auth.startswith("="):
        return None, "", [(".parameters.authentication", "authentication must be a fixed value, not an expression")]
    if auth in ("genericCredentialType", "predefinedCredentialType"):
        key = "genericAuthType" if auth == "genericCredentialType" else "nodeCredentialType"
        chosen = p.get(key)
        if not isinstance(chosen, str) or not chosen or chosen.startswith("="):
            return None, "", [(f".parameters.{key}", f"authentication {auth} needs {key}: the credential type")]
        return chosen, key, []
    if node.type_version < 3 and auth in V1_AUTH:
        return V1_AUTH[auth], "authentication", []
    if node.type_version < 3 and auth in V1_AUTH.values():
        return auth, "authentication", []
    known = "none, predefinedCredentialType, genericCredentialType"
    if node.type_version < 3:
        known += ", " + ", ".join(V1_AUTH)
    return None, "", [(".parameters.authentication", f"unknown authentication {auth!r} ({known})")]


def _named(node: Node, kind: str) -> tuple[str, str | None] | None:
    """The (name, id) of the node's credential of type `kind`: exports write `{"id", "name"}`, old ones the name."""
    entry = node.credentials.get(kind)
    if isinstance(entry, str) and entry.strip():
        return entry, None
    if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"].strip():
        ident = entry.get("id")
        return entry["name"], str(ident) if isinstance(ident, str | int) and ident != "" else None
    return None


def credential_problems(node: Node) -> list[Path]:
    """What keeps the node's authentication from running, each with its path under the node."""
    kind, key, problems = _chosen_type(node)
    if kind is None:
        return problems
    if kind in UNSUPPORTED:
        return [(f".parameters.{key}", UNSUPPORTED[kind])]
    if _named(node, kind) is None:
        return [(f".credentials.{kind}", f"authentication with {kind} needs credentials.{kind} naming the "
                                         "credential: an agent holding a credential of that name applies it")]
    return []


def credential_ref(node: Node) -> dict[str, Any] | None:
    """`{"name", "id", "type"}` for the task's request, or None when the node sends no credential."""
    kind, _key, _problems = _chosen_type(node)
    problems = credential_problems(node)
    if problems:
        raise NodeFailed(f"node {node.name!r}: {problems[0][1]} - at `{problems[0][0]}`")
    if kind is None:
        return None
    named = _named(node, kind)
    assert named is not None  # credential_problems said so
    name, ident = named
    return {"name": name, "type": kind, **({"id": ident} if ident is not None else {})}


def http_capabilities(request: dict[str, Any]) -> list[str]:
    """`http`, and the credential's own capability when the request uses one: only its holders may take it."""
    ref = request.get("credential")
    return ["http", credential_capability(ref["name"])] if isinstance(ref, dict) else ["http"]
