"""The dead-letter stream's rules: routing, the line of waiting records, parking, replay and its filter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from processors.dead_letter import (
    ReplayFilter,
    Route,
    due_for_replay,
    route_for,
    should_park,
    waiting_after_decision,
    waiting_after_failure,
)

T0 = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Letter:
    """A record waiting in the dead-letter stream, as the replay sees it."""

    request_id: str
    partition: int
    offset: int


@pytest.mark.parametrize(
    ("request_id", "waiting", "decided", "route"),
    [
        ("r1", (), False, Route.ASK_CENTRAL),
        ("r1", ("r1", "r2"), False, Route.ASK_CENTRAL),
        ("r2", ("r1", "r2"), False, Route.DIVERT),
        ("r3", ("r1",), False, Route.DIVERT),
        ("r1", (), True, Route.ALREADY_DECIDED),
        ("r2", ("r1", "r2"), True, Route.ALREADY_DECIDED),
    ],
)
def test_only_the_head_of_the_line_or_a_citizen_with_none_waiting_goes_to_central(
    request_id: str, waiting: tuple[str, ...], decided: bool, route: Route,
) -> None:
    """A decided request is already decided; otherwise only the head (or anyone, when none waits) asks central."""
    assert route_for(request_id, waiting=waiting, decided=decided) == route


def test_a_decided_request_leaves_the_line_and_the_rest_keep_their_order() -> None:
    """Deciding a request removes it wherever it stands; the others stay in order."""
    assert waiting_after_decision(("r1", "r2", "r3"), "r2") == ("r1", "r3")
    assert waiting_after_decision(("r1", "r2"), "r1") == ("r2",)


def test_deciding_a_request_that_was_not_waiting_changes_nothing() -> None:
    """A request decided at its first try leaves the line as it was."""
    assert waiting_after_decision(("r1", "r2"), "r9") == ("r1", "r2")


def test_the_line_keeps_first_failure_order_without_duplicates() -> None:
    """Each failure appends a new request at the end; a request failing again keeps its first place."""
    waiting: tuple[str, ...] = ()
    for request_id in ["r2", "r1", "r2", "r3", "r1", "r3"]:
        waiting = waiting_after_failure(waiting, request_id)

    assert waiting == ("r2", "r1", "r3")


@pytest.mark.parametrize(
    ("attempts", "max_attempts", "parks"),
    [(0, 3, False), (2, 3, False), (3, 3, True), (4, 3, True), (1, 1, True)],
)
def test_a_record_parks_once_its_tries_reach_max_attempts(attempts: int, max_attempts: int, parks: bool) -> None:
    """Parking starts exactly at max_attempts tries, not before."""
    assert should_park(attempts, max_attempts) is parks


def test_a_worker_replays_only_the_partitions_it_owns() -> None:
    """Records of partitions another worker owns are left to that worker; the order read is kept."""
    letters = [Letter("r1", 0, 10), Letter("r2", 1, 11), Letter("r3", 2, 12), Letter("r4", 0, 13)]

    due = due_for_replay(letters, owned={0, 2}, sent={})

    assert due == [letters[0], letters[2], letters[3]]


def test_a_record_already_sent_back_since_its_last_failure_is_not_due() -> None:
    """A record whose dead-letter offset was already sent back waits for its outcome, not a second replay."""
    letters = [Letter("r1", 0, 10), Letter("r2", 0, 11)]

    due = due_for_replay(letters, owned={0}, sent={"r1": 10})

    assert due == [letters[1]]


def test_a_record_that_failed_again_after_its_replay_is_due_again() -> None:
    """Failing again writes the record at a newer offset than the one sent back: it is replayed again."""
    failed_again = Letter("r1", 0, 25)

    assert due_for_replay([failed_again], owned={0}, sent={"r1": 10}) == [failed_again]


def test_a_worker_owning_no_partitions_replays_nothing() -> None:
    """Between rebalances a worker may own nothing: it sends nothing back."""
    assert due_for_replay([Letter("r1", 0, 10)], owned=set(), sent={}) == []


def test_a_filter_without_conditions_selects_every_record() -> None:
    """The default filter sends everything back."""
    assert ReplayFilter().matches(failed_at=T0, reason="timeout", kecamatan_code=None)


def test_a_time_window_selects_failures_within_it_bounds_included() -> None:
    """since/until keep failures from `since` to `until`, both ends included."""
    window = ReplayFilter(since=T0, until=T0 + dt.timedelta(hours=1))

    assert window.matches(failed_at=T0, reason="timeout", kecamatan_code=None)
    assert window.matches(failed_at=T0 + dt.timedelta(hours=1), reason="timeout", kecamatan_code=None)
    assert not window.matches(failed_at=T0 - dt.timedelta(seconds=1), reason="timeout", kecamatan_code=None)
    assert not window.matches(failed_at=T0 + dt.timedelta(hours=1, seconds=1), reason="timeout",
                              kecamatan_code=None)


def test_a_reason_filter_selects_only_that_error() -> None:
    """Only records that last failed for the named reason are selected."""
    timeouts = ReplayFilter(reason="timeout")

    assert timeouts.matches(failed_at=T0, reason="timeout", kecamatan_code="217204")
    assert not timeouts.matches(failed_at=T0, reason="server_error", kecamatan_code="217204")


def test_a_kecamatan_filter_selects_only_that_kecamatan() -> None:
    """Only records of the named kecamatan are selected; a record of unknown kecamatan is not."""
    bukit_bestari = ReplayFilter(kecamatan_code="217204")

    assert bukit_bestari.matches(failed_at=T0, reason="timeout", kecamatan_code="217204")
    assert not bukit_bestari.matches(failed_at=T0, reason="timeout", kecamatan_code="217201")
    assert not bukit_bestari.matches(failed_at=T0, reason="timeout", kecamatan_code=None)


def test_every_condition_of_a_filter_must_hold() -> None:
    """A record matching all but one condition is not selected."""
    narrow = ReplayFilter(since=T0, reason="timeout", kecamatan_code="217204")

    assert narrow.matches(failed_at=T0, reason="timeout", kecamatan_code="217204")
    assert not narrow.matches(failed_at=T0 - dt.timedelta(minutes=1), reason="timeout", kecamatan_code="217204")
    assert not narrow.matches(failed_at=T0, reason="refused", kecamatan_code="217204")
    assert not narrow.matches(failed_at=T0, reason="timeout", kecamatan_code="217201")
