"""The faust app: one factory, so the worker, the tests and the tools build it the same way."""

from __future__ import annotations

import faust

from pipeline.config import Settings


def create_app(settings: Settings, *, app_id: str | None = None) -> faust.App:
    """A faust app on the configured broker.

    Offsets are committed only after a message is processed (faust's default); agents keep
    concurrency 1 (faust-streaming #606) and get throughput from batches and partitions.
    """
    return faust.App(
        app_id or settings.app_id,
        broker=settings.kafka_url,
        store="memory://",
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        autodiscover=False,
    )
