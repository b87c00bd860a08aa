"""The sidecar's [http.credentials.<name>] tables: each type parsed with its secret from the environment or given
literally, errors that name the field (and never show a secret), the capability each credential adds, and how an
applied credential sets headers and query parameters and redacts its values."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from agent_sidecar.config import load_config, parse_config
from agent_sidecar.errors import ConfigError
from agent_sidecar.executors.http_auth import Credentials, CredentialRefused, applied
from agent_sidecar.executors.http_spec import CredentialRef
from agent_sidecar.http_credentials import (BasicCredential, CustomCredential, HeaderCredential, HttpCredential,
                                            QueryCredential, Secret)
from agent_sidecar.kind_config import kind_capabilities

ENV = {"KEY": "env-s3cret", "OTHER": "other-s3cret"}


def credentials(tables: dict[str, Any], environ: dict[str, str] | None = None) -> dict[str, HttpCredential]:
    config = parse_config({"agent_id": "a", "http": {"allowed_hosts": ["*"], "credentials": tables}},
                          environ=ENV if environ is None else environ)
    assert config.http is not None
    return config.http.credentials


def test_each_type_parses_with_its_secret_from_the_environment_or_literal() -> None:
    parsed = credentials({
        "ElevenLabs": {"type": "header", "name": "xi-api-key", "value_env": "KEY", "hosts": ["api.elevenlabs.io"]},
        "Tunova API key": {"type": "bearer", "token": "literal-token"},
        "Basic": {"type": "basic", "user": "u", "password_env": "KEY"},
        "Query": {"type": "query", "name": "api_key", "value_env": "OTHER"},
        "Custom Auth account": {"type": "custom", "headers_env": {"X-A": "KEY"}, "headers": {"X-B": "b"},
                                "query_env": {"k": "OTHER"}},
    })
    header = parsed["ElevenLabs"]
    assert isinstance(header, HeaderCredential) and header.value == "env-s3cret" and header.value_env == "KEY"
    assert header.hosts == ["api.elevenlabs.io"]
    assert isinstance(parsed["Basic"], BasicCredential) and parsed["Basic"].password == "env-s3cret"
    assert isinstance(parsed["Query"], QueryCredential) and parsed["Query"].value == "other-s3cret"
    custom = parsed["Custom Auth account"]
    assert isinstance(custom, CustomCredential)
    assert custom.headers == {"X-A": "env-s3cret", "X-B": "b"} and custom.query == {"k": "other-s3cret"}
    # Printed config (a log line, a traceback) shows no secret.
    assert "s3cret" not in repr(parsed) and "literal-token" not in repr(parsed)


def test_each_credential_adds_its_capability() -> None:
    config = parse_config({"agent_id": "a", "http": {"allowed_hosts": ["*"], "credentials": {
        "ElevenLabs": {"type": "bearer", "token": "t"}, "DaoXE (Header Auth)": {"type": "bearer", "token": "t"}}}})
    assert kind_capabilities(config.http, None) == {"http": 1.0, "http.cred.elevenlabs": 1.0,
                                                    "http.cred.daoxe-header-auth-903de94a": 1.0}


def test_a_toml_file_with_a_quoted_credential_name(tmp_path: Any) -> None:
    path = tmp_path / "sidecar.toml"
    path.write_text('agent_id = "a"\n[http]\nallowed_hosts = ["api.example.com"]\n'
                    '[http.credentials."DaoXE (Header Auth)"]\ntype = "header"\nname = "Authorization"\n'
                    'value_env = "KEY"\n')
    config = load_config(path, environ=ENV)
    assert config.http is not None
    assert config.http.credentials["DaoXE (Header Auth)"] == HeaderCredential(
        name="Authorization", value="env-s3cret", value_env="KEY")


@pytest.mark.parametrize(("table", "environ", "where", "message"), [
    ({"type": "header", "name": "X-Key"}, ENV, "$.http.credentials.k.value`", "missing the secret"),
    ({"type": "header", "name": "X-Key", "value": "v", "value_env": "KEY"}, ENV, "$.http.credentials.k.value_env`",
     "not both"),
    ({"type": "header", "name": "X-Key", "value_env": "MISSING"}, ENV, "$.http.credentials.k.value_env`",
     "environment variable MISSING is not set"),
    ({"type": "header", "name": "X-Key", "value_env": "KEY"}, {"KEY": ""}, "$.http.credentials.k.value_env`",
     "is not set or is empty"),
    ({"type": "header", "name": "X-Key", "value_env": "KEY"}, {"KEY": "a\r\nX-Evil: 1"},
     "$.http.credentials.k.value_env`", "contains CR, LF or NUL"),
    ({"type": "header", "name": "Bad Name", "value": "v"}, ENV, "$.http.credentials.k.name`", ""),
    ({"type": "header", "name": "Host", "value": "v"}, ENV, "$.http.credentials.k.name`", "sets this header itself"),
    ({"type": "bearer"}, ENV, "$.http.credentials.k.token`", "missing the secret"),
    ({"type": "basic", "password": "p"}, ENV, "$.http.credentials.k`", "missing required field `user`"),
    ({"type": "basic", "user": "u"}, ENV, "$.http.credentials.k.password`", "missing the secret"),
    ({"type": "query", "value": "v"}, ENV, "$.http.credentials.k`", "missing required field `name`"),
    ({"type": "custom"}, ENV, "$.http.credentials.k`", "needs headers, headers_env, query or query_env"),
    ({"type": "custom", "headers": {"X-A": "1"}, "headers_env": {"X-A": "KEY"}}, ENV,
     "$.http.credentials.k.headers_env.X-A`", "not both"),
    ({"type": "custom", "query_env": {"q": "MISSING"}}, ENV, "$.http.credentials.k.query_env.q`", "MISSING"),
    ({"type": "digest", "user": "u"}, ENV, "$.http.credentials.k.type`", "one of header, bearer, basic, query, custom"),
    ({"type": "header", "name": "X", "value": "v", "hosts": ["https://x"]}, ENV, "$.http.credentials.k.hosts[0]`",
     "not a host pattern"),
    ({"type": "header", "name": "X", "value": "v", "extra": 1}, ENV, "$.http.credentials.k`", "unknown field"),
])
def test_bad_credentials_name_the_field_and_never_the_secret(table: dict[str, Any], environ: dict[str, str],
                                                             where: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        credentials({"k": table}, environ)
    text = str(caught.value)
    assert where in text and message in text
    assert "s3cret" not in text and "X-Evil" not in text


def test_a_name_that_is_not_a_word_is_quoted_in_the_path_and_two_names_may_not_share_a_capability() -> None:
    with pytest.raises(ConfigError, match=r'at `\$\.http\.credentials\["My key"\]\.token`'):
        credentials({"My key": {"type": "bearer"}})
    with pytest.raises(ConfigError, match="'My key' and 'my-key' have the same capability http.cred.my-key"):
        credentials({"My key": {"type": "bearer", "token": "t"}, "my-key": {"type": "bearer", "token": "t"}})


def test_applied_credentials_set_headers_and_query_replacing_the_same_names() -> None:
    basic = applied("b", BasicCredential(user="u", password=Secret("p w")))
    url, headers = basic.apply("https://h/x?a=1", {"authorization": "Bearer node", "X-Other": "o"}, with_query=True)
    assert url == "https://h/x?a=1"
    assert headers == {"X-Other": "o", "Authorization": "Basic " + base64.b64encode(b"u:p w").decode()}
    query = applied("q", QueryCredential(name="api key", value=Secret("v&1")))
    url, _ = query.apply("https://h/x?a=1&api+key=node#f", {}, with_query=True)
    assert url == "https://h/x?a=1&api+key=v%261#f"
    assert query.apply("https://h/x?a=1", {}, with_query=False)[0] == "https://h/x?a=1"


def test_redaction_covers_every_form_a_secret_takes() -> None:
    query = applied("q", QueryCredential(name="k", value=Secret("v&1 2")))
    assert query.redact("GET /x?k=v%261+2 and v%261%202 and v&1 2") == "GET /x?k=[redacted] and [redacted] and [redacted]"
    basic = applied("b", BasicCredential(user="u", password=Secret("pw")))
    pair = base64.b64encode(b"u:pw").decode()
    assert basic.redact_value({"headers": {"authorization": f"Basic {pair}"}, "pw": ["pw"], "n": 1}) == {
        "headers": {"authorization": "Basic [redacted]"}, "[redacted]": ["[redacted]"], "n": 1}
    assert "pw" not in repr(basic)


def test_credentials_are_found_by_the_slug_of_their_name() -> None:
    held = Credentials({"Tunova API key": HeaderCredential(name="X", value=Secret("v"))}, "gpu-01")
    assert held.find(CredentialRef(name="tunova-api-key")).name == "Tunova API key"
    with pytest.raises(CredentialRefused, match=r"credential 'Other' \(httpHeaderAuth, id 7\) is not configured on "
                                                r"agent gpu-01 \(it has: 'Tunova API key'\)"):
        held.find(CredentialRef(name="Other", id="7", type="httpHeaderAuth"))
