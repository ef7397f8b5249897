"""The worker's one table, `citizen_key_to_citizen`, and the locks that let two steps share it.

Two steps change a citizen's entry: recording and approval (`agents/enrollment.py`), and cards and pickup
(`agents/cards.py`). Both read topics keyed by citizen key with one partition count, so a citizen's entry and
every event about them are on the same worker. Each step changes an entry while holding that citizen's lock,
from reading it fresh to writing it back, so neither overwrites the other's change (the approval step's
waits on central happen before it takes its locks). What a step sends is flushed before its table writes:
a worker killed between the two reads the same events again and finds them not yet applied, and every step
after that is idempotent by request_id.

A rebalance takes partitions away while a step may be half through a batch. The writes a step has begun are
finished before the revocation goes on (`faust_fixes.finish_writes_before_revocation`), so the next owner
recovers them; a batch that reaches its writes once the revocation has begun, or after it, or that holds a
message fetched before the rebalance, writes nothing: its events were not committed, and the partitions' next
owner reads them again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

import faust
import orjson
from faust.types import TableT

from pipeline.topology.routes import CITIZEN_TABLE
from pipeline.worker import metrics
from pipeline.worker.agents.kafka_io import Output, changelog_spec, encode
from processors.citizen import Changed, Citizen


class CitizenTable:
    """citizen key -> `Citizen`, as JSON in a faust table whose changelog follows the citizen's partition.

    The table holds each entry as its encoded JSON (`value_type=bytes`, the changelog's own bytes), not as
    decoded dicts: a worker keeps every citizen of its partitions for good, and bytes are one object each that
    Python's garbage collector never walks, where a decoded entry is dozens that every full collection would
    walk again, over a heap that grows with the office's citizens.
    """

    def __init__(self, app: faust.App, partitions: int) -> None:
        self.app = app
        self.table: TableT[str, bytes] = app.Table(
            CITIZEN_TABLE, default=None, partitions=partitions, value_type=bytes,
            help="Per citizen: their requests, the approval's memory, recent statuses, cards to hand over",
        )
        self.changelog = Output(app, changelog_spec(self.table))
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # key -> its lock and how many hold or wait
        self.generation = 0  # one more at every revocation: a batch begun before it writes nothing after it
        self._revoking = False
        self._writers = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def get(self, citizen_key: str) -> Citizen:
        return Citizen.from_json(self.get_json(citizen_key))

    def get_json(self, citizen_key: str) -> dict[str, Any] | None:
        """The decoded entry, for a reader that needs one field of it and no model."""
        encoded = self.table.get(citizen_key)
        if encoded is None:
            return None
        value: dict[str, Any] = orjson.loads(encoded)
        return value

    async def put(self, citizen_key: str, citizen: Citizen, event: Any) -> None:
        """Write the entry, and send its changelog record to the partition of `event`, the citizen's.

        The record goes straight to the producer, as a step's records do (`Output`), not through faust's
        `send_soon` and its buffer, which a producer flush drains one record at a time: the changelog carries
        the same key and value faust would write, so recovery and the standby copies read it as before, and
        faust's commit flushes the producer, this record included, before it commits the batch's offsets.
        """
        value = orjson.dumps(citizen.to_json())
        self.table.data[citizen_key] = value
        await self.changelog.send(key=self._changelog_key(citizen_key), value=value, partition=event.message.partition)

    def _changelog_key(self, citizen_key: str) -> bytes | None:
        """The key as faust writes it to the changelog (its table's key serializer)."""
        table: Any = self.table  # faust's Table; TableT does not show its serializers
        return self.app.serializers.dumps_key(table.key_type, citizen_key, serializer=table.key_serializer)

    @contextlib.asynccontextmanager
    async def writing(self, since: int, events: Iterable[Any] = ()) -> AsyncIterator[bool]:
        """Whether a batch begun in generation `since` may write now; the revocation waits until it is done.

        A batch may also hold `events` fetched before the group's last rebalance: a batching agent keeps what it
        had taken when a rebalance is over within the time it waits for its batch to fill, and its partitions
        may now be another worker's. Such a batch writes nothing either.
        """
        if self._revoking or since != self.generation or self._fetched_before_rebalance(events):
            yield False
            return
        self._writers += 1
        self._idle.clear()
        try:
            yield True
        finally:
            self._writers -= 1
            if not self._writers:
                self._idle.set()

    def _fetched_before_rebalance(self, events: Iterable[Any]) -> bool:
        """Whether any of `events` was fetched in an earlier generation of the group than the current one."""
        current = self.app.consumer_generation_id
        return any(getattr(event.message, "generation_id", None) not in (None, current) for event in events)

    async def revoking(self) -> None:
        """A rebalance takes partitions away: no batch begins its writes any more; those begun are finished."""
        self._revoking = True
        self.generation += 1
        await self._idle.wait()

    def assigned(self) -> None:
        """The rebalance has given this worker its partitions: batches begun from now on write again."""
        self._revoking = False

    @contextlib.asynccontextmanager
    async def held(self, citizen_keys: Iterable[str]) -> AsyncIterator[None]:
        """Hold the locks of `citizen_keys`, taken in one order so that two steps never wait on each other."""
        keys = sorted(set(citizen_keys))
        locks = [self._enter(key) for key in keys]
        taken: list[asyncio.Lock] = []
        try:
            for lock in locks:
                await lock.acquire()
                taken.append(lock)
            yield
        finally:
            for lock in taken:
                lock.release()
            for key in keys:
                self._leave(key)

    def _enter(self, key: str) -> asyncio.Lock:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        return lock

    def _leave(self, key: str) -> None:
        lock, users = self._locks[key]
        if users == 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)


async def publish(changed: Changed, *, ready: Output, statuses: Output) -> None:
    """Send what a step changed: each card announced ready, and the last status of each request it moved."""
    for announcement in changed.ready:
        await ready.send(key=announcement.citizen_key.encode(), value=encode(announcement))
    for status in changed.statuses.values():
        await statuses.send(key=status.request_id.encode(), value=encode(status))
        metrics.STATUS_CHANGES.labels(status.state.value).inc()
