"""Executors, the registry from a config's executor `type` to the class that runs it, and the sidecar's whole
executor (the main one plus those a task picks by its payload `kind`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent_sidecar.config import (CommandExecutorConfig, ExecutorConfig, NoopExecutorConfig, OllamaExecutorConfig,
                                  SidecarConfig)
from agent_sidecar.executors.base import ExecutionResult, Executor, OnChunk
from agent_sidecar.executors.by_kind import KindRouter
from agent_sidecar.executors.command import CommandExecutor
from agent_sidecar.executors.http_request import HttpExecutor
from agent_sidecar.executors.noop import NoopExecutor
from agent_sidecar.executors.ollama import OllamaExecutor

# Config class -> factory; a new executor adds its config struct to ExecutorConfig and a line here.
REGISTRY: dict[type[Any], Callable[[Any], Executor]] = {
    CommandExecutorConfig: CommandExecutor,
    OllamaExecutorConfig: OllamaExecutor,
    NoopExecutorConfig: NoopExecutor,
}


def build_executor(config: ExecutorConfig) -> Executor:
    return REGISTRY[type(config)](config)


def build_sidecar_executor(config: SidecarConfig, main: Executor | None = None) -> Executor:
    """The main executor (`main` replaces the configured one), wrapped in a KindRouter when [http] or [mcp] adds
    executors; a task without a payload `kind` goes to the main one as before."""
    if main is None and config.executor is not None:
        main = build_executor(config.executor)
    by_kind: dict[str, Executor] = {}
    if config.http is not None:
        by_kind["http"] = HttpExecutor(config.http, config.agent_id)
    if config.mcp is not None:
        # Imported here: the MCP SDK is an optional extra, and a sidecar without [mcp] must not need it.
        from agent_sidecar.executors.mcp_tool import McpToolExecutor

        by_kind["mcp"] = McpToolExecutor(config.mcp)
    if not by_kind:
        assert main is not None, "parse_config requires an executor when there is no [http] or [mcp]"
        return main
    return KindRouter(main, by_kind)


__all__ = ["REGISTRY", "CommandExecutor", "ExecutionResult", "Executor", "HttpExecutor", "KindRouter", "NoopExecutor",
           "OllamaExecutor", "OnChunk", "build_executor", "build_sidecar_executor"]
