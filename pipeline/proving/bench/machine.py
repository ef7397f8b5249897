"""What the bench ran on, saved with every result: figures mean little without the machine."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.station.render import instant_png, write_card


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


PROBE_FILES = 200


def file_create_cpu_ms(folder: Path, count: int = PROBE_FILES) -> float:
    """CPU (user and kernel) to write one placeholder card into `folder` as the station writes each card (create,
    write, fsync, rename): the mean of `count`.

    On some file systems its cost depends on what was deleted in the last minutes (ext4 without a journal
    passes over recently freed inodes on every create), so a run reports what it met. The files stay in
    `folder`: deleting them would make the run's own creates dearer.
    """
    probe = folder / "file-create-probe"
    probe.mkdir(parents=True, exist_ok=True)
    placeholder = instant_png()
    began = time.process_time()
    for index in range(count):
        write_card(probe, f"probe-{index}", placeholder, sync_folder=False)
    return round((time.process_time() - began) * 1000 / count, 3)


def describe_machine(settings: Settings, *, workers: int) -> dict[str, Any]:
    """CPU model and count, RAM, OS, Python, Kafka version, partitions, worker processes, and what the load
    and the run's disk cost as it starts."""
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
        "file_create_cpu_ms_at_start": file_create_cpu_ms(settings.run_dir),
    }
