"""Settings for test processes, and the environment that hands them to a child process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.proving.sandbox import free_port, private_settings

__all__ = ["broker_settings", "free_port", "settings_env"]


def broker_settings(run_dir: Path, **overrides: Any) -> Settings:
    """Settings for a broker of the tests' own: free ports, its own folders, a small heap."""
    return private_settings(run_dir, **({"broker_heap": "384m", "topic_partitions": 3} | overrides))


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment of a child process that should see exactly `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("EKTP_")}
    return env | settings.as_environment()
