"""The faults a chaos run injects into its private system, each logged with when it happened.

Faults are done to the real processes the way they happen in an office: the worker SIGKILLed (and started
again, as an operator or systemd would), the printing station SIGKILLed half-way through writing a card
(its own crash hook, `pipeline/station/crash.py`, so the kill lands mid-print rather than somewhere near),
the broker stopped and started, and the link to central `down` or `hang` for a window (central-sim's admin
API). The station is watched: whenever its process is gone, it is started again without the hook.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from rich.console import Console

from pipeline.central.admin import call_outage_admin
from pipeline.errors import EktpError
from pipeline.processes.supervisor import Service
from pipeline.processes.system import services, worker_name
from pipeline.proving.sandbox import Sandbox

CENTRAL_FLAGS = ("--latency-ms", "5")


@dataclass(frozen=True)
class Fault:
    """One fault: its kind, when it began (seconds since the run started), how long until it was over."""

    kind: str
    at_s: float
    took_s: float
    detail: str

    def as_json(self) -> dict[str, object]:
        return asdict(self)


class FaultLog:
    """The faults of one run, in the order they began."""

    def __init__(self, console: Console, started: float) -> None:
        self.console = console
        self.started = started
        self.faults: list[Fault] = []

    def since_start(self, moment: float | None = None) -> float:
        return round((time.monotonic() if moment is None else moment) - self.started, 2)

    def add(self, kind: str, began: float, detail: str) -> Fault:
        fault = Fault(kind, self.since_start(began), round(time.monotonic() - began, 2), detail)
        self.faults.append(fault)
        self.console.print(f"[bold yellow]fault[/] {fault.at_s:7.1f}s {kind}: {detail} (over in {fault.took_s}s)")
        return fault

    @property
    def kinds(self) -> list[str]:
        return sorted({fault.kind for fault in self.faults})


class Injector:
    """Does the faults to a running `Sandbox` (its supervisor, launcher and settings) and logs them."""

    def __init__(self, sandbox: Sandbox, log: FaultLog) -> None:
        self.sandbox = sandbox
        self.settings = sandbox.settings
        self.log = log
        self._station_stopping = False

    def service(self, name: str) -> Service:
        """The service `name` as `ektp up` would start it in this sandbox."""
        listed = services(self.settings, station=self.sandbox.station, central_flags=CENTRAL_FLAGS,
                          workers=self.sandbox.workers)
        return next(service for service in listed if service.name == name)

    async def kill_worker(self, number: int) -> None:
        """SIGKILL a worker (with several, each in turn), then start it again and wait until it answers.

        With several workers the others take over its partitions meanwhile, after its session times out.
        """
        began = time.monotonic()
        name = worker_name((number - 1) % self.sandbox.workers + 1)
        pid = self.sandbox.supervisor.pid_of(name)
        if pid is None:
            raise EktpError(f"{name} is not running: nothing to kill")
        os.kill(pid, signal.SIGKILL)
        await asyncio.to_thread(self.sandbox.supervisor.stop, name)  # reaps it; it is dead already
        await self.sandbox.supervisor.start(self.service(name))
        self.log.add("worker_sigkill", began, f"SIGKILL #{number} to {name} (pid {pid}); restarted")

    async def restart_broker(self) -> None:
        """Stop the broker (SIGTERM, as a host reboot would) and start it again on the same data."""
        began = time.monotonic()
        await asyncio.to_thread(self.sandbox.launcher.stop)
        await asyncio.to_thread(self.sandbox.launcher.start)
        self.log.add("broker_restart", began, "stopped and started on its data")

    async def central_outage(self, mode: str, seconds: float, during: Callable[[], object] | None = None) -> None:
        """Put the link to central in `mode` for `seconds` (central-sim ends it by itself), and wait it out."""
        began = time.monotonic()
        await call_outage_admin(self.settings, "POST", {"mode": mode, "for_seconds": seconds})
        if during is not None:
            awaited = during()
            if asyncio.iscoroutine(awaited):
                await awaited
        while (await call_outage_admin(self.settings, "GET")).get("mode") != "normal":  # noqa: ASYNC110 (polled)
            await asyncio.sleep(0.2)
        self.log.add(f"central_{mode}", began, f"central {mode} for {seconds:g}s")

    # -- the station

    async def start_station(self, crash_at: str | None) -> None:
        """Start the station; with `crash_at` (`<point>:<n>`) it SIGKILLs itself at that passage."""
        service = self.service("station")
        if crash_at:
            service = replace(service, environment={**service.environment, "EKTP_STATION_CRASH_AT": crash_at})
        await self.sandbox.supervisor.start(service)

    async def watch_station(self, crash_at: str) -> None:
        """Restart the station whenever its process is gone; log the first death as the mid-print kill."""
        while True:
            await asyncio.sleep(0.2)
            if self._station_stopping or self.sandbox.supervisor.pid_of("station") is not None:
                continue
            began = time.monotonic()
            await asyncio.to_thread(self.sandbox.supervisor.stop, "station")  # reap it
            await self._restart_station()
            self.log.add("station_sigkill_mid_print", began, f"killed itself at {crash_at}; restarted")

    async def _restart_station(self) -> None:
        for _attempt in range(20):  # the broker may be restarting right now
            with contextlib.suppress(EktpError):
                await self.start_station(None)
                return
            await asyncio.to_thread(self.sandbox.supervisor.stop, "station")
        raise EktpError("the station did not come back after its crash")

    def stopping(self) -> None:
        """From now on a station that is gone was stopped on purpose."""
        self._station_stopping = True
