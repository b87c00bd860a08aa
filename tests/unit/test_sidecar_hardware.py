"""Hardware detection: psutil facts always; NVML through a stand-in module (no GPU on the test host)."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from agent_sidecar.hardware import GpuMonitor, TokenRate, detect_hardware

MB = 1024 * 1024


def fake_pynvml(*, init_fails: bool = False) -> types.ModuleType:
    module = types.ModuleType("pynvml")
    state: dict[str, Any] = {"shutdown": False}

    def init() -> None:
        if init_fails:
            raise RuntimeError("NVML Shared Library Not Found")

    module.nvmlInit = init  # type: ignore[attr-defined]
    module.nvmlShutdown = lambda: state.update(shutdown=True)  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    module.nvmlDeviceGetName = lambda h: b"NVIDIA H100" if h == 0 else "NVIDIA A100"  # type: ignore[attr-defined]
    module.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(  # type: ignore[attr-defined]
        total=80 * 1024 * MB, used=(h + 1) * 1024 * MB
    )
    module.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=40 + h)  # type: ignore[attr-defined]
    module.state = state  # type: ignore[attr-defined]
    return module


def test_gpus_from_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    module = fake_pynvml()
    monkeypatch.setitem(sys.modules, "pynvml", module)
    monitor = GpuMonitor()
    hardware = detect_hardware(monitor)
    assert [(g.index, g.name, g.memory_total_mb) for g in hardware.gpus] == [
        (0, "NVIDIA H100", 81920), (1, "NVIDIA A100", 81920)
    ]
    assert hardware.cpu_count > 0 and hardware.memory_total_mb > 0 and hardware.hostname
    samples = monitor.sample()
    assert [(s.index, s.utilization_percent, s.memory_used_mb) for s in samples] == [(0, 40.0, 1024), (1, 41.0, 2048)]
    monitor.close()
    assert module.state["shutdown"] and monitor.sample() == []  # type: ignore[attr-defined]


def test_no_driver_means_no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(init_fails=True))
    monitor = GpuMonitor()
    assert monitor.gpus() == [] and monitor.sample() == []


def test_token_rate_averages_recent_runs() -> None:
    rate = TokenRate(window=2)
    assert rate.average == 0.0
    for metrics in ({"tokens_per_s": 10.0}, {}, {"tokens_per_s": 20.0}, {"tokens_per_s": 40.0}):
        rate.record(metrics)
    assert rate.average == 30.0
