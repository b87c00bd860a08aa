"""The agent sidecar: the daemon on each GPU host that registers, heartbeats and runs dispatched tasks."""

from agent_sidecar.config import SidecarConfig, default_dev_config, load_config, parse_config
from agent_sidecar.service import Sidecar, run_sidecar, run_sidecar_with_config

__all__ = [
    "Sidecar",
    "SidecarConfig",
    "default_dev_config",
    "load_config",
    "parse_config",
    "run_sidecar",
    "run_sidecar_with_config",
]
