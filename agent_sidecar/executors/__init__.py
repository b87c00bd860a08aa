"""Executors and the registry from a config's executor `type` to the class that runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent_sidecar.config import CommandExecutorConfig, ExecutorConfig, NoopExecutorConfig, OllamaExecutorConfig
from agent_sidecar.executors.base import ExecutionResult, Executor, OnChunk
from agent_sidecar.executors.command import CommandExecutor
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


__all__ = ["REGISTRY", "CommandExecutor", "ExecutionResult", "Executor", "NoopExecutor", "OllamaExecutor", "OnChunk", "build_executor"]
