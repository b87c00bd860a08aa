"""The sidecar's [http] and [mcp] tables: parsing, the capabilities they add, errors that name the field, and the
executor a task's payload `kind` picks."""

from __future__ import annotations

from typing import Any

import pytest

from agent_sidecar.config import parse_config
from agent_sidecar.errors import ConfigError
from agent_sidecar.executors import KindRouter, NoopExecutor, build_sidecar_executor
from agent_sidecar.kind_config import McpHttpServer, McpStdioServer, kind_capabilities
from core.messages import Dispatch

TOOLS = {
    "files": {"transport": "stdio", "command": "mcp-files", "args": ["--root", "/srv"], "env": {"A": "1"}},
    "search": {"transport": "http", "url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer x"}},
}


def test_http_and_mcp_tables_parse() -> None:
    config = parse_config({"agent_id": "a", "executor": {"type": "noop"},
                           "http": {"allowed_hosts": ["api.example.com", "*.corp:8443"], "timeout_s": 5},
                           "mcp": {"servers": TOOLS}})
    assert config.http is not None and config.http.allowed_hosts == ["api.example.com", "*.corp:8443"]
    assert config.http.timeout_s == 5.0 and config.http.max_response_bytes == 10 * 1024 * 1024
    assert config.mcp is not None
    files, search = config.mcp.servers["files"], config.mcp.servers["search"]
    assert isinstance(files, McpStdioServer) and files.args == ["--root", "/srv"] and files.env == {"A": "1"}
    assert isinstance(search, McpHttpServer) and search.headers == {"Authorization": "Bearer x"}
    assert kind_capabilities(config.http, config.mcp) == {"http": 1.0, "mcp": 1.0}


def test_without_the_tables_nothing_changes() -> None:
    config = parse_config({"agent_id": "a", "executor": {"type": "noop"}})
    assert config.http is None and config.mcp is None and kind_capabilities(None, None) == {}
    assert isinstance(build_sidecar_executor(config), NoopExecutor)


def test_an_agent_may_have_only_optional_executors() -> None:
    config = parse_config({"agent_id": "a", "http": {"allowed_hosts": ["*"]}})
    assert config.executor is None
    router = build_sidecar_executor(config)
    assert isinstance(router, KindRouter) and router.name == "http"


def test_no_executor_at_all_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"missing required field `executor`"):
        parse_config({"agent_id": "a"})


@pytest.mark.parametrize(("raw", "where"), [
    ({"http": {"allowed_hosts": ["ok.example.com", "http://bad"]}}, "`$.http.allowed_hosts[1]`"),
    ({"http": {}}, "`$.http`"),
    ({"http": {"allowed_hosts": ["x"], "timeout_s": 0}}, "`$.http.timeout_s`"),
    ({"http": {"allowed_hosts": ["x"], "proxy": "p"}}, "`$.http`"),
    ({"mcp": {"servers": {"s": {"transport": "carrier-pigeon"}}}}, "`$.mcp.servers.s.transport`"),
    ({"mcp": {"servers": {"s": {"transport": "stdio"}}}}, "`$.mcp.servers.s`"),
    ({"mcp": {"servers": {"s": {"transport": "http", "url": "ftp://x"}}}}, "`$.mcp.servers.s.url`"),
    ({"mcp": {"servers": {"s": {"transport": "stdio", "command": "x", "shell": True}}}}, "`$.mcp.servers.s`"),
    ({"mcp": {"servers": {"bad name": {"transport": "stdio", "command": "x"}}}}, "`$.mcp.servers"),
])
def test_bad_tables_name_the_field(raw: dict[str, Any], where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"agent_id": "a", "executor": {"type": "noop"}, **raw})
    assert where in str(caught.value)


def job(**payload: Any) -> Dispatch:
    return Dispatch(task_id="t", attempt=1, title="t", prompt="the prompt", payload=payload)


async def test_tasks_go_to_the_executor_their_kind_names() -> None:
    router = build_sidecar_executor(parse_config({"agent_id": "a", "executor": {"type": "noop"},
                                                  "http": {"allowed_hosts": ["allowed.test"]}}))
    plain = await router.run(job(), None)
    assert plain.ok and plain.output == "the prompt"  # no kind: the main executor, as before
    workflow_agent_task = await router.run(job(kind="agent"), None)
    assert workflow_agent_task.ok and workflow_agent_task.output == "the prompt"  # other kinds are the main one's
    refused = await router.run(job(kind="http", request={"url": "http://elsewhere.test/"}), None)
    assert not refused.ok and not refused.retryable and "not in this agent's [http] allowed_hosts" in refused.error
    unknown = await router.run(job(kind="mcp"), None)
    assert not unknown.ok and not unknown.retryable and "kind 'mcp'" in unknown.error
    assert "`$.payload.kind`" in unknown.error


async def test_a_task_without_kind_on_an_agent_without_a_main_executor_fails_for_good() -> None:
    router = build_sidecar_executor(parse_config({"agent_id": "a", "http": {"allowed_hosts": ["*"]}}))
    result = await router.run(job(), None)
    assert not result.ok and not result.retryable and "no main executor" in result.error


def test_the_examples_commented_http_and_mcp_tables_parse() -> None:
    import re
    import tomllib
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "agent_sidecar" / "example.toml").read_text()
    tail = text[text.index("# --- Optional executors"):text.index("# --- Alternatively")]
    uncommented = [re.sub(r"^# ?", "", line) for line in tail.splitlines() if line.startswith("# ")]
    toml = "\n".join(line for line in uncommented if re.match(r"^(\[(http|mcp)|[a-z_]+ = )", line))
    secrets = ["TUNOVA_AUTHORIZATION", "OPENAI_API_KEY", "INTRANET_PASSWORD", "MAPS_KEY", "ELEVENLABS_KEY"]
    config = parse_config({"agent_id": "a", **tomllib.loads(toml)}, environ={name: "x" for name in secrets})
    assert config.http is not None and "*.corp.example:8443" in config.http.allowed_hosts
    assert set(config.http.credentials) == {"Tunova API key", "OpenAI account", "intranet", "Maps key",
                                            "Custom Auth account"}
    assert config.mcp is not None and set(config.mcp.servers) == {"files", "search"}


async def test_the_router_shows_the_main_executors_probe_and_loaded_models() -> None:
    class Probed(NoopExecutor):
        loaded_models = ["llama3.1:8b"]

        async def probe(self) -> str | None:
            return "model server down"

    config = parse_config({"agent_id": "a", "executor": {"type": "noop"}, "http": {"allowed_hosts": ["*"]}})
    router = build_sidecar_executor(config, Probed(config.executor))  # type: ignore[arg-type]
    assert isinstance(router, KindRouter)
    assert await router.probe() == "model server down" and router.loaded_models == ["llama3.1:8b"]
    bare = build_sidecar_executor(parse_config({"agent_id": "a", "http": {"allowed_hosts": ["*"]}}))
    assert isinstance(bare, KindRouter) and await bare.probe() is None and bare.loaded_models == []
