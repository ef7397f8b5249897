"""The lightning strike on the real system: the link to central goes down, then hangs; nothing is lost,
nothing is reordered, no card is printed twice, and the dead-letter stream drains once central is back."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer

from events.approval import ApprovalDecided, DeadLetterHeader
from events.common import WIB
from events.enrollment import EnrollmentRecorded, Finger, SubmissionValidated
from events.printing import CardPrinted, PrintRequested
from events.status import RequestState
from pipeline.config import Settings
from pipeline.dashboard.sources import DASHBOARD_ROLE
from pipeline.deadletter.replay import send_back
from pipeline.deadletter.view import DeadLetterView
from pipeline.desk.enroll import send_submissions
from pipeline.kafka.reading import read_topic
from pipeline.kafka.security import ADMIN_ROLE, client_options
from pipeline.proving.synthetic import generate_submissions
from pipeline.station.inventory import restock
from pipeline.topology.inbox import InboxKind, inbox_headers
from pipeline.topology.topics import (
    APPROVAL_DECIDED,
    CITIZEN_INBOX,
    PRINT_COMPLETED,
    PRINT_REQUESTED,
    REQUEST_STATUS,
)
from processors.intake import RawMessage, validate_submission
from tests.e2e.conftest import STATION
from tests.e2e.test_four_steps import present
from tests.support.outage import outage
from tests.support.processes import run_ektp
from tests.support.submissions import encode, fresh_resident
from tests.support.topics import Records, latest_statuses, read_until
from tests.support.waiting import wait_until_async

pytestmark = pytest.mark.e2e


async def until_states(settings: Settings, ids: set[str], states: set[RequestState], timeout: float = 120) -> None:
    def reached(records: Records) -> bool:
        now = latest_statuses(records)
        return all(request_id in now and now[request_id].state in states for request_id in ids)

    await read_until(settings, REQUEST_STATUS.name, reached, timeout=timeout)


def residents(count: int) -> list:  # type: ignore[type-arg]
    return generate_submissions(count, seed=random.randrange(2**31), today=dt.datetime.now(WIB).date())


def _async(fact: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return fact()

    return check


def records_of(records: Records, request_id: str) -> Records:
    return [r for r in records if EnrollmentRecorded.model_validate_json(r.value).request_id == request_id]


def tries_of(records: Records, request_id: str) -> int:
    """The most tries any dead-letter record of `request_id` among `records` says it took."""
    tries = [int(dict(r.headers).get(DeadLetterHeader.ATTEMPTS.value, b"0")) for r in records
             if EnrollmentRecorded.model_validate_json(r.value).request_id == request_id]
    return max(tries, default=0)


def dlq_stats(settings: Settings) -> dict[str, object]:
    shown = run_ektp("dlq", "stats", "--json", settings=settings)
    assert shown.returncode == 0, shown.stderr
    stats: dict[str, object] = json.loads(shown.stdout)
    return stats


async def test_the_lightning_strike_loses_nothing_and_prints_each_card_once(system: Settings) -> None:
    """down then hang mid-stream: waiting requests are AWAITING_CENTRAL; after the link returns all drain."""
    await restock(system, STATION, 200)
    before, during_down, during_hang = residents(10), residents(15), residents(15)
    await send_submissions(system, before)
    await outage(system, "down")
    await send_submissions(system, during_down)
    down_ids = {s.request_id or "" for s in during_down}
    await until_states(system, down_ids, {RequestState.AWAITING_CENTRAL})
    await outage(system, "hang")
    await send_submissions(system, during_hang)
    struck = down_ids | {s.request_id or "" for s in during_hang}
    await until_states(system, struck, {RequestState.AWAITING_CENTRAL})
    stats = dlq_stats(system)
    assert isinstance(stats["pending"], int)
    assert stats["pending"] >= len(struck)

    await outage(system, "clear")
    everyone = struck | {s.request_id or "" for s in before}
    await until_states(system, everyone, {RequestState.READY_FOR_PICKUP}, timeout=180)
    assert dlq_stats(system)["pending"] == 0

    submissions = [*before, *during_down, *during_hang]
    thumbs = [(s.request_id or "", s.document()["biometrics"]["fingerprints"]["right_thumb"]) for s in submissions]
    await present(system, [(request_id, Finger.RIGHT_THUMB, digest) for request_id, digest in thumbs])
    await until_states(system, everyone, {RequestState.COLLECTED})
    printed = await read_until(system, PRINT_COMPLETED.name, lambda rs: everyone <= {
        CardPrinted.model_validate_json(r.value).request_id for r in rs})
    serials: dict[str, set[str]] = defaultdict(set)
    for record in printed:
        card = CardPrinted.model_validate_json(record.value)
        serials[card.request_id].add(card.card_serial)
    assert {request_id: len(serials[request_id]) for request_id in everyone} == dict.fromkeys(everyone, 1)

    # Replaying the same records twice more changes nothing: no second decision, job or state change. The
    # operator replays them, as `ektp dlq replay` and the dashboard do.
    view = DeadLetterView(system, DASHBOARD_ROLE)
    await view.start()
    try:
        await view.caught_up()
        old = [view.dead_lettered[request_id] for request_id in struck]
    finally:
        await view.stop()
    assert view.pending() == []
    for _ in range(2):
        await send_back(system, old, role=DASHBOARD_ROLE)
    fresh = residents(1)  # a request after the replays: once it is through, so are they (same worker, in order)
    await send_submissions(system, fresh)
    marker = {fresh[0].request_id or ""}
    await until_states(system, marker, {RequestState.READY_FOR_PICKUP})
    decided = await read_topic(system, APPROVAL_DECIDED.name, role=ADMIN_ROLE)
    decisions = Counter(ApprovalDecided.model_validate_json(r.value).request_id for r in decided)
    assert {request_id: decisions[request_id] for request_id in struck} == dict.fromkeys(struck, 1)
    jobs = await read_topic(system, PRINT_REQUESTED.name, role=ADMIN_ROLE)
    job_counts = Counter(PrintRequested.model_validate_json(r.value).request_id for r in jobs)
    assert {request_id: job_counts[request_id] for request_id in struck} == dict.fromkeys(struck, 1)
    statuses = latest_statuses(await read_topic(system, REQUEST_STATUS.name, role=ADMIN_ROLE))
    assert {statuses[request_id].state for request_id in everyone} == {RequestState.COLLECTED}


def recorded_pair(settings: Settings) -> tuple[EnrollmentRecorded, EnrollmentRecorded]:
    """Two recorded requests of one citizen, as the intake would write them (a first, then a second)."""
    person = fresh_resident(random.Random())
    second = {**fresh_resident(random.Random()), "resident": person["resident"], "biometrics": person["biometrics"]}
    secret = settings.citizen_key_secret.get_secret_value().encode()
    events = []
    for document in (person, second):
        raw = RawMessage(None, encode(document), "test", 0, 0)
        validated = validate_submission(raw, secret=secret, now=dt.datetime.now(dt.UTC), max_bytes=65536)
        assert isinstance(validated, SubmissionValidated)
        events.append(EnrollmentRecorded(
            request_id=validated.request_id, citizen_key=validated.citizen_key, nik_masked=validated.nik_masked,
            office_code=validated.submission.office_code, request_type=validated.submission.request_type,
            area=validated.area, submission=validated.submission,
        ))
    return events[0], events[1]


async def test_a_citizens_later_request_never_overtakes_the_earlier_one(system: Settings) -> None:
    """Two records of one citizen during an outage: the second waits behind the first and is decided after it.

    The intake lets a citizen have one open request, so two records of one citizen reach approval together
    only as records sent back from the dead letters (a parked one replayed by hand, say): they are sent as such.
    """
    first, second = recorded_pair(system)
    await outage(system, "down")
    producer = AIOKafkaProducer(**client_options(system, DASHBOARD_ROLE), acks="all")  # an operator replays them
    await producer.start()
    try:
        for record in (first, second):
            await producer.send_and_wait(CITIZEN_INBOX.name, record.model_dump_json().encode(),
                                         key=record.citizen_key.encode(), headers=inbox_headers(InboxKind.REPLAY))
    finally:
        await producer.stop()
    pair = {first.request_id, second.request_id}
    await until_states(system, pair, {RequestState.AWAITING_CENTRAL})
    await outage(system, "clear")
    decided = await read_until(
        system, APPROVAL_DECIDED.name,
        lambda rs: pair <= {ApprovalDecided.model_validate_json(r.value).request_id for r in rs}, timeout=120,
    )
    order = [ApprovalDecided.model_validate_json(r.value).request_id for r in decided
             if ApprovalDecided.model_validate_json(r.value).request_id in pair]
    assert order == [first.request_id, second.request_id]
    offsets = {ApprovalDecided.model_validate_json(r.value).request_id: r.offset for r in decided
               if ApprovalDecided.model_validate_json(r.value).request_id in pair}
    assert offsets[first.request_id] < offsets[second.request_id]


async def test_a_record_that_keeps_failing_is_parked_and_replayed_by_hand(system: Settings) -> None:
    """A failing link: after its tries the record is PARKED; once central works, a manual replay finishes it."""
    await restock(system, STATION, 5)
    await outage(system, "flaky", error_rate=1.0)
    submission = residents(1)
    await send_submissions(system, submission)
    request_id = submission[0].request_id or ""
    await until_states(system, {request_id}, {RequestState.AWAITING_CENTRAL})
    # Each manual replay is one more try, unless the breaker is still open (that try never reached
    # central and does not count): replay until the third real try (dlq_max_attempts = 3) parks it. The test
    # only watches: it reads as the admin.
    view = DeadLetterView(system, ADMIN_ROLE)
    await view.start()
    try:
        await wait_until_async(_async(lambda: request_id in view.dead_lettered), timeout=60, what="dead-lettered")
        for _ in range(60):
            if request_id in view.parked_records:
                break
            before = view.dead_lettered[request_id].offset
            replayed = run_ektp("dlq", "replay", "--rate", "50", settings=system)
            assert replayed.returncode == 0, replayed.stderr
            def failed_again(before: int = before) -> bool:
                return request_id in view.parked_records or view.dead_lettered[request_id].offset > before

            await wait_until_async(_async(failed_again), timeout=60, what="the replayed try failed again")
    finally:
        await view.stop()
    assert view.parked_records[request_id].attempts == 3
    await until_states(system, {request_id}, {RequestState.PARKED})
    parked = dlq_stats(system)["parked"]
    assert isinstance(parked, int)
    assert parked >= 1
    await outage(system, "clear")
    by_hand = run_ektp("dlq", "replay", "--parked", "--rate", "50", settings=system)
    assert by_hand.returncode == 0, by_hand.stderr
    await until_states(system, {request_id}, {RequestState.READY_FOR_PICKUP})
