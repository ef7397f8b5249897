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


async def test_the_table_keeps_each_entry_as_the_bytes_its_changelog_carries(tmp_path: Path, monkeypatch: Any) -> None:
    """An entry is stored encoded (no dicts for the garbage collector to walk) and read back as it was written."""
    ensure_credentials(Settings(run_dir=tmp_path))
    citizens = CitizenTable(create_app(Settings(run_dir=tmp_path)), 4)
    sent: list[tuple[int | None, Any, Any]] = []

    def send_changelog(partition: int | None, key: Any, value: Any, *_serializers: Any) -> Any:
        sent.append((partition, key, value))
        return SimpleNamespace(message=SimpleNamespace(partition=partition))  # faust's FutureMessage, as far as read

    monkeypatch.setattr(citizens.table, "send_changelog", send_changelog)
    # faust checks the source's partition count against the changelog's with a consumer, not built in a unit test
    monkeypatch.setattr(citizens.table, "_verify_source_topic_partitions", lambda _topic: None)
    citizen = Citizen(requests=CitizenRequests(request_ids=("req-1",), open_request_id="req-1"))
    event = _Event(SimpleNamespace(topic="ektp.internal.citizen-inbox", partition=3, offset=9))

    citizens.put("citizen-a", citizen, event)

    [(partition, key, value)] = sent
    assert (partition, key) == (3, "citizen-a"), "the changelog record goes to the citizen's partition"
    assert isinstance(value, bytes)
    assert json.loads(value) == citizen.to_json()
    store: Any = citizens.table.data  # faust's memory Store
    assert store.data["citizen-a"] is value, "the store holds the changelog's bytes themselves"
    assert citizens.get("citizen-a") == citizen
    assert citizens.get_json("citizen-b") is None
    assert citizens.get("citizen-b") == Citizen()
