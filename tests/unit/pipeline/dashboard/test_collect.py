"""The overview the collector builds from its sources (fakes here): rates, lag, the link, stock, backlog, stuck."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from aiokafka.structs import ConsumerRecord

from events.desk import DeskOutboxReported
from events.printing import StationInventory
from events.status import RequestState
from pipeline.config import Settings
from pipeline.dashboard.collect import Collector
from pipeline.dashboard.sources import DeskView, InventoryView
from pipeline.kafka.groups import Member
from pipeline.topology.topics import CITIZEN_INBOX, DESK_OUTBOX, STATION_INVENTORY, UNREADABLE
from tests.unit.pipeline.dashboard.fakes import (
    NIK,
    NOW,
    FakeCentral,
    FakeDeadLetters,
    FakeDesks,
    FakeInventory,
    FakeKafka,
    FakeStatuses,
    dead_letter,
    status,
)

SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")


class Clock:
    def __init__(self) -> None:
        self.ticks = 0.0

    def __call__(self) -> float:
        return self.ticks


def collector(**sources: object) -> tuple[Collector, Clock]:
    clock = Clock()
    parts: dict[str, object] = {"kafka": FakeKafka(), "central": FakeCentral(), "statuses": FakeStatuses(),
                                "dead_letters": FakeDeadLetters(), "inventory": FakeInventory(),
                                "desks": FakeDesks()} | sources
    built = Collector(stuck_after=600, clock=clock, now=lambda: NOW, **parts)  # type: ignore[arg-type]
    return built, clock


async def test_topic_rows_carry_summed_end_offsets_rates_and_lag() -> None:
    """Two samples 10 s apart: 30 new messages over two partitions is 3/s; lag summed over partitions."""
    kafka = FakeKafka(ends={("ektp.enrollment.submitted", 0): 10, ("ektp.enrollment.submitted", 1): 10},
                      groups={"ektp-pipeline": {("ektp.enrollment.submitted", 0): 8,
                                                ("ektp.enrollment.submitted", 1): 9}})
    built, clock = collector(kafka=kafka)
    await built.sample()
    clock.ticks = 10.0
    kafka.ends = {("ektp.enrollment.submitted", 0): 25, ("ektp.enrollment.submitted", 1): 25}
    overview = await built.sample()
    [row] = overview["topics"]
    assert row == {"name": "ektp.enrollment.submitted", "step": "intake", "end_offset": 50, "rate": 3.0, "lag": 33}
    assert {(r["group"], r["partition"], r["lag"]) for r in overview["lag"]} == {
        ("ektp-pipeline", 0, 17), ("ektp-pipeline", 1, 16)}


async def test_messages_set_aside_as_unreadable_are_counted_over_every_partition() -> None:
    """The overview says how many messages wait for a person in the unreadable stream."""
    kafka = FakeKafka(ends={(UNREADABLE.name, 0): 2, (UNREADABLE.name, 3): 1, ("ektp.enrollment.submitted", 0): 9})
    built, _clock = collector(kafka=kafka)
    assert (await built.sample())["unreadable"] == 3
    assert (await collector()[0].sample())["unreadable"] == 0


async def test_each_worker_is_shown_with_the_partitions_it_owns() -> None:
    """The worker group's members, each with its partitions of the citizens' inbox (the stateful steps' share)."""
    members = [Member("ektp-worker-a-1", "10.0.0.1", {CITIZEN_INBOX.name: (0, 2), "ektp.enrollment.submitted": (0,)}),
               Member("ektp-worker-b-2", "10.0.0.2", {})]
    built, _clock = collector(kafka=FakeKafka(members=members))
    assert (await built.sample())["workers"] == [
        {"client_id": "ektp-worker-a-1", "host": "10.0.0.1", "partitions": [0, 2]},
        {"client_id": "ektp-worker-b-2", "host": "10.0.0.2", "partitions": []},
    ]


async def test_a_broker_that_does_not_answer_is_an_error_on_the_page_not_an_exception() -> None:
    built, _clock = collector(kafka=FakeKafka(broken=True))
    overview = await built.sample()
    assert overview["topics"] == []
    assert overview["errors"] == ["kafka: ConnectionError"]


async def test_central_link_shows_state_since_breaker_and_history() -> None:
    """Central goes down: the state, its since and the history follow; the breaker comes from the worker."""
    central = FakeCentral()
    built, _clock = collector(central=central)
    await built.sample()
    central.up, central.breaker_state = False, "open"
    link = (await built.sample())["central_link"]
    assert (link["state"], link["breaker"], link["since"]) == ("down", "open", NOW.isoformat())
    assert [(h["state"], h["breaker"]) for h in link["history"]] == [("down", "open"), ("up", "closed")]


async def test_dead_letter_figures_and_parked_records() -> None:
    """Pending by error class, the oldest wait in seconds, and the parked records without any key or NIK."""
    dlq = FakeDeadLetters(waiting=[dead_letter("a", minutes_ago=5), dead_letter("b", minutes_ago=2)],
                          parked_entries=[dead_letter("c", minutes_ago=30)])
    built, _clock = collector(dead_letters=dlq)
    shown = (await built.sample())["dlq"]
    assert (shown["pending"], shown["parked"], shown["by_error"]) == (2, 1, {"refused": 2})
    assert shown["oldest_waiting_seconds"] == 300
    assert [(p["request_id"], p["reason"], p["attempts"]) for p in shown["parked_records"]] == [("c", "refused", 1)]
    assert "citizen_key" not in shown["parked_records"][0]


async def test_station_forecast_runs_stock_down_at_the_recent_print_rate() -> None:
    """30 blanks, 10 prints in the last 5 minutes (2 a minute): out in 15 minutes."""
    inventory = FakeInventory(latest={"TPI-01": StationInventory(station_id="TPI-01", blank_stock=30, change=-1,
                                                                 reason="print", updated_at=NOW)})
    inventory.prints["TPI-01"].extend((NOW - dt.timedelta(seconds=20 * n), 1) for n in range(10))
    built, _clock = collector(inventory=inventory)
    [station] = (await built.sample())["stations"]
    assert (station["id"], station["blank_stock"], station["prints_per_minute"]) == ("TPI-01", 30, 2.0)
    assert station["forecast"]["seconds"] == pytest.approx(900)


async def test_each_desk_shows_what_waits_in_its_outbox_and_how_old_its_report_is() -> None:
    """A desk cut off from the broker for 40 minutes: 37 waiting, the oldest 40 minutes, its last word 35."""
    report = DeskOutboxReported(desk_id="REKAM-01", pending=37, oldest_pending_at=NOW - dt.timedelta(minutes=40),
                                sent=120, reported_at=NOW - dt.timedelta(minutes=35))
    idle = DeskOutboxReported(desk_id="REKAM-02", pending=0, oldest_pending_at=None, sent=5, reported_at=NOW)
    built, _clock = collector(desks=FakeDesks(latest={"REKAM-02": idle, "REKAM-01": report}))
    overview = await built.sample()
    first, second = overview["desks"]
    assert (first["id"], first["pending"], first["sent"]) == ("REKAM-01", 37, 120)
    assert (first["oldest_waiting_s"], first["report_age_s"]) == (2400, 2100)
    assert (second["id"], second["pending"], second["oldest_waiting_s"]) == ("REKAM-02", 0, None)
    # The desk that drains nothing is an alert on the page, in the rules' words, for that desk only.
    draining = [alert for alert in overview["alerts"] if alert["name"] == "EktpDeskOutboxNotDraining"]
    assert [alert["labels"]["desk"] for alert in draining] == ["REKAM-01"]


def test_desk_view_keeps_each_desks_last_report_and_skips_unreadable_ones(tmp_path: Path) -> None:
    view = DeskView(Settings(run_dir=tmp_path))
    for pending in (3, 1):
        report = DeskOutboxReported(desk_id="REKAM-01", pending=pending, sent=0, reported_at=NOW)
        view.take(record_of(DESK_OUTBOX.name, report.model_dump_json().encode()))
    view.take(record_of(DESK_OUTBOX.name, b"{}"))
    assert view.latest["REKAM-01"].pending == 1


async def test_backlog_history_and_stuck_requests_follow_the_status_view() -> None:
    """Backlog per step is counted and kept as history; only requests older than the limit are stuck."""
    statuses = FakeStatuses({s.request_id: s for s in [
        status("old", RequestState.AWAITING_CENTRAL, minutes_ago=30),
        status("new", RequestState.SENT_FOR_ENROLLMENT, minutes_ago=1),
        status("card", RequestState.READY_FOR_PICKUP, minutes_ago=90),
    ]})
    built, _clock = collector(statuses=statuses)
    await built.sample()
    overview = await built.sample()
    assert overview["backlog"] == {"intake": 0, "approval": 1, "deadletter": 1, "parked": 0, "print": 0, "pickup": 1}
    assert len(overview["backlog_history"]) == 2
    assert overview["stuck"]["count"] == 1
    [stuck] = overview["stuck"]["requests"]
    assert (stuck["request_id"], stuck["step"], stuck["waiting_seconds"]) == ("old", "deadletter", 1800)
    assert stuck["nik_masked"] == "217204******0001"


async def test_no_full_nik_reaches_the_overview_even_from_a_careless_source() -> None:
    """A NIK where none belongs (a reason, a request id) is masked before the overview leaves the collector."""
    careless = dead_letter(f"nik-{NIK}", minutes_ago=1)
    built, _clock = collector(dead_letters=FakeDeadLetters(waiting=[careless], parked_entries=[careless]),
                              statuses=FakeStatuses({"x": status("x", RequestState.AWAITING_CENTRAL, minutes_ago=60)}))
    text = json.dumps(await built.sample())
    assert not SIXTEEN_DIGITS.search(text)
    assert "217204******0001" in text


def test_inventory_view_keeps_each_stations_latest_stock_and_its_print_times(tmp_path: Path) -> None:
    """Print events feed the forecast's rate, each with the cards of its batch; restocks only move the stock;
    unreadable records are skipped."""
    view = InventoryView(Settings(run_dir=tmp_path))
    later = NOW + dt.timedelta(seconds=1)
    for event in (StationInventory(station_id="A", blank_stock=10, change=10, reason="restock", updated_at=NOW),
                  StationInventory(station_id="A", blank_stock=9, change=-1, reason="print", updated_at=NOW),
                  StationInventory(station_id="A", blank_stock=4, change=-5, reason="print", updated_at=later)):
        view.take(inventory_record(event.model_dump_json().encode()))
    view.take(inventory_record(b"not json"))
    assert view.latest["A"].blank_stock == 4
    assert list(view.prints["A"]) == [(NOW, 1), (later, 5)]


def inventory_record(value: bytes) -> ConsumerRecord[bytes, bytes]:
    """A record of `ektp.station.inventory` as the follower reads it."""
    return record_of(STATION_INVENTORY.name, value)


def record_of(topic: str, value: bytes) -> ConsumerRecord[bytes, bytes]:
    """A record of `topic` as a follower reads it."""
    return ConsumerRecord(topic=topic, partition=0, offset=0, timestamp=0, timestamp_type=0,
                          key=b"A", value=value, checksum=None, serialized_key_size=1,
                          serialized_value_size=len(value), headers=())
