"""Settings for test processes, and the environment that hands them to a child process."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from pipeline.config import Settings


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def broker_settings(run_dir: Path, **overrides: Any) -> Settings:
    """Settings for a broker of the tests' own: free ports, its own folders, a small heap."""
    values: dict[str, Any] = {
        "kafka_port": free_port(),
        "broker_controller_port": free_port(),
        "run_dir": run_dir,
        "broker_heap": "384m",
        "topic_partitions": 3,
        # Every listener a test process may open is on a free port: never one a person's system uses.
        "worker_metrics_port": free_port(),
        "station_metrics_port": free_port(),
        "central_url": f"http://127.0.0.1:{free_port()}",
        "central_admin_url": f"http://127.0.0.1:{free_port()}",
    }
    values.update(overrides)
    return Settings(**values)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment of a child process that should see exactly `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("EKTP_")}
    return env | settings.as_environment()
