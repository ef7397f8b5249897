"""The faust app's producer writes as every producer of the pipeline does: acks=all, each record once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.kafka.partitioning import KeyPartitioner
from pipeline.kafka.security import ensure_credentials
from pipeline.worker.app import create_app


async def test_the_workers_producer_waits_for_every_in_sync_replica_and_is_idempotent(tmp_path: Path) -> None:
    """On a cluster a send retried after its leader died is not written twice: aiokafka's idempotence is on."""
    ensure_credentials(Settings(run_dir=tmp_path))  # the app is built with the worker's, never connects
    app = create_app(Settings(run_dir=tmp_path, broker_nodes=3))
    faust_producer: Any = app.producer  # faust's aiokafka Producer; ProducerT does not show how it builds aiokafka's
    producer = faust_producer._new_producer()  # the aiokafka producer faust starts, built but not started here
    try:
        assert producer._txn_manager is not None, "idempotence off: aiokafka keeps no producer id or sequence"
        assert producer._sender._acks == -1
    finally:
        await producer.stop()
    assert app.conf.topic_replication_factor == 3


async def test_the_workers_producer_places_keys_with_the_remembering_default_partitioner(tmp_path: Path) -> None:
    """Every keyed send of a step goes through `KeyPartitioner`: murmur2 in pure Python once per key, not per send."""
    ensure_credentials(Settings(run_dir=tmp_path))
    app = create_app(Settings(run_dir=tmp_path))
    faust_producer: Any = app.producer
    producer = faust_producer._new_producer()
    try:
        assert isinstance(producer._partitioner, KeyPartitioner)
    finally:
        await producer.stop()
