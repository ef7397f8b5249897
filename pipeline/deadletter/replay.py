"""Sending dead-lettered (or parked) records back to the citizen's inbox for another try.

The record goes back as it came (key, value, headers), marked as a replay: the approval step reads the tries
so far from the headers, keeps the citizen's order, and asks central only for what it has not decided.
Replaying the same records twice is harmless.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaProducer

from events.approval import DeadLetterHeader as H
from pipeline.config import Settings
from pipeline.deadletter.view import DeadLetterEntry
from pipeline.kafka.security import client_options
from pipeline.topology.inbox import InboxKind, inbox_headers
from pipeline.topology.topics import CITIZEN_INBOX


async def send_back(
    settings: Settings,
    entries: Sequence[DeadLetterEntry],
    *,
    role: str,
    rate: float | None = None,
    fresh_start: bool = False,
    on_sent: Callable[[DeadLetterEntry], None] | None = None,
) -> int:
    """Send `entries` back as `role`, at most `rate` a second; `fresh_start` (parked records) counts tries anew.

    `role` writes the citizen's inbox: the worker's automatic replay, or an operator's (`ektp dlq replay`, the
    dashboard).
    """
    producer = AIOKafkaProducer(**client_options(settings, role), acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    began = time.monotonic()
    try:
        for number, entry in enumerate(entries):
            if rate:
                ahead = began + number / rate - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            await producer.send(CITIZEN_INBOX.name, entry.value, key=entry.key,
                                headers=replay_headers(entry, fresh_start=fresh_start))
            if on_sent is not None:
                on_sent(entry)
        await producer.flush()
    finally:
        await producer.stop()
    return len(entries)


def replay_headers(entry: DeadLetterEntry, *, fresh_start: bool) -> list[tuple[str, bytes]]:
    """The record's headers, stamped with the replay (and with its tries reset for a parked record)."""
    headers = [(key, value) for key, value in entry.headers if key != H.REPLAYED_AT.value]
    if fresh_start:
        headers = [(key, b"0" if key == H.ATTEMPTS.value else value) for key, value in headers]
    replayed_at = (H.REPLAYED_AT.value, dt.datetime.now(dt.UTC).isoformat().encode())
    return inbox_headers(InboxKind.REPLAY, [*headers, replayed_at])
