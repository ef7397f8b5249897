"""The backlog per step and the stuck-request rule shared by the dashboard and the demo's report."""

from __future__ import annotations

import datetime as dt

from events.status import RequestState, RequestStatus
from processors.backlog import (
    STEP_OF_STATE,
    WAITING_STEPS,
    Step,
    backlog_by_step,
    stuck_requests,
)

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


def _status(request_id: str, state: RequestState, minutes_ago: float) -> RequestStatus:
    return RequestStatus(
        request_id=request_id, state=state, terminal=False, updated_at=NOW - dt.timedelta(minutes=minutes_ago),
        office_code="2172", nik_masked="217204******0001", explanation_id="-", explanation_en="-",
    )


def test_every_state_has_a_step() -> None:
    assert set(STEP_OF_STATE) == set(RequestState)


def test_backlog_counts_each_waiting_step_and_leaves_finished_requests_out() -> None:
    states = [RequestState.RECORDED, RequestState.SENT_FOR_ENROLLMENT, RequestState.AWAITING_CENTRAL,
              RequestState.WAITING_FOR_BLANKS, RequestState.COLLECTED, RequestState.REJECTED]

    backlog = backlog_by_step(states)

    assert list(backlog) == list(WAITING_STEPS)
    assert backlog[Step.APPROVAL] == 2
    assert backlog[Step.DEADLETTER] == 1
    assert backlog[Step.PRINT] == 1
    assert backlog[Step.PICKUP] == 0
    assert Step.DONE not in backlog


def test_stuck_lists_old_waits_longest_first_but_not_cards_waiting_for_their_citizen() -> None:
    statuses = [
        _status("a" * 32, RequestState.AWAITING_CENTRAL, 90),
        _status("b" * 32, RequestState.PRINT_QUEUED, 240),
        _status("c" * 32, RequestState.RECORDED, 5),             # recent: not stuck
        _status("d" * 32, RequestState.READY_FOR_PICKUP, 600),   # waits for the citizen
        _status("e" * 32, RequestState.COLLECTED, 600),          # finished
    ]

    stuck = stuck_requests(statuses, now=NOW, older_than=dt.timedelta(minutes=30))

    assert [s.request_id[0] for s in stuck] == ["b", "a"]
    assert stuck[0].step is Step.PRINT
    assert stuck[0].waiting_seconds == 240 * 60
