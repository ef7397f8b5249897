"""A producer whose idempotent sequence broke starts over with a new producer id, and nothing else makes it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError, OutOfOrderSequenceNumber

from pipeline.kafka.producing import RenewingProducer


class FakeProducer:
    """An aiokafka producer that acknowledges every send, or fails each with `failure`."""

    def __init__(self, failure: type[Exception] | None) -> None:
        self.failure = failure
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic: str, value: bytes | None, *, key: bytes | None) -> asyncio.Future[None]:
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.failure is None:
            self.sent.append((topic, key, value))
            acked.set_result(None)
        else:
            acked.set_exception(self.failure())
        return acked


class Producers(RenewingProducer):
    """A `RenewingProducer` over fake producers, one per start, failing as told."""

    def __init__(self, *failures: type[Exception] | None) -> None:
        super().__init__({"bootstrap_servers": "127.0.0.1:1"})
        self.failures = list(failures)
        self.made: list[FakeProducer] = []

    def _new_producer(self) -> Any:
        self.made.append(FakeProducer(self.failures.pop(0) if self.failures else None))
        return self.made[-1]


async def test_a_broken_sequence_is_raised_once_and_the_next_send_goes_through_a_new_producer() -> None:
    """aiokafka never resets its producer id: after OutOfOrderSequenceNumber the old producer would fail for ever."""
    producers = Producers(OutOfOrderSequenceNumber)
    await producers.start()
    message = ("ektp.print.completed", b"citizen", b"card")

    with pytest.raises(OutOfOrderSequenceNumber):
        await producers.send_all([message])
    await producers.send_all([message])

    first, second = producers.made
    assert first.stopped
    assert second.started
    assert second.sent == [message]
    assert producers.renewals == 1
    assert producers.options["acks"] == "all"
    assert producers.options["enable_idempotence"] is True


async def test_any_other_failure_keeps_the_producer() -> None:
    """A timeout is retried by the caller on the same producer, whose sequence is intact."""
    producers = Producers(KafkaTimeoutError)
    await producers.start()
    with pytest.raises(KafkaTimeoutError):
        await producers.send_all([("ektp.station.inventory", b"TPI-01", b"{}")])
    assert len(producers.made) == 1
    assert producers.renewals == 0
