"""The dashboard's alerts: the rules' conditions on the overview, held for each rule's `for`, in the rules' words."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml

from events.desk import DeskOutboxReported
from events.printing import StationInventory
from pipeline.dashboard.alerts import (
    BLANKS_HORIZON,
    CHECKS,
    DEAD_LETTER_WAIT_LIMIT,
    DESK_WAIT_LIMIT,
    LAG_COMPARED_WITH,
    RULES_FILE,
    WORDS,
    AlertRulesError,
    AlertWatch,
    go_value,
    humanize_duration,
    load_rules,
)
from pipeline.dashboard.collect import Collector
from pipeline.kafka.groups import Member
from tests.support import ROOT
from tests.unit.pipeline.dashboard.fakes import (
    NOW,
    FakeCentral,
    FakeDeadLetters,
    FakeDesks,
    FakeInventory,
    FakeKafka,
    FakeStatuses,
    dead_letter,
)

PROMTOOL_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yml"
MINUTE = dt.timedelta(minutes=1)


def overview(at: dt.datetime, **parts: Any) -> dict[str, Any]:
    """An overview as the collector builds it, of a healthy system unless `parts` say otherwise."""
    healthy: dict[str, Any] = {
        "generated_at": at.isoformat(),
        "topics": [{"name": "ektp.enrollment.submitted", "step": "intake", "end_offset": 10, "rate": 0.0, "lag": 0}],
        "lag": [], "workers": [{"client_id": "ektp-worker-1", "host": "10.0.0.1", "partitions": [0, 1]}],
        "central_link": {"state": "up", "since": None, "breaker": "closed", "history": []},
        "dlq": {"pending": 0, "parked": 0, "by_error": {}, "oldest_waiting_seconds": None},
        "stations": [], "desks": [],
    }
    return healthy | parts


def promtool_expected(alertname: str) -> dict[str, str]:
    """The annotations the promtool tests expect of the first firing `alertname`: the words Prometheus renders."""
    for test in yaml.safe_load(PROMTOOL_TESTS.read_text())["tests"]:
        for case in test["alert_rule_test"]:
            if case["alertname"] == alertname and case["exp_alerts"]:
                annotations: dict[str, str] = case["exp_alerts"][0]["exp_annotations"]
                return annotations
    raise AssertionError(f"no promtool test fires {alertname}")


def words(alert: dict[str, Any]) -> dict[str, str]:
    return {word: alert[word] for word in WORDS}


def test_every_rule_has_a_check_and_every_check_a_rule() -> None:
    """The dashboard evaluates exactly the alerts Prometheus does."""
    assert {rule.name for rule in load_rules()} == set(CHECKS)
    AlertWatch()  # refuses to start otherwise


def test_the_checks_share_the_numbers_of_the_expressions() -> None:
    """A threshold changed in the rules file and not here (or the reverse) fails."""
    expressions = {rule.name: rule.expr for rule in load_rules()}
    assert f"> {DEAD_LETTER_WAIT_LIMIT:.0f}" in expressions["EktpDeadLetterWaitingTooLong"]
    assert f"< {BLANKS_HORIZON:.0f}" in expressions["EktpBlankCardsRunningOut"]
    assert "rate(ektp_station_cards_printed_total[5m])" in expressions["EktpBlankCardsRunningOut"]
    assert f"offset {LAG_COMPARED_WITH / 60:.0f}m" in expressions["EktpConsumerLagGrowing"]
    assert f"> {DESK_WAIT_LIMIT:.0f}" in expressions["EktpDeskOutboxNotDraining"]
    assert 'state="closed"' in expressions["EktpCentralLinkDown"]
    assert 'up{job="worker"}' in expressions["EktpNoWorkerAlive"]


def test_the_rules_ship_inside_the_package() -> None:
    """The dashboard reads the rules from the installed package, not from deploy/ (absent after `pip install`)."""
    assert (ROOT / "pipeline" / "dashboard" / RULES_FILE).is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'"dashboard/{RULES_FILE}"' in pyproject


def test_a_breaker_not_closed_for_five_minutes_is_the_link_down_in_the_rules_words() -> None:
    """Open, then half-open, then open: not closed for 5 minutes is the critical alert, as Prometheus words it."""
    watch = AlertWatch()
    for minute, breaker in enumerate(["open", "half_open", "open", "half_open", "open"]):
        assert watch.conditions(overview(NOW + minute * MINUTE, central_link={"breaker": breaker})) == []
    [alert] = watch.conditions(overview(NOW + 5 * MINUTE, central_link={"breaker": "open"}))
    assert (alert["name"], alert["severity"], alert["since"]) == ("EktpCentralLinkDown", "critical", NOW.isoformat())
    assert words(alert) == promtool_expected("EktpCentralLinkDown")


def test_a_breaker_that_closes_in_between_starts_the_five_minutes_again() -> None:
    """A closed breaker, or one the dashboard cannot read, ends the wait."""
    watch = AlertWatch()
    for minute, breaker in enumerate(["open", "open", "open", "closed", "open", None, "open", "open", "open", "open"]):
        assert watch.conditions(overview(NOW + minute * MINUTE, central_link={"breaker": breaker})) == []


def test_the_oldest_dead_letter_waiting_more_than_an_hour_is_an_alert_at_once() -> None:
    """The rule has no `for`: 3720 s is an alert on the first look, 3600 s is not."""
    watch = AlertWatch()
    assert watch.conditions(overview(NOW, dlq={"oldest_waiting_seconds": 3600.0})) == []
    [alert] = watch.conditions(overview(NOW + MINUTE, dlq={"oldest_waiting_seconds": 3720.0}))
    assert (alert["name"], alert["severity"], alert["value"]) == ("EktpDeadLetterWaitingTooLong", "warning", 3720.0)
    assert words(alert) == promtool_expected("EktpDeadLetterWaitingTooLong")


def station(station_id: str, seconds: float | None, blank_stock: int = 100) -> dict[str, Any]:
    return {"id": station_id, "blank_stock": blank_stock, "prints_per_minute": 1.0,
            "forecast": None if seconds is None else {"seconds": seconds, "at": NOW.isoformat()}}


def test_a_station_running_out_within_a_day_for_ten_minutes_is_an_alert_per_station() -> None:
    """Forecasts under a day for 10 minutes fire for that station only; a day and more, or none (idle), do not."""
    watch = AlertWatch()
    stations = [station("TPI-01", 11100.0), station("TPI-02", BLANKS_HORIZON), station("TPI-03", None)]
    for minute in range(10):
        assert watch.conditions(overview(NOW + minute * MINUTE, stations=stations)) == []
    [alert] = watch.conditions(overview(NOW + 10 * MINUTE, stations=stations))
    assert (alert["name"], alert["labels"], alert["value"]) == ("EktpBlankCardsRunningOut", {"station": "TPI-01"},
                                                                11100.0)
    assert words(alert) == promtool_expected("EktpBlankCardsRunningOut")


def lag_rows(*, inbox: int, submitted: int = 100) -> list[dict[str, Any]]:
    """The worker's lag on two partitions of the inbox (2 to 1) and on one of the submissions."""
    return [
        {"group": "ektp-worker", "topic": "ektp.internal.citizen-inbox", "partition": 0, "lag": inbox * 2 // 3},
        {"group": "ektp-worker", "topic": "ektp.internal.citizen-inbox", "partition": 1, "lag": inbox - inbox * 2 // 3},
        {"group": "ektp-worker", "topic": "ektp.enrollment.submitted", "partition": 0, "lag": submitted},
    ]


def test_a_lag_above_its_value_of_five_minutes_earlier_for_ten_minutes_is_an_alert() -> None:
    """The promtool test's series: 15 more messages behind each minute fires at 15 minutes, at 225 behind."""
    watch = AlertWatch()
    noise = [100, 120, 90, 110, 100, 95, 115, 100, 105, 90, 110, 100, 120, 95, 100, 110]
    for minute in range(15):
        rows = lag_rows(inbox=15 * minute, submitted=noise[minute])
        assert watch.conditions(overview(NOW + minute * MINUTE, lag=rows)) == [], minute
    [alert] = watch.conditions(overview(NOW + 15 * MINUTE, lag=lag_rows(inbox=225, submitted=noise[15])))
    assert alert["labels"] == {"group": "ektp-worker", "topic": "ektp.internal.citizen-inbox"}
    assert alert["value"] == 225
    assert words(alert) == promtool_expected("EktpConsumerLagGrowing")


def test_a_lag_that_stops_growing_before_ten_minutes_is_no_alert() -> None:
    """Growing for 12 minutes and then falling is above its value of 5 minutes earlier for 8 minutes only."""
    watch = AlertWatch()
    series = [20 * minute for minute in range(13)] + [240 - 30 * step for step in range(1, 9)] + [0] * 10
    for minute, lag in enumerate(series):
        rows = [{"group": "ektp-station-2172", "topic": "ektp.print.requested", "partition": 0, "lag": lag}]
        assert watch.conditions(overview(NOW + minute * MINUTE, lag=rows)) == [], minute


def test_lag_is_not_compared_with_a_look_older_than_the_lookback() -> None:
    """After a gap in the overviews the lag has no value of 5 minutes earlier, as in Prometheus: no alert."""
    watch = AlertWatch()
    watch.conditions(overview(NOW, lag=lag_rows(inbox=0)))
    for minute in range(11, 26):  # 11 to 15 have no look 5 to 10 minutes earlier; 16 to 25 wait their 10 minutes
        assert watch.conditions(overview(NOW + minute * MINUTE, lag=lag_rows(inbox=minute))) == [], minute
    assert watch.conditions(overview(NOW + 26 * MINUTE, lag=lag_rows(inbox=26)))


def test_no_worker_in_the_group_for_a_minute_is_an_alert_unless_kafka_was_not_read() -> None:
    """An empty group fires after its minute; an overview without Kafka's offsets says nothing of the workers."""
    watch = AlertWatch()
    assert watch.conditions(overview(NOW, workers=[])) == []
    [alert] = watch.conditions(overview(NOW + MINUTE, workers=[]))
    assert (alert["name"], alert["severity"]) == ("EktpNoWorkerAlive", "critical")
    assert words(alert) == promtool_expected("EktpNoWorkerAlive")
    unread = AlertWatch()
    for minute in range(5):
        assert unread.conditions(overview(NOW + minute * MINUTE, topics=[], workers=[], lag=[])) == []


def test_a_desk_whose_oldest_submission_waits_over_fifteen_minutes_is_an_alert() -> None:
    """The desk at 960 s fires at once; the desk at 900 s and the empty one do not."""
    desks = [{"id": "REKAM-01", "pending": 37, "oldest_waiting_s": 960.0},
             {"id": "REKAM-02", "pending": 2, "oldest_waiting_s": 900.0},
             {"id": "REKAM-03", "pending": 0, "oldest_waiting_s": None}]
    [alert] = AlertWatch().conditions(overview(NOW, desks=desks))
    assert (alert["name"], alert["labels"]) == ("EktpDeskOutboxNotDraining", {"desk": "REKAM-01"})
    assert words(alert) == promtool_expected("EktpDeskOutboxNotDraining")


def test_alerts_come_most_severe_first() -> None:
    """Critical before warning, then by name and subject."""
    holding = AlertWatch().conditions(overview(
        NOW, workers=[], dlq={"oldest_waiting_seconds": 7200.0},
        desks=[{"id": "REKAM-02", "oldest_waiting_s": 1000.0}, {"id": "REKAM-01", "oldest_waiting_s": 1000.0}],
    ))
    assert [(alert["severity"], alert["name"], alert["labels"]) for alert in holding] == [
        ("warning", "EktpDeadLetterWaitingTooLong", {}),
        ("warning", "EktpDeskOutboxNotDraining", {"desk": "REKAM-01"}),
        ("warning", "EktpDeskOutboxNotDraining", {"desk": "REKAM-02"}),
    ]  # no worker is critical, but only after its minute


async def test_the_overview_the_collector_builds_is_what_the_checks_read() -> None:
    """From the collector's own overview: a desk's old outbox, an old dead letter, a station with no blanks."""
    at = [NOW]
    desks = FakeDesks(latest={"REKAM-01": DeskOutboxReported(
        desk_id="REKAM-01", pending=3, oldest_pending_at=NOW - dt.timedelta(minutes=20), sent=0, reported_at=NOW)})
    inventory = FakeInventory(latest={"TPI-01": StationInventory(
        station_id="TPI-01", blank_stock=0, change=-1, reason="print", updated_at=NOW)})
    kafka = FakeKafka(ends={("ektp.enrollment.submitted", 0): 1},
                      members=[Member("ektp-worker-1", "10.0.0.1", {"ektp.internal.citizen-inbox": (0,)})])
    collector = Collector(kafka=kafka, central=FakeCentral(breaker_state="open"), statuses=FakeStatuses(),
                          dead_letters=FakeDeadLetters(waiting=[dead_letter("r-1", minutes_ago=90)]),
                          inventory=inventory, desks=desks, stuck_after=600, now=lambda: at[0])
    watch = AlertWatch()
    first = {alert["name"] for alert in watch.conditions(await collector.sample())}
    assert first == {"EktpDeadLetterWaitingTooLong", "EktpDeskOutboxNotDraining"}
    at[0] = NOW + dt.timedelta(minutes=10)
    later = {alert["name"]: alert for alert in watch.conditions(await collector.sample())}
    assert set(later) == {"EktpCentralLinkDown", "EktpDeadLetterWaitingTooLong", "EktpDeskOutboxNotDraining",
                          "EktpBlankCardsRunningOut"}
    assert later["EktpBlankCardsRunningOut"]["summary_en"] == "Station TPI-01 runs out of blank cards within a day"
    assert "habis dalam 0s (0s: sudah habis)" in later["EktpBlankCardsRunningOut"]["description_id"]


def test_the_words_are_read_from_the_rules_file() -> None:
    """Rules with other words and another `for` change what the dashboard says and when."""
    text = (ROOT / "pipeline" / "dashboard" / RULES_FILE).read_text()
    changed = text.replace("summary_en: No worker alive", "summary_en: Every worker is gone").replace(
        "for: 1m", "for: 3m")
    watch = AlertWatch(rules=load_rules(changed))
    assert watch.conditions(overview(NOW, workers=[])) == []
    assert watch.conditions(overview(NOW + 2 * MINUTE, workers=[])) == []
    [alert] = watch.conditions(overview(NOW + 3 * MINUTE, workers=[]))
    assert alert["summary_en"] == "Every worker is gone"


def test_rules_and_checks_that_disagree_are_refused() -> None:
    """A rule without a check here (or a check whose rule was removed) stops the watch from starting."""
    text = (ROOT / "pipeline" / "dashboard" / RULES_FILE).read_text()
    with pytest.raises(AlertRulesError, match="EktpSomethingNew"):
        AlertWatch(rules=load_rules(text.replace("alert: EktpNoWorkerAlive", "alert: EktpSomethingNew")))


def test_a_template_the_dashboard_cannot_render_is_refused_on_reading() -> None:
    """Only `$labels.X`, `$value` and `$value | humanizeDuration` may appear: anything else fails at load."""
    text = (ROOT / "pipeline" / "dashboard" / RULES_FILE).read_text()
    with pytest.raises(AlertRulesError, match="humanizePercentage"):
        load_rules(text.replace("{{ $value | humanizeDuration }}", "{{ $value | humanizePercentage }}"))
    with pytest.raises(AlertRulesError, match="cannot be read"):
        load_rules("groups: [{rules: [{alert: X}]}]")


@pytest.mark.parametrize(("value", "shown", "duration"), [
    # as promtool 2.42 renders `{{ $value }}` and `{{ $value | humanizeDuration }}`
    (225.0, "225", "3m 45s"), (1234567.0, "1.234567e+06", "14d 6h 56m 7s"), (100000.0, "100000", "1d 3h 46m 40s"),
    (1e6, "1e+06", "11d 13h 46m 40s"), (0.5, "0.5", "500ms"), (0.00001, "1e-05", "10us"),
    (12.25, "12.25", "12.25s"), (0.000123, "0.000123", "123us"), (59.99, "59.99", "59.99s"),
    (86399.9, "86399.9", "23h 59m 59s"), (3600.7, "3600.7", "1h 0m 0s"), (0.0, "0", "0s"),
])
def test_values_read_as_prometheus_writes_them(value: float, shown: str, duration: str) -> None:
    """`$value` and `humanizeDuration` give the strings promtool gives for the same number."""
    assert (go_value(value), humanize_duration(value)) == (shown, duration)
