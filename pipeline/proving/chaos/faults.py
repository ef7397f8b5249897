"""The faults a chaos run injects into its private system, each logged with when it happened.

Faults are done to the real processes the way they happen in an office: the worker SIGKILLed (and started
again, as an operator or systemd would), the printing station SIGKILLed half-way through writing a card
(its own crash hook, `pipeline/station/crash.py`, so the kill lands mid-print rather than somewhere near),
the broker stopped and started, one node of a broker cluster SIGKILLed (a power cut) and started again, and
the link to central `down` or `hang` for a window (central-sim's admin API), and a recording desk cut off
from the broker while it goes on recording (its process pointed at an address where no broker answers, then
started again on the real one). The station is watched: whenever its process is gone, it is started again
without the hook.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace

from aiokafka.errors import KafkaError
from rich.console import Console

from pipeline.central.admin import call_outage_admin
from pipeline.desk.outbox import Outbox, outbox_path
from pipeline.desk.runner import desk_running
from pipeline.errors import EktpError
from pipeline.kafka.admin import replication_health
from pipeline.kafka.security import ADMIN_ROLE
from pipeline.processes.supervisor import Service
from pipeline.processes.system import DESK, services, worker_name
from pipeline.proving.sandbox import Sandbox, free_port
from pipeline.proving.synthetic import GeneratedSubmission

CENTRAL_FLAGS = ("--latency-ms", "5")
NODE_NOTICED_WITHIN = 60.0  # seconds for a cluster to notice a dead node (its session, 9 s by default), or to heal
DESK_DRAINED_WITHIN = 120.0  # seconds a desk back on the broker may take to send what it saved meanwhile


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
        if pid is None:  # it died by itself before its turn: that is the finding, so say how it ended
            raise EktpError(f"{name} is not running: nothing to kill; its log ends:\n"
                            f"{self.sandbox.supervisor.tail(name)}")
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

    @property
    def cluster(self) -> bool:
        """The sandbox's broker has several nodes, one of which can die while the others carry on."""
        return self.sandbox.nodes > 1

    async def kill_broker_node(self, node: int, during: Callable[[], Awaitable[object]]) -> None:
        """Once every partition is in sync, SIGKILL broker node `node` and, while it is down, run `during`; start
        the node again once the cluster has noticed (its partitions under-replicated, their leaders moved), and
        wait until it is back in sync.

        With acks=all and `min.insync.replicas` 2 of 3 replicas, writes go on with the node down, after a pause
        until the controller fences it (`broker.session.timeout.ms`, 9 s). The kill waits for a whole cluster:
        right after the broker restart some partitions have only their leader in sync, and a second loss would
        stop their writes by design, which is another fault than this one.
        """
        await self._until_under_replicated(lambda count: count == 0)  # a node of a whole cluster dies
        began = time.monotonic()
        pid = await asyncio.to_thread(self.sandbox.launcher.kill_node, node)
        await during()
        await self._until_under_replicated(lambda count: count > 0)
        noticed = time.monotonic() - began
        await asyncio.to_thread(self.sandbox.launcher.start)
        restarted = time.monotonic() - began
        await self._until_under_replicated(lambda count: count == 0)
        self.log.add("broker_node_sigkill", began, f"SIGKILL to broker node {node} (pid {pid}); its partitions "
                     f"under-replicated after {noticed:.1f}s, restarted after {restarted:.1f}s, in sync again")

    async def _until_under_replicated(self, holds: Callable[[int], bool]) -> None:
        deadline = time.monotonic() + NODE_NOTICED_WITHIN
        while time.monotonic() < deadline:
            with contextlib.suppress(KafkaError, OSError, TimeoutError):  # a node leaving or coming back may not answer
                if holds((await replication_health(self.settings, role=ADMIN_ROLE)).under_replicated):
                    return
            await asyncio.sleep(0.5)
        raise EktpError(f"the broker's under-replicated partitions did not change as expected within "
                        f"{NODE_NOTICED_WITHIN:g}s")

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

    # -- the recording desk

    async def desk_offline(self, seconds: float, recorded: list[GeneratedSubmission]) -> None:
        """Cut the desk off from the broker for `seconds` while it records `recorded`; then put it back and wait
        until it has sent them all.

        The desk process runs on an address where no broker answers (connection refused, as with the office's
        server down); the submissions go into its outbox as `ektp enroll --desk` saves them. Nothing may leave
        the desk meanwhile, and everything must leave it afterwards.
        """
        began = time.monotonic()
        offline = self.service("desk")
        offline = replace(offline, environment={**offline.environment,
                                                "EKTP_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"})
        await self.sandbox.supervisor.start(offline)
        path = outbox_path(self.settings.run_dir, DESK)
        with Outbox(path, DESK) as outbox:
            before = outbox.state().pending
            outbox.save((submission.key, submission.value) for submission in recorded)
            await asyncio.sleep(seconds)  # the window itself: the desk keeps retrying the unanswering address
            waiting = outbox.state().pending - before
        if waiting != len(recorded):
            raise EktpError(f"desk {DESK} sent {len(recorded) - waiting} submissions without a broker")
        await asyncio.to_thread(self.sandbox.supervisor.stop, "desk")
        await self.sandbox.supervisor.start(self.service("desk"))
        await self._until_desk_drained()
        self.log.add("desk_offline", began, f"desk {DESK} cut off from the broker for {seconds:g}s while it recorded "
                     f"{len(recorded)}; sent after it was back ({time.monotonic() - began:.1f}s in all)")

    async def _until_desk_drained(self) -> None:
        deadline = time.monotonic() + DESK_DRAINED_WITHIN
        with Outbox(outbox_path(self.settings.run_dir, DESK), DESK) as outbox:
            while outbox.state().pending:
                if time.monotonic() > deadline or not desk_running(self.settings.run_dir, DESK):
                    raise EktpError(f"desk {DESK} did not send its outbox within {DESK_DRAINED_WITHIN:g}s")
                await asyncio.sleep(0.2)  # the desk is another process: its outbox file is what there is to watch

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
