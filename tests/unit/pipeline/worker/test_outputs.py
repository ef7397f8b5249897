"""A step's output: each record handed to the app's Kafka producer as it is, and a failure reported as faust's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError
from faust.exceptions import ProducerSendError

from pipeline.config import Settings
from pipeline.kafka.security import ensure_credentials
from pipeline.topology.routes import FOLLOW_CARDS
from pipeline.topology.topics import PICKUP_READY, REQUEST_STATUS
from pipeline.worker.app import create_app
from pipeline.worker.wiring import StepTopics


class Producer:
    """aiokafka's producer as far as an output uses it: `send`, which queues the record and may fail."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, Any]] = []
        self.failure = failure

    async def send(self, topic: str, value: bytes, *, key: bytes | None, headers: Any, partition: int | None) -> None:
        if self.failure is not None:
            raise self.failure
        self.sent.append((topic, value, key, headers))


def _topics(tmp_path: Path, producer: Producer, monkeypatch: pytest.MonkeyPatch) -> StepTopics:
    ensure_credentials(Settings(run_dir=tmp_path))  # the app is built with the worker's, never connects
    app = create_app(Settings(run_dir=tmp_path), app_id="ektp-outputs-test")
    monkeypatch.setattr(type(app.producer), "_ensure_producer", lambda _self: producer)
    return StepTopics(app, FOLLOW_CARDS)


async def test_a_record_goes_to_the_producer_as_it_is_with_its_headers_as_kafka_takes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    producer = Producer()
    topics = _topics(tmp_path, producer, monkeypatch)

    await topics.output(PICKUP_READY).send(key=b"citizen-a", value=b'{"a": 1}')
    await topics.output(REQUEST_STATUS).send(key=b"req-1", value=b"{}", headers={"kind": b"status"})
    await topics.output(REQUEST_STATUS).send(key=None, value=b"{}", headers=[("kind", b"status")])

    assert producer.sent == [
        (PICKUP_READY.name, b'{"a": 1}', b"citizen-a", None),
        (REQUEST_STATUS.name, b"{}", b"req-1", [("kind", b"status")]),
        (REQUEST_STATUS.name, b"{}", None, [("kind", b"status")]),
    ], "no partition is named: the producer's default partitioner places each record by its key"


async def test_a_producer_failure_is_reported_as_faust_reports_a_failed_send(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topics = _topics(tmp_path, Producer(failure=KafkaTimeoutError()), monkeypatch)

    with pytest.raises(ProducerSendError, match=PICKUP_READY.name):
        await topics.output(PICKUP_READY).send(key=b"citizen-a", value=b"{}")
