"""Failed metadata updates are spaced out: a real aiokafka client whose broker refuses every connection."""

from __future__ import annotations

import asyncio
import itertools
import socket

import pytest
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.metadata import MetadataResponse_v0

from pipeline.kafka.backoff import MAX_BACKOFF, back_off_failed_metadata_updates, backing_off, backoff_after

CLOCK_SLACK = 0.002  # seconds an asyncio timer may fire before its due time


def refused_port() -> int:
    """A local port nothing listens on: bound, then closed, so a connection to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_the_wait_doubles_from_the_clients_backoff_up_to_the_maximum() -> None:
    assert [backoff_after(n, 0.1) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, MAX_BACKOFF, MAX_BACKOFF]
    assert backoff_after(1000, 0.1) == MAX_BACKOFF


def test_a_client_configured_to_wait_longer_keeps_its_own_wait() -> None:
    assert backoff_after(1, 2.5) == 2.5
    assert backoff_after(4, 2.5) == 2.5


def test_the_fix_is_applied_once() -> None:
    back_off_failed_metadata_updates()
    applied = AIOKafkaClient._metadata_update
    back_off_failed_metadata_updates()
    assert AIOKafkaClient._metadata_update is applied


@pytest.mark.asyncio
async def test_a_client_whose_broker_is_down_waits_longer_after_each_failed_update() -> None:
    """What aiokafka's producer does when it has lost a partition's leader: ask for metadata, and again."""
    back_off_failed_metadata_updates()
    port = refused_port()
    client = AIOKafkaClient(bootstrap_servers=f"127.0.0.1:{port}", retry_backoff_ms=20)
    client.cluster.update_metadata(MetadataResponse_v0(brokers=[(1, "127.0.0.1", port)], topics=[]))
    loop = asyncio.get_running_loop()
    client._sync_task = asyncio.create_task(client._md_synchronizer())
    try:
        answered: list[float] = [loop.time()]
        for _attempt in range(4):
            assert await client.force_metadata_update() is False
            answered.append(loop.time())
    finally:
        client._sync_task.cancel()
        await asyncio.gather(client._sync_task, return_exceptions=True)
        await client.close()
    waits = [later - earlier for earlier, later in itertools.pairwise(answered)]
    for failures, waited in enumerate(waits, start=1):
        assert waited >= backoff_after(failures, 0.02) - CLOCK_SLACK, waits


class Client:
    """What `backing_off` reads of a client: its configured backoff."""

    _retry_backoff = 0.1


@pytest.mark.asyncio
async def test_failures_in_a_row_wait_longer_and_a_success_starts_over() -> None:
    client, waits = Client(), []
    outcomes = iter([False, False, False, True, False, True, True])

    async def update() -> bool:
        return next(outcomes)

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    answers = [await backing_off(client, update, sleep) for _ in range(7)]

    assert answers == [False, False, False, True, False, True, True]
    assert waits == [0.1, 0.2, 0.4, 0.1]
