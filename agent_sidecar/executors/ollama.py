"""Streams a completion from Ollama's /api/generate (NDJSON) and measures tokens per second."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
import orjson

from agent_sidecar.config import OllamaExecutorConfig
from agent_sidecar.executors import http11
from agent_sidecar.executors.base import ExecutionResult, OnChunk
from core.messages import Dispatch

log = logging.getLogger(__name__)

_NS = 1e9
# A heartbeat's probe of the model server gives up after this long (it runs every few seconds).
PROBE_TIMEOUT_S = 2.0


class _Line(msgspec.Struct, kw_only=True):
    """One NDJSON line of a streaming generate response (only the fields we use)."""

    response: str = ""
    done: bool = False
    error: str | None = None
    eval_count: int | None = None
    eval_duration: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration: int | None = None
    total_duration: int | None = None
    load_duration: int | None = None


_line_decoder = msgspec.json.Decoder(_Line)


def generation_metrics(final: _Line) -> dict[str, float]:
    metrics: dict[str, float] = {}
    if final.eval_count is not None:
        metrics["eval_count"] = float(final.eval_count)
    if final.prompt_eval_count is not None:
        metrics["prompt_eval_count"] = float(final.prompt_eval_count)
    for field in ("total_duration", "load_duration", "eval_duration", "prompt_eval_duration"):
        value = getattr(final, field)
        if value is not None:
            metrics[f"{field}_s"] = value / _NS
    if final.eval_count and final.eval_duration:
        metrics["tokens_per_s"] = final.eval_count / (final.eval_duration / _NS)
    return metrics


class _Loaded(msgspec.Struct):
    name: str


class _Running(msgspec.Struct):
    models: list[_Loaded] = []


_running_decoder = msgspec.json.Decoder(_Running)


class OllamaExecutor:
    name = "ollama"

    def __init__(self, config: OllamaExecutorConfig) -> None:
        self.config = config
        # What the last probe found loaded (GET /api/ps), for the heartbeat: placement prefers these models.
        self.loaded_models: list[str] = []

    def request_body(self, job: Dispatch) -> dict[str, Any] | None:
        model = job.model or self.config.default_model
        if not model:
            return None
        options = dict(self.config.options)
        task_options = job.payload.get("options")
        if isinstance(task_options, dict):
            options.update(task_options)
        body: dict[str, Any] = {"model": model, "prompt": job.prompt, "stream": True}
        if options:
            body["options"] = options
        return body

    async def probe(self) -> str | None:
        """The model server's health for the heartbeat: None when GET /api/ps answers 200 (it also says which
        models are loaded, kept in `loaded_models`), else why not."""
        url = self.config.url.rstrip("/") + "/api/ps"
        try:
            response = await asyncio.wait_for(
                http11.request("GET", url, b"", connect_timeout=self.config.connect_timeout_s), PROBE_TIMEOUT_S)
            async with response:
                body = await asyncio.wait_for(response.read(), PROBE_TIMEOUT_S)
                if response.status != 200:
                    return f"ollama HTTP {response.status} on /api/ps"
        except (OSError, TimeoutError, http11.HttpError) as err:
            return f"cannot reach ollama at {self.config.url}: {err or type(err).__name__}"
        try:
            self.loaded_models = [m.name for m in _running_decoder.decode(body).models]
        except msgspec.DecodeError:
            self.loaded_models = []  # an answer we cannot read: up, but no affinity claimed
        return None

    async def run(self, job: Dispatch, on_chunk: OnChunk | None) -> ExecutionResult:
        body = self.request_body(job)
        if body is None:
            return ExecutionResult.failure("task names no model and the ollama executor has no default_model",
                                           retryable=False)
        url = self.config.url.rstrip("/") + "/api/generate"
        try:
            response = await http11.request(
                "POST", url, orjson.dumps(body), headers={"Content-Type": "application/json"},
                connect_timeout=self.config.connect_timeout_s,
            )
        except (OSError, TimeoutError) as err:
            return ExecutionResult.failure(f"cannot reach ollama at {self.config.url}: {err or type(err).__name__}",
                                           retryable=True)
        async with response:
            if response.status != 200:
                return await _http_failure(response)
            return await self._stream(response, on_chunk)

    async def _stream(self, response: http11.Response, on_chunk: OnChunk | None) -> ExecutionResult:
        pieces: list[str] = []
        try:
            async for raw in response.iter_lines():
                if not raw.strip():
                    continue
                line = _line_decoder.decode(raw)
                if line.error:
                    return ExecutionResult.failure(f"ollama: {line.error}", retryable=True, output="".join(pieces))
                if line.response:
                    pieces.append(line.response)
                    if on_chunk is not None:
                        await on_chunk(line.response)
                if line.done:
                    return ExecutionResult.success("".join(pieces), metrics=generation_metrics(line))
        except (OSError, http11.HttpError, msgspec.DecodeError) as err:
            return ExecutionResult.failure(f"ollama stream broke: {err}", retryable=True, output="".join(pieces))
        return ExecutionResult.failure("ollama stream ended before done", retryable=True, output="".join(pieces))


async def _http_failure(response: http11.Response) -> ExecutionResult:
    try:
        text = (await response.read()).decode("utf-8", errors="replace")
    except (OSError, http11.HttpError):
        text = ""
    message = text.strip()
    try:
        decoded = orjson.loads(text)
        if isinstance(decoded, dict) and isinstance(decoded.get("error"), str):
            message = decoded["error"]
    except orjson.JSONDecodeError:
        pass
    # 4xx: the request itself is wrong (unknown model) and will be wrong on any retry; 5xx may pass.
    retryable = response.status >= 500
    return ExecutionResult.failure(f"ollama HTTP {response.status}: {message or response.reason}", retryable=retryable)
