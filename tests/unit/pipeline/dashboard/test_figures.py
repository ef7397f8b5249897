"""The dashboard's arithmetic: rates over a window, lag, run-out forecasts, the breaker gauge, the link's history."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.dashboard.figures import (
    STEP_OF_TOPIC,
    LinkHistory,
    RateMeter,
    breaker_from_metrics,
    end_offsets_by_topic,
    lag_by_topic,
    lag_rows,
    prints_per_second,
    run_out_forecast,
    step_of_topic,
)
from pipeline.topology.topics import CITIZEN_INBOX, PICKUP_REQUESTED, REGISTRY

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


def test_rate_is_growth_over_the_time_between_the_oldest_and_newest_sample() -> None:
    """Offsets 100 -> 160 over 30 s of samples is 2 messages a second."""
    meter = RateMeter(window=60)
    for at, count in [(0.0, 100), (10.0, 120), (30.0, 160)]:
        meter.add(at, count)
    assert meter.rate() == pytest.approx(2.0)


def test_rate_forgets_samples_older_than_the_window() -> None:
    """A burst long ago does not count once the window has moved past it."""
    meter = RateMeter(window=10)
    meter.add(0.0, 0)
    meter.add(1.0, 1000)  # the burst
    for second in range(2, 30):
        meter.add(float(second), 1000 + second)
    assert meter.rate() == pytest.approx(1.0, rel=0.2)


def test_rate_is_zero_with_one_sample_or_a_count_that_fell() -> None:
    """No rate from a single look, nor from a topic that was recreated (offsets back to 0)."""
    meter = RateMeter(window=60)
    meter.add(0.0, 50)
    assert meter.rate() == 0.0
    meter.add(5.0, 10)
    assert meter.rate() == 0.0


def test_lag_is_end_minus_committed_per_group_and_partition_and_summed_per_topic() -> None:
    """Two partitions 7 and 0 behind, and a group with no commit (-1) counts from the start."""
    ends = {("t", 0): 10, ("t", 1): 5, ("u", 0): 4}
    committed = {"worker": {("t", 0): 3, ("t", 1): 5}, "ektp-station-2172": {("u", 0): -1}}
    rows = lag_rows(committed, ends)
    assert [(row.group, row.topic, row.partition, row.lag) for row in rows] == [
        ("ektp-station-2172", "u", 0, 4), ("worker", "t", 0, 7), ("worker", "t", 1, 0),
    ]
    assert lag_by_topic(rows) == {"t": 7, "u": 4}


def test_lag_is_never_negative() -> None:
    """A commit seen after a newer end offset than the one sampled is no negative lag."""
    [row] = lag_rows({"g": {("t", 0): 12}}, {("t", 0): 10})
    assert row.lag == 0


def test_end_offsets_are_summed_per_topic() -> None:
    assert end_offsets_by_topic({("a", 0): 3, ("a", 1): 4, ("b", 0): 1}) == {"a": 7, "b": 1}


def test_forecast_divides_stock_by_print_rate() -> None:
    """120 blanks at 2 cards a minute last an hour."""
    forecast = run_out_forecast(120, 2 / 60, NOW)
    assert forecast is not None
    assert forecast.seconds == pytest.approx(3600)
    assert forecast.at == NOW + dt.timedelta(hours=1)


def test_forecast_of_an_idle_station_is_none_and_of_an_empty_one_is_now() -> None:
    assert run_out_forecast(50, 0.0, NOW) is None
    empty = run_out_forecast(0, 1.0, NOW)
    assert empty is not None
    assert empty.seconds == 0


def test_print_rate_counts_only_prints_inside_the_window() -> None:
    """Three prints in the last 60 s (one older is left out) are 3/60 a second."""
    prints = [(NOW - dt.timedelta(seconds=s), 1) for s in (5, 20, 59, 61)]
    assert prints_per_second(prints, NOW, 60) == pytest.approx(3 / 60)


def test_print_rate_counts_every_card_of_a_batch() -> None:
    """A station reports a batch of cards in one stock event: batches of 40 and 20 in the last minute are 1 a second."""
    prints = [(NOW - dt.timedelta(seconds=10), 40), (NOW - dt.timedelta(seconds=50), 20)]
    assert prints_per_second(prints, NOW, 60) == pytest.approx(1.0)


def test_breaker_state_is_read_from_the_workers_gauge() -> None:
    text = (
        "# HELP ektp_central_breaker_state 1 for the breaker's current state\n"
        "# TYPE ektp_central_breaker_state gauge\n"
        'ektp_central_breaker_state{state="closed"} 0.0\n'
        'ektp_central_breaker_state{state="open"} 1.0\n'
        'ektp_central_breaker_state{state="half_open"} 0.0\n'
    )
    assert breaker_from_metrics(text) == "open"
    assert breaker_from_metrics("ektp_other 1.0\n") is None


def test_link_history_keeps_changes_only_and_since_moves_on_a_change_of_state() -> None:
    """A breaker change is history but not a new `since`; repeated observations add nothing."""
    link = LinkHistory(keep=5)
    link.observe("up", "closed", NOW)
    link.observe("up", "closed", NOW + dt.timedelta(seconds=1))
    link.observe("down", "closed", NOW + dt.timedelta(seconds=2))
    link.observe("down", "open", NOW + dt.timedelta(seconds=3))
    assert [(c.state, c.breaker) for c in link.changes] == [("down", "open"), ("down", "closed"), ("up", "closed")]
    assert link.since == NOW + dt.timedelta(seconds=2)
    assert (link.state, link.breaker) == ("down", "open")


def test_every_contract_topic_has_a_step() -> None:
    """The flow places each step's topics; the status topic stands apart."""
    assert step_of_topic("ektp.enrollment.submitted") == "intake"
    assert step_of_topic("ektp.approval.deadletter") == "approval"
    assert step_of_topic("ektp.print.completed") == "print"
    assert step_of_topic("ektp.pickup.collected") == "pickup"
    assert step_of_topic("ektp.request.status") == "status"


def test_the_flows_topics_are_the_registrys() -> None:
    """A renamed topic (a `.v2`) moves with its step instead of falling out of the flow."""
    assert set(STEP_OF_TOPIC) <= {spec.name for spec in REGISTRY}
    assert step_of_topic(PICKUP_REQUESTED.name) == "pickup"
    assert step_of_topic(CITIZEN_INBOX.name) == "intake"
