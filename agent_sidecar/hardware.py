"""Host facts and utilisation: psutil always, NVIDIA GPUs through NVML when nvidia-ml-py and a driver are present."""

from __future__ import annotations

import logging
import socket
from collections import deque
from types import ModuleType
from typing import Any

import psutil

from core.events.agent import Gpu, Hardware
from core.messages import GpuSample

log = logging.getLogger(__name__)

_MB = 1024 * 1024


def _load_nvml() -> ModuleType | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception as err:  # pynvml.NVMLError: no driver, no GPU, container without the device
        log.info("NVML unavailable (%s): no GPU telemetry", err)
        return None
    return pynvml


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class GpuMonitor:
    """NVML handles opened once; empty lists when NVML or GPUs are absent."""

    def __init__(self) -> None:
        self._nvml = _load_nvml()
        self._handles: list[Any] = []
        if self._nvml is not None:
            try:
                count = self._nvml.nvmlDeviceGetCount()
                self._handles = [self._nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            except Exception as err:
                log.warning("NVML could not list GPUs: %s", err)

    def gpus(self) -> list[Gpu]:
        nvml, found = self._nvml, []
        for index, handle in enumerate(self._handles):
            try:
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)  # type: ignore[union-attr]
                name = _text(nvml.nvmlDeviceGetName(handle))  # type: ignore[union-attr]
            except Exception as err:
                log.warning("NVML could not describe GPU %d: %s", index, err)
                continue
            found.append(Gpu(index=index, name=name, memory_total_mb=int(memory.total) // _MB))
        return found

    def sample(self) -> list[GpuSample]:
        nvml, samples = self._nvml, []
        for index, handle in enumerate(self._handles):
            try:
                util = nvml.nvmlDeviceGetUtilizationRates(handle)  # type: ignore[union-attr]
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)  # type: ignore[union-attr]
            except Exception as err:
                log.debug("NVML sample of GPU %d failed: %s", index, err)
                continue
            samples.append(
                GpuSample(
                    index=index,
                    utilization_percent=float(util.gpu),
                    memory_used_mb=int(memory.used) // _MB,
                    memory_total_mb=int(memory.total) // _MB,
                )
            )
        return samples

    def close(self) -> None:
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                pass
            self._nvml = None
            self._handles = []


def detect_hardware(gpus: GpuMonitor) -> Hardware:
    return Hardware(
        hostname=socket.gethostname(),
        cpu_count=psutil.cpu_count(logical=True) or 0,
        memory_total_mb=psutil.virtual_memory().total // _MB,
        gpus=gpus.gpus(),
    )


class TokenRate:
    """Average tokens/s over the most recent runs that reported one."""

    def __init__(self, window: int = 20) -> None:
        self._recent: deque[float] = deque(maxlen=window)

    def record(self, metrics: dict[str, float]) -> None:
        rate = metrics.get("tokens_per_s")
        if rate is not None and rate > 0:
            self._recent.append(rate)

    @property
    def average(self) -> float:
        return sum(self._recent) / len(self._recent) if self._recent else 0.0


class ResponseTimes:
    """Mean executor run time (seconds) over the most recent runs."""

    def __init__(self, window: int = 20) -> None:
        self._recent: deque[float] = deque(maxlen=window)

    def record(self, seconds: float) -> None:
        self._recent.append(seconds)

    @property
    def average(self) -> float:
        return sum(self._recent) / len(self._recent) if self._recent else 0.0
