"""The pipeline's own figure: valid submissions in, cards collected, through the real worker and station.

The bench plays the recording desk (it sends the submissions, as the desk's role) and the pickup desk: for
every card announced on `ektp.pickup.ready` it presents the enrolled right thumb, as a citizen would (as the
pickup desk's role). It follows `ektp.request.status` (as `admin`: a measurement) until every request is
COLLECTED; throughput is requests over the time from the first send to the last COLLECTED, latencies come from
the status timelines (`latency.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from pydantic import BaseModel, ConfigDict, ValidationError

from events.enrollment import Finger
from events.pickup import CardReadyForPickup, PickupRequested
from events.status import RequestState, RequestStatus
from pipeline.config import Settings
from pipeline.desk.enroll import send_submissions
from pipeline.desk.pickup import PICKUP_ROLE, pickup_message
from pipeline.kafka.admin import partition_ids
from pipeline.kafka.security import ADMIN_ROLE, client_options
from pipeline.proving.bench.latency import latency_report, latency_to
from pipeline.proving.synthetic import GeneratedSubmission
from pipeline.topology.topics import PICKUP_READY, PICKUP_REQUESTED, REQUEST_STATUS

FETCH_RECORDS = 5000
PROGRESS_EVERY = 5.0  # seconds between progress lines


@dataclass(frozen=True)
class EndToEndBench:
    count: int
    collected: int
    seconds: float
    latency_ms: dict[str, float]
    steps_ms: dict[str, dict[str, float]]
    states: dict[str, int] = field(default_factory=dict)
    ready_ms: dict[str, float] = field(default_factory=dict)  # submitted -> READY_FOR_PICKUP

    @property
    def requests_per_second(self) -> float:
        return self.collected / self.seconds if self.seconds else 0.0


async def _follower(settings: Settings, topic: str, role: str) -> AIOKafkaConsumer:
    """A consumer of `role` of every partition of `topic` from its start, no group (the bench's topics are fresh)."""
    consumer = AIOKafkaConsumer(
        **client_options(settings, role), group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_bytes=50 * 1024 * 1024, client_id="ektp-bench",
    )
    await consumer.start()
    numbers = await partition_ids(settings, topic, role=role)
    partitions = [TopicPartition(topic, number) for number in numbers]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    return consumer


class _StateOf(BaseModel):
    """What the follower reads of every status as it comes: whose it is and its state."""

    model_config = ConfigDict(extra="ignore")

    request_id: str
    state: RequestState


class StatusFollower:
    """The latest status of each request the bench sent, and when the last of them was COLLECTED.

    A request's statuses come about eight times on its way, each with the timeline so far: the follower reads
    only the request and the state of each, keeps the latest one's bytes, and reads the timelines once, from
    the latest statuses, when the run is over (`statuses`). The bench's CPU is taken from the system it measures.
    """

    def __init__(self, request_ids: set[str]) -> None:
        self.request_ids = request_ids
        self.latest: dict[str, tuple[RequestState, bytes]] = {}  # by request: the latest status's state and bytes
        self.collected: set[str] = set()
        self.all_collected = asyncio.Event()
        self.last_collected_at = 0.0  # time.perf_counter()

    async def follow(self, consumer: AIOKafkaConsumer) -> None:
        while not self.all_collected.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=FETCH_RECORDS)
            for record in (record for records in batches.values() for record in records):
                self._take(record.key, record.value)

    def _take(self, key: bytes | None, value: bytes | None) -> None:
        if value is None or key is None or key.decode(errors="replace") not in self.request_ids:
            return
        with contextlib.suppress(ValidationError):
            status = _StateOf.model_validate_json(value)
            self.latest[status.request_id] = (status.state, value)
            if status.state == RequestState.COLLECTED and status.request_id not in self.collected:
                self.collected.add(status.request_id)
                self.last_collected_at = time.perf_counter()
                if len(self.collected) == len(self.request_ids):
                    self.all_collected.set()

    def statuses(self) -> list[RequestStatus]:
        """The latest status of each request, timeline and all (a status that does not read is left out)."""
        read: list[RequestStatus] = []
        for _state, value in self.latest.values():
            with contextlib.suppress(ValidationError):
                read.append(RequestStatus.model_validate_json(value))
        return read

    def states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for state, _value in self.latest.values():
            counts[state.value] = counts.get(state.value, 0) + 1
        return dict(sorted(counts.items()))


class AutoPickup:
    """The pickup desk: each card announced ready is collected with the enrolled right thumb, once."""

    def __init__(self, submissions: Sequence[GeneratedSubmission]) -> None:
        self.thumbs: dict[str, str] = {}
        for submission in submissions:
            document = submission.document()
            if submission.request_id and isinstance(document, dict):
                self.thumbs[submission.request_id] = document["biometrics"]["fingerprints"]["right_thumb"]
        self.presented: set[str] = set()

    async def serve(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=100, max_records=FETCH_RECORDS)
            pending = []
            for record in (record for records in batches.values() for record in records):
                found = self._request_for(record.value)
                if found is not None:
                    key, value = pickup_message(*found)
                    pending.append(await producer.send(PICKUP_REQUESTED.name, value, key=key))
            if pending:
                await asyncio.gather(*pending)

    def _request_for(self, value: bytes | None) -> tuple[PickupRequested, str] | None:
        if value is None:
            return None
        try:
            ready = CardReadyForPickup.model_validate_json(value)
        except ValidationError:
            return None
        thumb = self.thumbs.get(ready.request_id)
        if thumb is None or ready.request_id in self.presented:
            return None
        self.presented.add(ready.request_id)
        request = PickupRequested(request_id=ready.request_id, finger=Finger.RIGHT_THUMB, fingerprint=thumb,
                                  desk_id="BENCH-01", requested_at=dt.datetime.now(dt.UTC))
        return request, ready.citizen_key


class SendClock:
    """Yields the submissions to the sender and notes the wall-clock time each one was handed over."""

    def __init__(self, submissions: Sequence[GeneratedSubmission]) -> None:
        self.submissions = submissions
        self.sent_at: dict[str, dt.datetime] = {}

    def __iter__(self) -> Iterator[GeneratedSubmission]:
        for submission in self.submissions:
            if submission.request_id:
                self.sent_at[submission.request_id] = dt.datetime.now(dt.UTC)
            yield submission


async def bench_end_to_end(
    settings: Settings, submissions: Sequence[GeneratedSubmission], *, timeout: float,
    rate: float | None = None, say: Callable[[str], None] = print,
) -> EndToEndBench:
    """Send `submissions` (all valid), collect every card, and time it; stops waiting after `timeout` seconds."""
    request_ids = {s.request_id for s in submissions if s.request_id}
    follower, pickup, clock = StatusFollower(request_ids), AutoPickup(submissions), SendClock(submissions)
    producer = AIOKafkaProducer(**client_options(settings, PICKUP_ROLE), acks="all", enable_idempotence=True,
                                linger_ms=5, max_batch_size=256 * 1024, client_id="ektp-bench-pickup")
    status_consumer = await _follower(settings, REQUEST_STATUS.name, ADMIN_ROLE)
    ready_consumer = await _follower(settings, PICKUP_READY.name, PICKUP_ROLE)
    await producer.start()
    tasks = [asyncio.create_task(follower.follow(status_consumer)),
             asyncio.create_task(pickup.serve(ready_consumer, producer))]
    try:
        began = time.perf_counter()
        sent = await send_submissions(settings, clock, rate=rate)
        say(f"  sent {sent} submissions in {time.perf_counter() - began:.1f}s")
        await _until_collected(follower, began, timeout, say)
        took = (follower.last_collected_at or time.perf_counter()) - began
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for consumer in (status_consumer, ready_consumer):
            await consumer.stop()
        await producer.stop()
    statuses = follower.statuses()
    total, steps = latency_report(statuses, clock.sent_at)
    ready = latency_to(statuses, clock.sent_at, RequestState.READY_FOR_PICKUP)
    return EndToEndBench(count=len(request_ids), collected=len(follower.collected), seconds=took,
                         latency_ms=total, steps_ms=steps, states=follower.states(), ready_ms=ready)


async def _until_collected(follower: StatusFollower, began: float, timeout: float, say: Callable[[str], None]) -> None:
    """Wait for every request to be COLLECTED, saying how far it is every few seconds; give up at `timeout`."""
    deadline = began + timeout
    while not follower.all_collected.is_set():
        left = deadline - time.perf_counter()
        if left <= 0:
            say(f"  timed out after {timeout:.0f}s: {len(follower.collected)} of {len(follower.request_ids)} "
                f"collected; states {follower.states()}")
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(follower.all_collected.wait(), min(PROGRESS_EVERY, left))
        if not follower.all_collected.is_set():
            say(f"  {time.perf_counter() - began:.0f}s: {len(follower.collected)} collected; {follower.states()}")
