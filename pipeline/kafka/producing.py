"""Producing as the pipeline does (acks=all, idempotent), with a producer that starts over when its sequence breaks.

aiokafka gives a batch its sequence numbers when it takes it out of its queue. A batch whose partition has had
no leader for longer than `request_timeout_ms` (a cluster whose nodes come back one by one, slowly) is then
failed with those numbers spent, and aiokafka never takes a new producer id: every later batch to that
partition is refused as out of order, for ever. The Java client starts over with a new producer id by itself
(KIP-360); `RenewingProducer` does the same. The batch that failed was never written, and the caller sends it
again, as it would after any failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber

from pipeline.logs import get_logger

log = get_logger(__name__)

# topic, key, value
Message = tuple[str, bytes | None, bytes | None]


class RenewingProducer:
    """An idempotent aiokafka producer (acks=all) that replaces itself once its sequence is broken.

    `connection` says where and as whom it connects: `pipeline.kafka.security.client_options(settings, role)`;
    `options` are any other of aiokafka's producer options.
    """

    def __init__(self, connection: Mapping[str, Any], **options: Any) -> None:
        self.options = {**connection, "acks": "all", "enable_idempotence": True, **options}
        self.renewals = 0
        self._producer: AIOKafkaProducer | None = None

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(**self.options)

    async def start(self) -> AIOKafkaProducer:
        """Start a producer; the one started."""
        producer = self._new_producer()
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer
        return producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def send_all(self, messages: Iterable[Message]) -> None:
        """Send every message in order and wait for every acknowledgement.

        Raises the `KafkaError` of a send that failed; when it was a broken sequence, the next call already goes
        through a new producer.
        """
        # None after a renewal that found no broker: start again now.
        producer = self._producer or await self.start()
        try:
            acks = [await producer.send(topic, value, key=key) for topic, key, value in messages]
            await asyncio.gather(*acks)
        except OutOfOrderSequenceNumber:
            await self.renew(producer)
            raise

    async def renew(self, broken: AIOKafkaProducer) -> None:
        """Replace `broken` by a new producer (a new producer id, sequences from 0), unless that happened already."""
        current = self._producer
        if current is None or current is not broken:
            return
        log.warning("the producer's sequence is broken: starting a new producer", renewals=self.renewals + 1)
        self._producer = None
        try:
            await current.stop()
        except KafkaError as error:  # what it still held fails with it: the caller sends it again
            log.info("the broken producer stopped with an error", error=repr(error))
        await self.start()
        self.renewals += 1
