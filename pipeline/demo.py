"""`ektp demo`: the pipeline as a new user sees it, residents recorded to cards collected.

Starts everything (`ektp up`), gives the station blank cards, records synthetic Tanjungpinang residents
(some invalid, some duplicates at central), waits for central and the printer, has the citizens collect
their cards (one presses the wrong finger first) and shows where every request ended.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.table import Table

from events.enrollment import Finger
from events.pickup import PickupRequested
from events.status import RequestState
from pipeline.config import Settings
from pipeline.enroll import send_submissions
from pipeline.station.inventory import restock
from pipeline.status_view import StatusView
from pipeline.synthetic import GeneratedSubmission, Mix, generate_submissions
from pipeline.topics import PICKUP_REQUESTED

WAITING = {RequestState.RECORDED, RequestState.SENT_FOR_ENROLLMENT, RequestState.PRINT_READY_RECORD,
           RequestState.PRINT_QUEUED, RequestState.WAITING_FOR_BLANKS, RequestState.PRINTED}
FINAL = {RequestState.REJECTED, RequestState.DUPLICATE_RECORD, RequestState.ADJUDICATE_RECORD,
         RequestState.ENROLL_FAILURE_AT_CENTRAL, RequestState.COLLECTED, RequestState.PARKED}


async def play(settings: Settings, console: Console, *, residents: int, station: str, timeout: float) -> Counter[str]:
    """Record `residents` people, wait for their cards, collect them; return the final states."""
    submissions = generate_submissions(
        residents, seed=int(time.time()), today=_today(),
        mix=Mix(invalid=2, malformed=1, repeated=1, duplicate_record=1, adjudicate=1, enroll_failure=1),
    )
    view = StatusView(settings)
    await view.start()
    try:
        event = await restock(settings.bootstrap_servers, station, residents + 10)
        console.print(f"station {station} restocked: +{residents + 10} blanks (stock {event.blank_stock})")
        # Sources first: central predicts a duplicate only after it has seen the original.
        first = [s for s in submissions if s.source_request_id is None]
        await send_submissions(settings, first)
        await send_submissions(settings, [s for s in submissions if s.source_request_id])
        console.print(f"recorded at the desk: {len(submissions)} submissions ({_kinds(submissions)})")
        ids = {s.request_id for s in submissions if s.request_id}
        await _wait(view, console, ids, timeout, until=lambda s: s not in WAITING)
        ready = [s for s in submissions
                 if s.request_id and view.state_of(s.request_id) == RequestState.READY_FOR_PICKUP]
        await _collect(settings, ready)
        await _wait(view, console, ids, timeout, until=lambda s: s in FINAL)
        return _final(view, ids, console)
    finally:
        await view.stop()


async def _collect(settings: Settings, ready: list[GeneratedSubmission]) -> None:
    """Each citizen presents the right thumb; the first presses the wrong finger first, and is refused."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for number, submission in enumerate(ready):
            fingers = submission.document()["biometrics"]["fingerprints"]
            presses = [(Finger.RIGHT_THUMB, fingers["left_thumb"])] if number == 0 else []
            presses.append((Finger.RIGHT_THUMB, fingers["right_thumb"]))
            for finger, digest in presses:
                request = PickupRequested(request_id=submission.request_id or "", finger=finger, fingerprint=digest,
                                          desk_id="AMBIL-01", requested_at=dt.datetime.now(dt.UTC))
                await producer.send_and_wait(PICKUP_REQUESTED.name, request.model_dump_json().encode(),
                                             key=request.request_id.encode())
    finally:
        await producer.stop()


async def _wait(
    view: StatusView, console: Console, ids: set[str], timeout: float, *, until: Callable[[RequestState], bool]
) -> None:
    """Print the states as they change until every request satisfies `until`, or the time is up."""
    deadline = time.monotonic() + timeout
    shown = ""
    while True:
        states = [view.state_of(request_id) for request_id in ids]
        summary = ", ".join(f"{state.value} {count}" for state, count in sorted(view.states(ids).items()))
        if summary != shown:
            console.print(f"  {summary}")
            shown = summary
        if all(state is not None and until(state) for state in states) or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.5)


def _final(view: StatusView, ids: Iterable[str], console: Console) -> Counter[str]:
    table = Table("request", "NIK", "state", "what it means for the citizen")
    counts: Counter[str] = Counter()
    for request_id in sorted(ids):
        status = view.latest.get(request_id)
        if status is None:
            continue
        counts[status.state.value] += 1
        table.add_row(request_id[:8], status.nik_masked or "-", status.state.value, status.explanation_en)
    console.print(table)
    return counts


def _kinds(submissions: list[GeneratedSubmission]) -> str:
    kinds = Counter(s.kind.value for s in submissions)
    return ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).date()

