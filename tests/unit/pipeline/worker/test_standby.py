"""A worker's standby copy of a table partition: records applied as they come, kept across recoveries."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from pipeline.config import Settings
from pipeline.kafka.security import ensure_credentials
from pipeline.worker.app import create_app
from pipeline.worker.citizens import CitizenTable
from pipeline.worker.standby import keep_standby_copies, standby_follower
from processors.citizen import Citizen
from processors.intake import CitizenRequests


def _app(tmp_path: Path) -> tuple[Any, Any]:
    ensure_credentials(Settings(run_dir=tmp_path))  # the app is built with the worker's, never connects
    app = create_app(Settings(run_dir=tmp_path))
    table = CitizenTable(app, 4).table
    return app, table


class _Event:
    """A faust event as far as a table write needs one: its message (faust holds it by weak reference)."""

    def __init__(self, message: Any) -> None:
        self.message = message


def _record(tp: TP, offset: int, key: str, value: dict[str, Any] | None) -> Any:
    return SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=offset, key=json.dumps(key).encode(),
                           value=None if value is None else json.dumps(value).encode())


def test_a_standby_partition_s_records_go_to_the_copy_in_offset_order_and_others_go_on(tmp_path: Path) -> None:
    app, table = _app(tmp_path)
    recovery = app.tables.recovery
    standby = TP(table.changelog_topic.get_topic_name(), 2)
    recovery.add_standby(table, standby)
    follow = standby_follower(app)

    assert follow(standby, _record(standby, 0, "citizen-a", {"requests": {"open": "r1"}}))
    assert follow(standby, _record(standby, 1, "citizen-b", {"requests": {"open": "r2"}}))
    assert follow(standby, _record(standby, 2, "citizen-a", {"requests": {"open": None}}))
    assert follow(standby, _record(standby, 1, "citizen-b", {"stale": True}))  # read before: left alone
    assert follow(standby, _record(standby, 3, "citizen-b", None))  # a tombstone

    copy = {key: json.loads(value) for key, value in table.data.data.items()}
    assert copy == {"citizen-a": {"requests": {"open": None}}}
    assert recovery.standby_offsets[standby] == 3
    active = TP(table.changelog_topic.get_topic_name(), 1)
    assert not follow(active, _record(active, 0, "citizen-c", {})), "not a standby partition: faust's to deliver"
    assert not follow(TP("ektp.internal.citizen-inbox", 2), _record(standby, 4, "x", {}))
    assert "citizen-c" not in table.data.data


async def test_a_completed_recovery_keeps_the_standby_partitions_keys_and_drops_the_others(tmp_path: Path) -> None:
    app, table = _app(tmp_path)
    keep_standby_copies(app)
    name = table.changelog_topic.get_topic_name()
    store = table.data
    for partition, key in enumerate(["on-0", "on-1", "on-2", "on-3"]):
        store.data[key] = {"partition": partition}
        store._key_partition[key] = partition

    await store.on_recovery_completed({TP(name, 0)}, {TP(name, 2)})

    assert set(store.data) == {"on-0", "on-2"}, "the standby's copy of partition 2 is kept; 1 and 3 left this worker"


class _Producer:
    """aiokafka's producer as far as a table write uses it: `send`, recorded."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, int | None]] = []

    async def send(self, topic: str, value: bytes, *, key: bytes | None, headers: Any, partition: int | None) -> None:
        self.sent.append((topic, value, key, partition))


async def test_the_table_keeps_each_entry_as_the_bytes_its_changelog_carries(tmp_path: Path, monkeypatch: Any) -> None:
    """An entry is stored encoded (no dicts for the garbage collector to walk) and read back as it was written;
    its changelog record goes straight to the producer, into the citizen's partition."""
    ensure_credentials(Settings(run_dir=tmp_path))
    citizens = CitizenTable(create_app(Settings(run_dir=tmp_path)), 4)
    producer = _Producer()
    monkeypatch.setattr(type(citizens.app.producer), "_ensure_producer", lambda _self: producer)
    citizen = Citizen(requests=CitizenRequests(request_ids=("req-1",), open_request_id="req-1"))
    event = _Event(SimpleNamespace(topic="ektp.internal.citizen-inbox", partition=3, offset=9))

    await citizens.put("citizen-a", citizen, event)

    [(topic, value, _key, partition)] = producer.sent
    assert (topic, partition) == (citizens.table.changelog_topic.get_topic_name(), 3), "the citizen's partition"
    assert json.loads(value) == citizen.to_json()
    store: Any = citizens.table.data  # faust's memory Store
    assert store.data["citizen-a"] is value, "the store holds the changelog's bytes themselves"
    assert citizens.get("citizen-a") == citizen
    assert citizens.get_json("citizen-b") is None
    assert citizens.get("citizen-b") == Citizen()


async def test_a_changelog_record_written_here_is_read_by_a_standby_copy_as_faust_would_write_it(
    tmp_path: Path, monkeypatch: Any,
) -> None:
    """The record the table sends itself carries the key and value faust's own changelog write would: another
    worker's standby copy (which decodes as faust's recovery does) holds the same entry."""
    ensure_credentials(Settings(run_dir=tmp_path))
    citizens = CitizenTable(create_app(Settings(run_dir=tmp_path)), 4)
    producer = _Producer()
    monkeypatch.setattr(type(citizens.app.producer), "_ensure_producer", lambda _self: producer)
    citizen = Citizen(requests=CitizenRequests(request_ids=("req-1",), open_request_id="req-1"))
    await citizens.put("citizen-a", citizen, _Event(SimpleNamespace(topic="t", partition=2, offset=0)))
    [(topic, value, key, partition)] = producer.sent
    assert partition == 2

    other_app, other_table = _app(tmp_path)
    standby = TP(topic, 2)
    other_app.tables.recovery.add_standby(other_table, standby)
    follow = standby_follower(other_app)
    assert follow(standby, SimpleNamespace(topic=topic, partition=partition, offset=0, key=key, value=value))

    assert Citizen.from_json(json.loads(other_table.data.data["citizen-a"])) == citizen
