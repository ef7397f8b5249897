"""The chaos run's faults: what it says when a process it means to kill is already gone."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import cast

import pytest
from rich.console import Console

from pipeline.errors import EktpError
from pipeline.proving.chaos.faults import FaultLog, Injector
from pipeline.proving.sandbox import Sandbox


class GoneSupervisor:
    """A supervisor whose worker-2 died by itself, leaving its log."""

    def pid_of(self, name: str) -> int | None:
        return None

    def tail(self, name: str, lines: int = 25) -> str:
        return f"{name}: Traceback (most recent call last): ... KafkaError"


async def test_a_worker_dead_before_its_kill_is_reported_with_the_end_of_its_log() -> None:
    """The second SIGKILL of a two-worker run finds worker-2 gone: the error names it and quotes its log."""
    sandbox = cast(Sandbox, SimpleNamespace(settings=None, workers=2, supervisor=GoneSupervisor()))
    injector = Injector(sandbox, FaultLog(Console(quiet=True), time.monotonic()))
    with pytest.raises(EktpError) as raised:
        await injector.kill_worker(2)
    message = str(raised.value)
    assert message.startswith("worker-2 is not running: nothing to kill; its log ends:")
    assert "worker-2: Traceback (most recent call last): ... KafkaError" in message
