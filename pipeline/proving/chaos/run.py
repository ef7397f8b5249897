"""One chaos run: N requests through a private system while faults are injected, then the verdict.

The submissions go in six chunks with a fault after each, so every fault lands while requests are on their
way: central `down` (a chunk is sent during it), the recording desk cut off from the broker while it records
a chunk, the worker SIGKILLed once that chunk is being worked on, the broker restarted, on a cluster one
broker node SIGKILLed while a chunk is sent and worked on (and started again), central `hang`, and the
worker SIGKILLed again. The station is started with its crash hook set to kill it half-way through writing
a card about a third of the way into printing, and is started again when it dies. Citizens come for their
cards on their own (`AutoPickup`). Afterwards the run waits until every request is terminal (or the
timeout) and judges the invariants from the topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka.errors import KafkaError
from rich.console import Console

from events.common import WIB
from events.enrollment import Finger
from events.pickup import PickupRequested
from events.status import RequestState
from pipeline.config import Settings
from pipeline.desk.enroll import send_submissions
from pipeline.desk.pickup import PICKUP_ROLE, pickup_message
from pipeline.kafka.producing import RenewingProducer
from pipeline.kafka.security import ADMIN_ROLE, client_options
from pipeline.proving.chaos.evidence import gather
from pipeline.proving.chaos.faults import CENTRAL_FLAGS, FaultLog, Injector
from pipeline.proving.chaos.invariants import Verdict, judge
from pipeline.proving.sandbox import FAST_LINK, Sandbox
from pipeline.proving.synthetic import GeneratedSubmission, Kind, Mix, generate_submissions
from pipeline.station.inventory import restock
from pipeline.status.view import StatusView
from pipeline.topology.topics import PICKUP_REQUESTED
from processors.status import TERMINAL_STATES

CHUNKS = 6
REPRESENT_AFTER = 20.0  # seconds before a citizen whose card is still waiting presents the finger again


@dataclass(frozen=True)
class ChaosPlan:
    """What to run: how many submissions, from which seed, how long each central outage lasts."""

    count: int
    seed: int
    station: str = "TPI-01"
    workers: int = 1
    nodes: int = 1  # broker nodes; with more than one, a node is SIGKILLed too
    outage_seconds: float = 4.0
    timeout: float = 600.0  # seconds to wait, after the last fault, for every request to be terminal
    keep: bool = False  # keep the sandbox's folder (logs, journal, cards) for a look afterwards

    def mix(self) -> Mix:
        """About 1% malformed and 1% repeated submissions (at least one of each)."""
        share = max(1, round(self.count / 100))
        return Mix(malformed=share, repeated=share)


@dataclass(frozen=True)
class ChaosResult:
    verdict: Verdict
    faults: list[dict[str, object]]
    fault_kinds: list[str]
    duration_s: float
    timed_out: bool
    folder: str | None
    workers: int = 1
    nodes: int = 1

    @property
    def failed(self) -> list[str]:
        """The invariants that do not hold, and `timed_out` when requests were still on their way."""
        return self.verdict.failed + (["timed_out"] if self.timed_out else [])

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_json(self) -> dict[str, object]:
        verdict = self.verdict
        return {
            "ok": self.ok, "failed": self.failed,
            "submitted": verdict.submitted, "requests": verdict.requests, "terminal": verdict.terminal,
            "lost": verdict.lost, "lost_examples": list(verdict.lost_examples),
            "double_printed": verdict.double_printed, "cards_printed": verdict.cards_printed,
            "unknown_card_files": verdict.unknown_card_files, "regressions": verdict.regressions,
            "regression_examples": list(verdict.regression_examples),
            "order_violations": verdict.order_violations, "dlq_pending": verdict.dlq_pending,
            "dlq_parked": verdict.dlq_parked, "final_states": dict(verdict.final_states),
            "faults": self.faults, "fault_kinds": self.fault_kinds, "duration_s": self.duration_s,
            "timed_out": self.timed_out, "folder": self.folder, "workers": self.workers, "nodes": self.nodes,
        }


async def run_chaos(plan: ChaosPlan, console: Console) -> ChaosResult:
    """Run the plan on a private system and judge it; the system is gone when this returns."""
    submissions = generate_submissions(plan.count, seed=plan.seed, today=dt.datetime.now(WIB).date(), mix=plan.mix())
    sandbox = Sandbox(station=plan.station, central_flags=CENTRAL_FLAGS, only=("central-sim", "worker"),
                      workers=plan.workers, nodes=plan.nodes, keep=plan.keep, **FAST_LINK, dlq_max_attempts=5)
    console.print(f"chaos: {len(submissions)} submissions (seed {plan.seed}), {plan.workers} worker(s), "
                  f"{plan.nodes} broker node(s); starting a private system in {sandbox.folder}")
    started = time.monotonic()
    async with sandbox as settings:
        log = FaultLog(console, started)
        injector = Injector(sandbox, log)
        crash_at = f"mid_render:{max(2, _plain_count(submissions) // 3)}"
        await injector.start_station(crash_at)
        stock = await restock(settings, plan.station, plan.count + 20)
        console.print(f"station {plan.station} restocked: {stock.blank_stock} blanks; it will crash at {crash_at}")
        view = StatusView(settings, ADMIN_ROLE)  # the run's own watch, not a party of the pipeline
        await view.start()
        helpers = [
            asyncio.create_task(injector.watch_station(crash_at)),
            asyncio.create_task(AutoPickup(settings, view, submissions).run()),
            asyncio.create_task(_progress(console, view, submissions, log)),
        ]
        try:
            await _script(injector, settings, view, submissions, plan.outage_seconds)
            timed_out = not await _until_terminal(view, submissions, plan.timeout)
            injector.stopping()
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await view.stop()
        console.print("judging the invariants from the topics")
        verdict = judge(submissions, await gather(settings, plan.station))
    return ChaosResult(
        verdict=verdict, faults=[fault.as_json() for fault in log.faults], fault_kinds=log.kinds,
        duration_s=round(time.monotonic() - started, 1), timed_out=timed_out,
        folder=str(sandbox.folder) if plan.keep else None, workers=plan.workers, nodes=plan.nodes,
    )


async def _script(
    injector: Injector, settings: Settings, view: StatusView, submissions: list[GeneratedSubmission],
    outage_seconds: float,
) -> None:
    """The chunks of submissions, each followed by its fault."""
    chunks = _chunks(submissions, CHUNKS)
    await send_submissions(settings, chunks[0])
    await injector.central_outage("down", outage_seconds, during=lambda: send_submissions(settings, chunks[1]))
    await injector.desk_offline(outage_seconds, chunks[2])
    await _until_worked_on(view, chunks[2])
    await injector.kill_worker(1)
    await send_submissions(settings, chunks[3])
    await _until_worked_on(view, chunks[3])
    await injector.restart_broker()
    if injector.cluster:  # a node dies while the next chunk is sent and worked on; the others carry it
        await injector.kill_broker_node(1, during=lambda: _sent_and_worked_on(settings, view, chunks[4]))
    else:
        await send_submissions(settings, chunks[4])
    await injector.central_outage("hang", outage_seconds)
    await send_submissions(settings, chunks[5])
    await _until_worked_on(view, chunks[5])
    await injector.kill_worker(2)


async def _sent_and_worked_on(settings: Settings, view: StatusView, chunk: Sequence[GeneratedSubmission]) -> None:
    await send_submissions(settings, chunk)
    await _until_worked_on(view, chunk)


def _chunks(submissions: Sequence[GeneratedSubmission], count: int) -> list[list[GeneratedSubmission]]:
    size = -(-len(submissions) // count)
    return [list(submissions[start : start + size]) for start in range(0, size * count, size)]


def _plain_count(submissions: Sequence[GeneratedSubmission]) -> int:
    return sum(1 for submission in submissions if submission.kind == Kind.VALID)


def _tracked(submissions: Sequence[GeneratedSubmission]) -> set[str]:
    """The request ids that must reach a terminal status (malformed ones are checked as rejections)."""
    return {s.request_id for s in submissions if s.request_id and s.kind != Kind.MALFORMED}


async def _until_worked_on(view: StatusView, chunk: Sequence[GeneratedSubmission], timeout: float = 20.0) -> None:
    """Until the pipeline has taken up part of `chunk` (some request has a status), so a kill lands mid-work."""
    ids = _tracked(chunk)
    deadline = time.monotonic() + timeout
    while not any(view.state_of(request_id) is not None for request_id in ids):
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.1)


async def _until_terminal(view: StatusView, submissions: Sequence[GeneratedSubmission], timeout: float) -> bool:
    """Wait until every tracked request is terminal; False when `timeout` passed first."""
    ids = _tracked(submissions)
    deadline = time.monotonic() + timeout
    while any(view.state_of(request_id) not in TERMINAL_STATES for request_id in ids):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.5)
    return True


async def _progress(console: Console, view: StatusView, submissions: Sequence[GeneratedSubmission],
                    log: FaultLog) -> None:
    ids = _tracked(submissions)
    shown = ""
    while True:
        states = view.states(ids)
        summary = ", ".join(f"{state.value} {count}" for state, count in sorted(states.items()))
        if summary != shown:
            console.print(f"  {log.since_start():7.1f}s  {summary}")
            shown = summary
        await asyncio.sleep(2.0)


class AutoPickup:
    """Citizens who come for their card as soon as it is ready, pressing the right (enrolled) thumb."""

    def __init__(self, settings: Settings, view: StatusView, submissions: Sequence[GeneratedSubmission]) -> None:
        self.settings = settings
        self.view = view
        self.thumbs = {s.request_id: s.document()["biometrics"]["fingerprints"]["right_thumb"]
                       for s in submissions if s.request_id and s.kind == Kind.VALID}
        self.presented: dict[str, float] = {}

    def due(self) -> list[str]:
        """Requests whose card waits and whose citizen has not come yet (or came long ago, to no effect)."""
        now = time.monotonic()
        return [request_id for request_id in self.thumbs
                if self.view.state_of(request_id) == RequestState.READY_FOR_PICKUP
                and now - self.presented.get(request_id, -REPRESENT_AFTER) >= REPRESENT_AFTER]

    async def run(self) -> None:
        producer = RenewingProducer(client_options(self.settings, PICKUP_ROLE))
        await producer.start()
        try:
            while True:
                with contextlib.suppress(KafkaError):  # the broker restarts: they come back on the next round
                    await self.present(producer, self.due())
                await asyncio.sleep(0.5)
        finally:
            await producer.stop()

    async def present(self, producer: RenewingProducer, request_ids: list[str]) -> None:
        sent = []
        for request_id in request_ids:
            request = PickupRequested(request_id=request_id, finger=Finger.RIGHT_THUMB,
                                      fingerprint=self.thumbs[request_id], desk_id="AMBIL-CHAOS",
                                      requested_at=dt.datetime.now(dt.UTC))
            status = self.view.latest[request_id]
            key, value = pickup_message(request, status.citizen_key or "")
            sent.append((PICKUP_REQUESTED.name, key, value))
        await producer.send_all(sent)
        now = time.monotonic()
        self.presented.update(dict.fromkeys(request_ids, now))
