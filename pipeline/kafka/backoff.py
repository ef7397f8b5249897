"""Kafka clients back off between failed metadata updates, as Kafka's own clients do.

aiokafka asks the broker for fresh metadata whenever one of its loops finds a partition without a known
leader, and a failed update answers its waiters at once. While the broker is down (a restart, the office's
server failing), a connection is refused in microseconds, so a producer holding records for a partition whose
leader it lost asks again as fast as its event loop turns, each attempt logged as an error, for as long as the
broker is down: the process burns a core and floods its log, and starves the broker's own restart of CPU.

Kafka's Java clients wait `retry.backoff.ms` after a failed metadata update, growing to `retry.backoff.max.ms`
while the failures go on (KIP-580). `back_off_failed_metadata_updates` gives every aiokafka client of the
process the same rule: after a failed update it waits its own `retry_backoff_ms`, doubled at each further
failure up to `MAX_BACKOFF`, before its waiters hear of the failure; a successful update ends the backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.client import AIOKafkaClient

MAX_BACKOFF = 1.0  # seconds: Kafka's default retry.backoff.max.ms
_FAILURES = "_ektp_failed_metadata_updates"  # the client's count of failed updates in a row


def back_off_failed_metadata_updates() -> None:
    """Make every aiokafka client of this process wait between failed metadata updates. Idempotent."""
    update = AIOKafkaClient._metadata_update
    if getattr(update, "backs_off", False):
        return

    async def metadata_update_with_backoff(self: AIOKafkaClient, cluster_metadata: Any, topics: Any) -> bool:
        return await backing_off(self, lambda: update(self, cluster_metadata, topics))

    metadata_update_with_backoff.backs_off = True  # type: ignore[attr-defined]
    AIOKafkaClient._metadata_update = metadata_update_with_backoff


async def backing_off(
    client: Any, update: Callable[[], Awaitable[bool]], sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> bool:
    """Run one metadata update of `client`; after a failure, wait as its failures in a row call for, then answer."""
    updated = await update()
    if updated:
        setattr(client, _FAILURES, 0)
    else:
        failures = getattr(client, _FAILURES, 0) + 1
        setattr(client, _FAILURES, failures)
        await sleep(backoff_after(failures, client._retry_backoff))
    return updated


def backoff_after(failures: int, retry_backoff: float) -> float:
    """Seconds to wait after `failures` failed updates in a row: `retry_backoff`, doubling, at most `MAX_BACKOFF`.

    A client configured with a longer `retry_backoff` than `MAX_BACKOFF` keeps its own.
    """
    return float(min(max(MAX_BACKOFF, retry_backoff), retry_backoff * 2 ** min(failures - 1, 16)))
