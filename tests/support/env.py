"""Settings for test processes, and the environment that hands them to a child process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.proving.sandbox import free_port, private_settings

__all__ = ["broker_settings", "free_port", "settings_env"]


def broker_settings(run_dir: Path, **overrides: Any) -> Settings:
    """Settings for a broker of the tests' own: free ports, its own folders, a small heap.

    The credentials and certificates folders are named, not derived, so that a test's copy of these settings
    with a run dir of its own still authenticates to this broker.
    """
    defaults = {"broker_heap": "384m", "topic_partitions": 3, "credentials_dir": run_dir / "credentials",
                "tls_dir": run_dir / "tls"}
    return private_settings(run_dir, **(defaults | overrides))


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment of a child process that should see exactly `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("EKTP_")}
    return env | settings.as_environment()
