"""A message produced to the test broker is consumed back whole: key, value, headers, order."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from pipeline.config import Settings
from pipeline.kafka.security import ADMIN_ROLE, client_options
from tests.integration.conftest import TopicFactory

pytestmark = pytest.mark.integration


async def test_produced_messages_come_back_whole_and_in_order(
    kafka: Settings, topic_factory: TopicFactory
) -> None:
    """Key, value and headers survive the broker, and one key's messages keep their order.

    The topic is the test's own, outside the registry: only the admin may write and read it.
    """
    topic = await topic_factory("roundtrip")
    producer = AIOKafkaProducer(**client_options(kafka, ADMIN_ROLE), acks="all")
    await producer.start()
    try:
        for number in range(20):
            await producer.send_and_wait(
                topic, f"value-{number}".encode(), key=b"citizen-1", headers=[("attempt", b"1")]
            )
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic, **client_options(kafka, ADMIN_ROLE), auto_offset_reset="earliest",
        group_id=f"{topic}-reader", enable_auto_commit=False,
    )
    await consumer.start()
    received: list[ConsumerRecord[bytes, bytes]] = []
    try:
        while len(received) < 20:
            batches = await consumer.getmany(timeout_ms=10_000)
            assert batches, "the broker returned nothing within 10 s"
            for records in batches.values():
                received.extend(records)
    finally:
        await consumer.stop()

    assert [record.value for record in received] == [f"value-{n}".encode() for n in range(20)]
    assert {record.key for record in received} == {b"citizen-1"}
    assert all(record.headers == (("attempt", b"1"),) for record in received)
