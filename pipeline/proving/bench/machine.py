"""What the bench ran on, saved with every result: figures mean little without the machine."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from pipeline.config import Settings


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    """Total RAM in GiB, from /proc/meminfo (None when unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def kafka_version(settings: Settings) -> str | None:
    """The broker's version, from the name of its kafka-clients jar."""
    jars = sorted(settings.broker_libs_path.glob("kafka-clients-*.jar"))
    return jars[-1].name.removeprefix("kafka-clients-").removesuffix(".jar") if jars else None


def describe_machine(settings: Settings, *, workers: int) -> dict[str, Any]:
    """CPU model and count, RAM, OS, Python, Kafka version, partitions and worker processes."""
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "ram_gib": memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "kafka_version": kafka_version(settings),
        "partitions": settings.topic_partitions,
        "workers": workers,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }
