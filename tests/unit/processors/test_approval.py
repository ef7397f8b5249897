"""The approval step's rules: rounds per citizen, the citizen's memory, and what becomes of each answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from events.approval import ApprovalDecided, CentralDecision, FailureReason
from events.common import WIB
from events.enrollment import EnrollmentRecorded
from events.status import RequestState
from processors.approval import (
    DECIDED_KEPT,
    Answer,
    CitizenApprovals,
    Failed,
    Settled,
    Skipped,
    approval_rounds,
    decided,
    enrollment_for_central,
    refused_by_central,
    sent_for_enrollment,
    settle,
)
from processors.dead_letter import Route
from tests.support.submissions import digest, recorded_enrollment, valid_submission

NOW = dt.datetime(2026, 11, 28, 9, 30, tzinfo=WIB)
MAX_ATTEMPTS = 3
TOKEN = "header.payload.signature"


def recorded(citizen: str = "budi", request_id: str = "req-1") -> EnrollmentRecorded:
    """The intake's record of a valid submission `request_id` of `citizen` (their key: a digest of the name)."""
    return recorded_enrollment(valid_submission(request_id=request_id, person=citizen), at=NOW,
                               citizen_key=digest(citizen))


def approved(request_id: str = "req-1") -> ApprovalDecided:
    """Central's print-ready decision on `request_id` of the test citizen."""
    return decided(recorded(request_id=request_id), decision=CentralDecision.PRINT_READY_RECORD,
                   reason="unique in the country", decided_at=NOW, token=TOKEN, now=NOW)


def timed_out() -> Failed:
    """Central did not answer in time: a try of the record's own."""
    return Failed(TimeoutError("central timed out"), FailureReason.TIMEOUT, NOW)


def breaker_open() -> Failed:
    """The breaker is open: central was never reached, so no try counts."""
    return Failed(ConnectionError("circuit open"), FailureReason.CIRCUIT_OPEN, NOW, counts_as_attempt=False)


def settle_now(citizen: CitizenApprovals, request_id: str, answer: Answer | None, *,
               attempts_before: int = 0) -> Settled:
    """Settle `request_id` as the step does: routed by the citizen's memory, central asked only if routed there."""
    route = citizen.route(request_id)
    return settle(citizen, request_id, route=route,
                  answer=answer if route == Route.ASK_CENTRAL else None,
                  attempts_before=attempts_before, max_attempts=MAX_ATTEMPTS, now=NOW)


# -- rounds ----------------------------------------------------------------------------------------------


def test_a_round_holds_at_most_one_record_per_citizen_each_citizens_in_order() -> None:
    """Citizens a,b,a,c,a,b split into rounds [a0,b1,c3], [a2,b5], [a4]."""
    batch = [(number, recorded(citizen, f"{citizen}{number}")) for number, citizen in enumerate("abacab")]

    rounds = approval_rounds(batch)

    assert [[record.request_id for _item, record in round_] for round_ in rounds] == [
        ["a0", "b1", "c3"], ["a2", "b5"], ["a4"],
    ]
    assert [[item for item, _record in round_] for round_ in rounds] == [[0, 1, 3], [2, 5], [4]]


def test_an_empty_batch_has_no_rounds() -> None:
    """Nothing read, nothing to ask central."""
    assert approval_rounds([]) == []


# -- what central is sent ------------------------------------------------------------------------------------


def test_central_is_sent_the_submission_with_the_citizen_key() -> None:
    """The body of the enrollment call is the submission's JSON shape plus the citizen key central signs."""
    record = recorded()

    body = enrollment_for_central(record)

    assert body == {**record.submission.model_dump(mode="json"), "citizen_key": record.citizen_key}


def test_a_record_sent_to_central_is_noted_as_sent_for_enrollment() -> None:
    """The status note names the request, its citizen and office, in state SENT_FOR_ENROLLMENT."""
    record = recorded()

    note = sent_for_enrollment(record, NOW)

    assert (note.request_id, note.citizen_key, note.office_code) == ("req-1", record.citizen_key, "2172")
    assert note.state == RequestState.SENT_FOR_ENROLLMENT
    assert note.occurred_at == NOW


def test_a_permanent_refusal_ends_the_request_as_an_enrollment_failure_without_a_token() -> None:
    """A 4xx from central becomes ENROLL_FAILURE_AT_CENTRAL, says why, and carries no token to print from."""
    record = recorded()

    refusal = refused_by_central(record, 422, "NIK_UNKNOWN", "no such NIK in the national register", NOW)

    assert refusal.decision == CentralDecision.ENROLL_FAILURE_AT_CENTRAL
    assert refusal.token == ""
    assert "422 NIK_UNKNOWN" in refusal.reason
    assert refusal.record == record
    assert refusal.decided_at == NOW


def test_a_refusals_reason_is_bounded() -> None:
    """However long central's detail, the reason stays within 500 characters."""
    refusal = refused_by_central(recorded(), 400, "BAD", "x" * 5_000, NOW)

    assert len(refusal.reason) == 500


# -- the citizen's memory --------------------------------------------------------------------------------------


def test_the_memory_round_trips_through_json() -> None:
    """What `to_json` writes to the table, `from_json` reads back unchanged."""
    citizen = CitizenApprovals(waiting=("req-2", "req-3"), decided=("req-1",))

    assert CitizenApprovals.from_json(citizen.to_json()) == citizen


def test_the_stored_shape_is_read() -> None:
    """The table's shape {waiting, decided} is read field by field; a field it no longer writes is ignored."""
    stored = {"waiting": ["req-2"], "decided": ["req-0", "req-1"]}

    citizen = CitizenApprovals.from_json({**stored, "last_decided": {"by": "ektp.enrollment.recorded@2:41"}})

    assert citizen == CitizenApprovals(waiting=("req-2",), decided=("req-0", "req-1"))
    assert citizen.to_json() == stored


@pytest.mark.parametrize("stored", [None, {}, {"waiting": [], "decided": []}])
def test_a_citizen_never_seen_has_an_empty_memory(stored: dict[str, Any] | None) -> None:
    """No entry (or an empty one) reads as nothing waiting, nothing decided."""
    citizen = CitizenApprovals.from_json(stored)

    assert citizen == CitizenApprovals()
    assert citizen.to_json() == {"waiting": [], "decided": []}


# -- central decides ---------------------------------------------------------------------------------------


def test_a_decision_leaves_the_line_and_is_remembered() -> None:
    """A decided request waits no more and is remembered as decided."""
    decision = approved("req-1")

    settled = settle_now(CitizenApprovals(waiting=("req-1", "req-2")), "req-1", decision)

    assert settled.outcome == decision
    assert settled.citizen.waiting == ("req-2",)
    assert settled.citizen.decided == ("req-1",)
    assert (settled.attempts, settled.parked) == (0, False)
    assert settled.citizen.route("req-1") == Route.ALREADY_DECIDED


def test_only_the_latest_decided_requests_are_remembered() -> None:
    """After a decision the memory keeps the last DECIDED_KEPT request ids, the oldest dropped first."""
    earlier = tuple(f"old-{number}" for number in range(DECIDED_KEPT))

    settled = settle_now(CitizenApprovals(decided=earlier), "req-1", approved("req-1"))

    assert settled.citizen.decided == (*earlier[1:], "req-1")


def test_a_decided_request_read_again_is_skipped() -> None:
    """A replay or a redelivery of a decided request publishes nothing and changes nothing: its decision is out."""
    citizen = settle_now(CitizenApprovals(), "req-1", approved("req-1")).citizen

    settled = settle_now(citizen, "req-1", None)

    assert isinstance(settled.outcome, Skipped)
    assert settled.citizen == citizen


def test_a_record_routed_to_central_without_an_answer_is_a_bug() -> None:
    """Settling a record routed ASK_CENTRAL with no answer raises ValueError."""
    with pytest.raises(ValueError, match="needs central's answer"):
        settle(CitizenApprovals(), "req-1", route=Route.ASK_CENTRAL, answer=None,
               attempts_before=0, max_attempts=MAX_ATTEMPTS, now=NOW)


# -- order and failures ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("attempts_before", [0, MAX_ATTEMPTS - 1, MAX_ATTEMPTS])
def test_a_later_record_waits_behind_an_earlier_one_without_counting_a_try_or_parking(attempts_before: int) -> None:
    """A citizen's later record is diverted behind the waiting one: no attempt added, never parked."""
    citizen = CitizenApprovals(waiting=("req-1",))

    settled = settle_now(citizen, "req-2", None, attempts_before=attempts_before)

    assert isinstance(settled.outcome, Failed)
    assert settled.outcome.reason == FailureReason.DIVERTED
    assert not settled.outcome.counts_as_attempt
    assert "req-1" in str(settled.outcome.error)
    assert (settled.attempts, settled.parked) == (attempts_before, False)
    assert settled.citizen.waiting == ("req-1", "req-2")


def test_a_record_diverted_again_keeps_its_place_in_line() -> None:
    """Diverting a record already waiting neither moves nor repeats it."""
    citizen = CitizenApprovals(waiting=("req-1", "req-2", "req-3"))

    settled = settle_now(citizen, "req-2", None)

    assert settled.citizen.waiting == ("req-1", "req-2", "req-3")


def test_a_failure_that_counts_adds_one_try_and_holds_the_citizens_later_records() -> None:
    """A timed-out record gains one attempt, waits in line, and the citizen's next record waits behind it."""
    failure = timed_out()

    settled = settle_now(CitizenApprovals(), "req-1", failure, attempts_before=1)

    assert settled.outcome is failure
    assert (settled.attempts, settled.parked) == (2, False)
    assert settled.citizen.waiting == ("req-1",)
    assert settled.citizen.route("req-2") == Route.DIVERT


def test_at_max_attempts_a_record_parks_and_no_longer_holds_the_citizens_later_records() -> None:
    """The try that reaches max_attempts parks the record and takes it out of line; the next one goes ahead."""
    failure = timed_out()

    settled = settle_now(CitizenApprovals(waiting=("req-1", "req-2")), "req-1", failure,
                         attempts_before=MAX_ATTEMPTS - 1)

    assert settled.outcome is failure
    assert (settled.attempts, settled.parked) == (MAX_ATTEMPTS, True)
    assert settled.citizen.waiting == ("req-2",)
    assert settled.citizen.route("req-2") == Route.ASK_CENTRAL
    assert "req-1" not in settled.citizen.decided


def test_an_open_breaker_never_parks_a_record_by_itself() -> None:
    """However often the breaker is open, a record one try short of parking stays one try short, in line."""
    citizen = CitizenApprovals()
    for _ in range(MAX_ATTEMPTS * 3):
        settled = settle_now(citizen, "req-1", breaker_open(), attempts_before=MAX_ATTEMPTS - 1)
        citizen = settled.citizen

        assert (settled.attempts, settled.parked) == (MAX_ATTEMPTS - 1, False)
    assert citizen.waiting == ("req-1",)
