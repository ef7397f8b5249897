"""A faust worker built by the project's app factory moves messages between two topics on the real broker."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from pipeline.config import Settings
from pipeline.kafka.security import ADMIN_ROLE, client_options
from tests.integration.conftest import TopicFactory
from tests.support.env import settings_env

pytestmark = pytest.mark.integration


async def test_faust_worker_relays_every_message_with_its_key(
    kafka: Settings, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    """Every message put on the source topic reaches the target topic once, keyed as it was.

    The topics are the test's own, so the test and the relay (`relay_app`) use them as the admin.
    """
    source, target = await topic_factory("relay.in"), await topic_factory("relay.out")
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.pipeline.worker.relay_app", source, target, "worker"],
        env=settings_env(kafka), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        producer = AIOKafkaProducer(**client_options(kafka, ADMIN_ROLE))
        await producer.start()
        try:
            for number in range(50):
                await producer.send(source, f"m{number}".encode(), key=f"k{number % 5}".encode())
            await producer.flush()
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            target, **client_options(kafka, ADMIN_ROLE), auto_offset_reset="earliest",
            group_id=f"{target}-reader",
        )
        await consumer.start()
        relayed: dict[bytes, bytes] = {}
        try:
            # The worker needs a few seconds to join its group; wait for the messages, not for a clock.
            while len(relayed) < 50:
                batches = await consumer.getmany(timeout_ms=60_000)
                assert batches, f"nothing relayed within 60 s; worker log:\n{_tail(tmp_path)}"
                for records in batches.values():
                    relayed.update({record.value: record.key for record in records})
        finally:
            await consumer.stop()
        assert relayed == {f"m{n} relayed".encode(): f"k{n % 5}".encode() for n in range(50)}
    finally:
        worker.send_signal(signal.SIGTERM)
        exit_code = worker.wait(timeout=60)
        log.close()
    assert exit_code == 0, _tail(tmp_path)


def _tail(folder: Path) -> str:
    return "\n".join((folder / "worker.log").read_text().splitlines()[-30:])
