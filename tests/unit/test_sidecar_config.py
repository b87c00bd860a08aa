"""Sidecar config: parsing, defaults, and validation errors that name the field."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agent_sidecar.config import (
    CommandExecutorConfig,
    OllamaExecutorConfig,
    default_agent_id,
    default_dev_config,
    load_config,
    parse_config,
)
from agent_sidecar.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "agent_sidecar" / "example.toml"


def minimal(**fields: object) -> dict[str, object]:
    return {"executor": {"type": "command", "argv": ["cat"]}, **fields}


def test_example_file_parses() -> None:
    config = load_config(EXAMPLE)
    assert config.agent_id == "gpu-01"
    assert config.capabilities == {"summarize": 0.9, "code": 0.7}
    assert isinstance(config.executor, OllamaExecutorConfig)
    assert config.executor.default_model == "llama3.1:8b"
    assert config.max_concurrency == 2


def test_defaults_from_hostname() -> None:
    config = parse_config(minimal(), hostname="gpu01.lab.example.com")
    assert config.agent_id == "gpu01-lab-example-com"
    assert config.name == config.agent_id
    assert config.max_concurrency == 1
    assert config.grace_period_s == 30.0
    assert isinstance(config.executor, CommandExecutorConfig)
    assert config.executor.stdin == "prompt"


@pytest.mark.parametrize(
    ("hostname", "expected"), [("gpu-01", "gpu-01"), ("box_7.local", "box_7-local"), ("...", "agent")]
)
def test_default_agent_id_is_a_subject_token(hostname: str, expected: str) -> None:
    assert default_agent_id(hostname) == expected


def test_dev_config() -> None:
    config = default_dev_config("dev-1")
    assert config.agent_id == "dev-1"
    assert config.capabilities == {"echo": 1.0}
    assert config.max_concurrency == 4
    assert isinstance(config.executor, CommandExecutorConfig)
    assert config.executor.argv == ["cat"] and config.executor.stdin == "prompt"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (minimal(agent_id="gpu.01"), "$.agent_id"),
        (minimal(agent_id="a b"), "$.agent_id"),
        (minimal(max_concurrency=0), "$.max_concurrency"),
        (minimal(max_concurrency="4"), "$.max_concurrency"),
        (minimal(capabilities={"code": 1.5}), "$.capabilities.code"),
        (minimal(capabilities={"code": "high"}), "$.capabilities"),
        (minimal(grace_period_s=-1), "$.grace_period_s"),
        (minimal(models="llama3"), "$.models"),
        (minimal(max_concurency=2), "max_concurency"),
        ({"executor": {"type": "docker"}}, "$.executor.type"),
        ({"executor": {"type": "command", "argv": []}}, "$.executor.argv"),
        ({"executor": {"type": "command", "argv": ["cat"], "stdin": "file"}}, "$.executor.stdin"),
        ({"executor": {"type": "command", "argv": ["x", "{promt}"]}}, "$.executor.argv[1]"),
        ({"executor": {"type": "ollama", "connect_timeout_s": 0}}, "$.executor.connect_timeout_s"),
        ({}, "executor"),
    ],
)
def test_validation_errors_name_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, hostname="h")
    assert field in str(info.value)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sidecar.toml"
    path.write_text('max_concurrency = "lots"\n[executor]\ntype = "command"\nargv = ["cat"]\n')
    with pytest.raises(ConfigError, match=r"sidecar\.toml.*\$\.max_concurrency"):
        load_config(path)
    path.write_text("max_concurrency = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_config_is_frozen() -> None:
    config = parse_config(minimal(), hostname="h")
    with pytest.raises(AttributeError):
        config.max_concurrency = 3  # type: ignore[misc]


def test_example_commented_command_executor_is_valid() -> None:
    text = EXAMPLE.read_text()
    block = text[text.index("# [executor]") :]
    uncommented = "\n".join(line.removeprefix("# ") for line in block.splitlines())
    config = parse_config(tomllib.loads(uncommented), hostname="h")
    assert isinstance(config.executor, CommandExecutorConfig)
    assert config.executor.argv == ["my-agent", "--model", "{model}", "--task", "{task_id}"]
    assert config.executor.retry_on_exit_codes == [75]
    assert config.executor.env == {"CUDA_VISIBLE_DEVICES": "0"}


async def test_noop_executor_returns_the_prompt() -> None:
    from agent_sidecar.config import parse_config
    from agent_sidecar.executors import build_executor
    from core.messages import Dispatch

    config = parse_config({"agent_id": "bench", "executor": {"type": "noop"}})
    result = await build_executor(config.executor).run(Dispatch(task_id="t", attempt=1, title="x", prompt="p"), None)
    assert (result.ok, result.output, result.exit_code) == (True, "p", 0)
