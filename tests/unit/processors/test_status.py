"""The status tracker's rules: events to updates, monotonic and idempotent transitions, explanations."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Iterable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.approval import ApprovalDecided, CentralDecision
from events.common import WIB
from events.enrollment import (
    Area,
    EnrollmentRecorded,
    EnrollmentRejected,
    EnrollmentSubmission,
    Finger,
    RawEncoding,
    RequestType,
)
from events.pickup import CardCollected, CardReadyForPickup
from events.printing import CardData, CardPrinted, PrintRequested
from events.rule_errors import RuleError
from events.status import RequestState, RequestStatus
from processors.status import (
    FINAL_STATES,
    STATE_RANK,
    TERMINAL_STATES,
    TIMELINE_LIMIT,
    StatusUpdate,
    advance_status,
    explain,
    is_terminal,
    update_from_card_printed,
    update_from_collected,
    update_from_decided,
    update_from_print_requested,
    update_from_ready,
    update_from_recorded,
    update_from_rejected,
)

S = RequestState
T0 = dt.datetime(2026, 11, 28, 9, 15, tzinfo=WIB)
REQUEST_ID = "0b6f4c1e-8f0a-4d53-9a57-7c1f2b0e9d11"
CITIZEN_KEY = "c" * 64
NIK = "2172041708900001"
DECISIONS = [S.PRINT_READY_RECORD, S.DUPLICATE_RECORD, S.ADJUDICATE_RECORD, S.ENROLL_FAILURE_AT_CENTRAL]
HAPPY_PATH = [
    S.RECORDED,
    S.SENT_FOR_ENROLLMENT,
    S.AWAITING_CENTRAL,
    S.PARKED,
    S.PRINT_READY_RECORD,
    S.PRINT_QUEUED,
    S.WAITING_FOR_BLANKS,
    S.PRINTED,
    S.READY_FOR_PICKUP,
    S.COLLECTED,
]
_event_ids = itertools.count(1)


def update(
    state: RequestState,
    *,
    minute: int = 0,
    note: str | None = None,
    request_id: str = REQUEST_ID,
    office_code: str | None = None,
    citizen_key: str | None = None,
    nik_masked: str | None = None,
    error_codes: tuple[str, ...] = (),
) -> StatusUpdate:
    """An update of the test request with a fresh event_id, `minute` minutes after T0."""
    return StatusUpdate(
        request_id=request_id,
        state=state,
        at=T0 + dt.timedelta(minutes=minute),
        event_id=f"event-{next(_event_ids)}",
        office_code=office_code,
        citizen_key=citizen_key,
        nik_masked=nik_masked,
        note=note,
        error_codes=error_codes,
    )


def fold(updates: Iterable[StatusUpdate], start: RequestStatus | None = None) -> RequestStatus | None:
    """The status after applying `updates` in order, as the tracker does."""
    status = start
    for each in updates:
        status = advance_status(status, each) or status
    return status


def status_in(state: RequestState) -> RequestStatus:
    """A status that has reached `state` (from nothing, as a first event may)."""
    status = advance_status(None, update(state, office_code="2172"))
    assert status is not None
    return status


# Events, as the other steps write them.


def submission() -> EnrollmentSubmission:
    """The example submission of docs/architecture.md."""
    digest = "a" * 64
    return EnrollmentSubmission.model_validate(
        {
            "request_id": REQUEST_ID,
            "submitted_at": T0,
            "office_code": "2172",
            "desk_id": "REKAM-01",
            "request_type": "new",
            "resident": {
                "nik": NIK,
                "kk_number": "2172042103150001",
                "full_name": "BUDI SANTOSO",
                "birth_place": "TANJUNG PINANG",
                "birth_date": "1990-08-17",
                "sex": "male",
                "blood_type": "O",
                "religion": "islam",
                "marital_status": "married",
                "occupation": "KARYAWAN SWASTA",
                "citizenship": "WNI",
                "address": {
                    "street": "JL. KIJANG LAMA NO. 5",
                    "rt": "002",
                    "rw": "004",
                    "kelurahan": "TANJUNG AYUN SAKTI",
                    "kecamatan": "BUKIT BESTARI",
                    "city": "KOTA TANJUNG PINANG",
                    "province": "KEPULAUAN RIAU",
                },
            },
            "biometrics": {
                "fingerprints": {finger.value: digest for finger in Finger},
                "iris_left": digest,
                "iris_right": digest,
                "face": digest,
                "signature": digest,
                "quality": {"min_fingerprint": 72, "face": 90},
            },
        }
    )


def recorded() -> EnrollmentRecorded:
    """The intake's record of the example submission."""
    return EnrollmentRecorded(
        request_id=REQUEST_ID,
        occurred_at=T0,
        citizen_key=CITIZEN_KEY,
        nik_masked="217204******0001",
        office_code="2172",
        request_type=RequestType.NEW,
        area=Area(kecamatan_code="217204", province=None, regency=None, kecamatan="Bukit Bestari"),
        submission=submission(),
    )


def rejected(*, request_id_known: bool = True) -> EnrollmentRejected:
    """The intake's refusal of a submission with a bad NIK and a missing finger."""
    errors = tuple(
        RuleError(code=code, field=field, message_id="salah", message_en="wrong")
        for code, field in [
            ("NIK_DATE", "resident.nik"),
            ("FINGERPRINT_MISSING", "biometrics.fingerprints.left_little"),
            ("NIK_DATE", "resident.nik"),
        ]
    )
    return EnrollmentRejected(
        request_id=REQUEST_ID if request_id_known else "unknown",
        request_id_known=request_id_known,
        occurred_at=T0,
        errors=errors,
        raw_key=None,
        raw_key_encoding=RawEncoding.ABSENT,
        raw_value="{}",
        raw_value_encoding=RawEncoding.UTF8,
        nik_masked="217204******0001",
        office_code="2172",
    )


def decided(decision: CentralDecision) -> ApprovalDecided:
    """Central's decision on the example record."""
    return ApprovalDecided(
        request_id=REQUEST_ID,
        occurred_at=T0,
        citizen_key=CITIZEN_KEY,
        decision=decision,
        reason="deduplicated against the country",
        decided_at=T0,
        token="header.payload.signature",
        record=recorded(),
    )


def print_requested() -> PrintRequested:
    """A print job for the example record."""
    subject = submission()
    resident = subject.resident
    card = CardData(
        nik=resident.nik,
        full_name=resident.full_name,
        birth_place=resident.birth_place,
        birth_date=resident.birth_date,
        sex=resident.sex,
        blood_type=resident.blood_type,
        address=resident.address,
        religion=resident.religion,
        marital_status=resident.marital_status,
        occupation=resident.occupation,
        citizenship=resident.citizenship,
        issued_in="KOTA TANJUNG PINANG",
        face=subject.biometrics.face,
        signature=subject.biometrics.signature,
    )
    return PrintRequested(
        request_id=REQUEST_ID,
        occurred_at=T0,
        job_id="job-1",
        citizen_key=CITIZEN_KEY,
        office_code="2172",
        request_type=RequestType.NEW,
        priority=0,
        approval_token="header.payload.signature",
        card=card,
    )


def card_printed() -> CardPrinted:
    """The station's report of the printed card."""
    return CardPrinted(
        request_id=REQUEST_ID,
        occurred_at=T0,
        citizen_key=CITIZEN_KEY,
        job_id="job-1",
        card_serial="CARD-1",
        blank_serial="BLANK-1",
        station_id="TPI-01",
        printed_at=T0,
    )


def ready() -> CardReadyForPickup:
    """The card waits at the office."""
    return CardReadyForPickup(
        request_id=REQUEST_ID,
        occurred_at=T0,
        citizen_key=CITIZEN_KEY,
        card_serial="CARD-1",
        office_code="2172",
        station_id="TPI-01",
    )


def collected_update(outcome: str, reason: str | None = None) -> StatusUpdate:
    """The update a pickup outcome gives, which for these outcomes is never None."""
    result = update_from_collected(collected(outcome, reason))
    assert result is not None
    return result


def collected(outcome: str, reason: str | None = None) -> CardCollected:
    """The pickup desk's outcome."""
    return CardCollected.model_validate(
        {
            "request_id": REQUEST_ID,
            "occurred_at": T0,
            "citizen_key": CITIZEN_KEY,
            "outcome": outcome,
            "reason": reason,
            "desk_id": "AMBIL-01",
            "finger": "right_thumb",
        }
    )


# Events to updates.


def test_a_recorded_enrollment_becomes_recorded_with_its_identity() -> None:
    """A recorded enrollment gives RECORDED, the office, the citizen key and the masked NIK."""
    event = recorded()
    result = update_from_recorded(event)
    assert result == StatusUpdate(
        request_id=REQUEST_ID,
        state=S.RECORDED,
        at=T0,
        event_id=str(event.event_id),
        office_code="2172",
        citizen_key=CITIZEN_KEY,
        nik_masked="217204******0001",
    )


def test_a_rejected_submission_becomes_rejected_with_each_error_code_once() -> None:
    """A refusal gives REJECTED with its error codes, in order, without repeats."""
    result = update_from_rejected(rejected())
    assert result is not None
    assert result.state is S.REJECTED
    assert result.error_codes == ("NIK_DATE", "FINGERPRINT_MISSING")
    assert (result.office_code, result.nik_masked) == ("2172", "217204******0001")


def test_a_rejection_without_a_readable_request_id_updates_no_status() -> None:
    """A message whose request_id could not be read belongs to no request."""
    assert update_from_rejected(rejected(request_id_known=False)) is None


@pytest.mark.parametrize("decision", list(CentralDecision))
def test_a_decision_becomes_the_state_of_the_same_name(decision: CentralDecision) -> None:
    """Central's decision is the request's state, its reason the note."""
    result = update_from_decided(decided(decision))
    assert result.state == RequestState(decision.value)
    assert result.note == "deduplicated against the country"
    assert (result.citizen_key, result.office_code) == (CITIZEN_KEY, "2172")


def test_a_print_job_becomes_print_queued() -> None:
    """A print job sent to the stations means PRINT_QUEUED."""
    result = update_from_print_requested(print_requested())
    assert (result.state, result.office_code, result.citizen_key) == (S.PRINT_QUEUED, "2172", CITIZEN_KEY)


def test_a_printed_card_becomes_printed() -> None:
    """A card out of the printer means PRINTED."""
    assert update_from_card_printed(card_printed()).state is S.PRINTED


def test_a_card_at_the_office_becomes_ready_for_pickup() -> None:
    """A card waiting at the office means READY_FOR_PICKUP."""
    result = update_from_ready(ready())
    assert (result.state, result.office_code) == (S.READY_FOR_PICKUP, "2172")


def test_a_card_handed_over_becomes_collected() -> None:
    """A handed-over card means COLLECTED, without a note."""
    result = collected_update("collected")
    assert (result.state, result.note) == (S.COLLECTED, None)


def test_a_refused_pickup_stays_ready_for_pickup_with_the_reason_as_a_note() -> None:
    """A refusal leaves the card waiting; the note says why."""
    result = collected_update("refused", "fingerprint mismatch")
    assert result.state is S.READY_FOR_PICKUP
    assert result.note is not None
    assert "refused" in result.note
    assert "fingerprint mismatch" in result.note


@pytest.mark.parametrize("reason_code", ["CARD_NOT_READY", "ALREADY_COLLECTED", "UNKNOWN_REQUEST"])
def test_a_refusal_that_is_not_about_the_finger_leaves_the_status_alone(reason_code: str) -> None:
    """Only a wrong finger is a note on a waiting card; other refusals change no request's status."""
    refusal = collected("refused", "scripted").model_copy(update={"reason_code": reason_code})
    assert update_from_collected(refusal) is None


def test_every_update_carries_its_event_id() -> None:
    """The event_id of the event is the update's, so a redelivery is recognised."""
    event = card_printed()
    assert update_from_card_printed(event).event_id == str(event.event_id)


def test_an_update_needs_a_time_zone_aware_time() -> None:
    """A naive time is refused where it is made, not later in the status model."""
    with pytest.raises(ValueError, match="time-zone aware"):
        StatusUpdate(request_id=REQUEST_ID, state=S.RECORDED, at=dt.datetime(2026, 1, 1), event_id="e")


# Forward transitions.

HAPPY_TRANSITIONS: list[tuple[RequestState | None, RequestState]] = [
    (None, S.SUBMITTED),
    (None, S.RECORDED),
    (None, S.REJECTED),
    (S.SUBMITTED, S.RECORDED),
    (S.SUBMITTED, S.REJECTED),
    (S.RECORDED, S.SENT_FOR_ENROLLMENT),
    *[(S.SENT_FOR_ENROLLMENT, decision) for decision in DECISIONS],
    (S.SENT_FOR_ENROLLMENT, S.AWAITING_CENTRAL),
    *[(S.AWAITING_CENTRAL, decision) for decision in DECISIONS],
    (S.AWAITING_CENTRAL, S.PARKED),
    *[(S.PARKED, decision) for decision in DECISIONS],
    (S.PRINT_READY_RECORD, S.PRINT_QUEUED),
    (S.PRINT_QUEUED, S.WAITING_FOR_BLANKS),
    (S.PRINT_QUEUED, S.PRINTED),
    (S.WAITING_FOR_BLANKS, S.PRINTED),
    (S.PRINTED, S.READY_FOR_PICKUP),
    (S.READY_FOR_PICKUP, S.COLLECTED),
]


@pytest.mark.parametrize(("before", "after"), HAPPY_TRANSITIONS)
def test_every_happy_path_transition_is_taken(before: RequestState | None, after: RequestState) -> None:
    """Each step of the state diagram (docs/architecture.md) moves the request on and records it in the timeline."""
    current = None if before is None else status_in(before)
    step = update(after, minute=5)
    result = advance_status(current, step)
    assert result is not None
    assert result.state is after
    assert result.terminal is (after in TERMINAL_STATES)
    assert result.updated_at == T0 + dt.timedelta(minutes=5)
    assert result.last_event_id == step.event_id
    assert (result.explanation_id, result.explanation_en) == explain(after)
    assert result.timeline[-1].state is after
    assert [entry.state for entry in result.timeline] == [s for s in (before, after) if s is not None]


def test_a_later_step_may_arrive_before_the_steps_it_skips() -> None:
    """Topics are not ordered against each other: PRINTED may be the first news after RECORDED."""
    result = advance_status(status_in(S.RECORDED), update(S.PRINTED))
    assert result is not None
    assert result.state is S.PRINTED


def test_a_whole_happy_path_ends_collected_with_its_whole_timeline() -> None:
    """Every step of the long way (outage, parking, out of blanks) is kept in order."""
    result = fold(update(state, minute=index) for index, state in enumerate(HAPPY_PATH))
    assert result is not None
    assert result.state is S.COLLECTED
    assert result.terminal
    assert [entry.state for entry in result.timeline] == HAPPY_PATH


# Backward and sideways transitions.

NON_FINAL = [state for state in RequestState if state not in FINAL_STATES]
BACKWARD_OR_SIDEWAYS = [
    (current, late)
    for current in NON_FINAL
    for late in RequestState
    if late is not current and STATE_RANK[late] <= STATE_RANK[current]
]


@pytest.mark.parametrize(("current", "late"), BACKWARD_OR_SIDEWAYS)
def test_no_update_moves_a_request_backwards_or_sideways(current: RequestState, late: RequestState) -> None:
    """An update ranked at or below the current state (and not the same state) changes nothing."""
    assert advance_status(status_in(current), update(late, minute=9, note="late")) is None


def test_a_late_recorded_event_never_moves_a_printed_request_back() -> None:
    """A RECORDED redelivered after printing is ignored."""
    printed = fold([update(S.RECORDED), update(S.PRINT_READY_RECORD), update(S.PRINTED)])
    assert printed is not None
    assert advance_status(printed, update_from_recorded(recorded())) is None


def test_a_late_print_job_does_not_undo_waiting_for_blanks() -> None:
    """A replayed PRINT_QUEUED leaves a job that waits for blanks waiting."""
    assert advance_status(status_in(S.WAITING_FOR_BLANKS), update(S.PRINT_QUEUED)) is None


def test_a_resent_record_leaves_an_awaiting_request_awaiting_central() -> None:
    """A replay that announces SENT_FOR_ENROLLMENT again does not hide that the record waited."""
    assert advance_status(status_in(S.AWAITING_CENTRAL), update(S.SENT_FOR_ENROLLMENT)) is None


def test_a_second_different_decision_does_not_replace_the_first() -> None:
    """Decisions share a rank: the first one the tracker saw stands."""
    assert advance_status(status_in(S.PRINT_READY_RECORD), update(S.DUPLICATE_RECORD)) is None


@pytest.mark.parametrize("later", [S.RECORDED, S.SENT_FOR_ENROLLMENT, S.PRINT_READY_RECORD, S.PRINTED])
def test_a_rejection_comes_only_from_nothing_or_submitted(later: RequestState) -> None:
    """A refused duplicate submission does not turn an accepted request into a rejected one."""
    assert advance_status(status_in(later), update(S.REJECTED)) is None


# Terminal states.


@pytest.mark.parametrize(
    ("final", "offered"), [(final, offered) for final in sorted(FINAL_STATES) for offered in RequestState]
)
def test_a_final_state_accepts_nothing_more(final: RequestState, offered: RequestState) -> None:
    """REJECTED, the three refusing decisions and COLLECTED stay, whatever comes, even with a note."""
    assert advance_status(status_in(final), update(offered, minute=9, note="anything")) is None


def test_the_terminal_states_are_those_of_the_design() -> None:
    """docs/architecture.md names six terminal states; all but PARKED are final."""
    assert {state for state in RequestState if is_terminal(state)} == {
        S.REJECTED,
        S.DUPLICATE_RECORD,
        S.ADJUDICATE_RECORD,
        S.ENROLL_FAILURE_AT_CENTRAL,
        S.PARKED,
        S.COLLECTED,
    }
    terminal_but_not_final = TERMINAL_STATES - FINAL_STATES
    assert terminal_but_not_final == {S.PARKED}


def test_a_parked_request_is_shown_as_terminal() -> None:
    """PARKED needs a person: the status says so."""
    assert status_in(S.PARKED).terminal


def test_an_awaiting_request_moves_on_when_a_replay_gets_a_decision() -> None:
    """The dead-letter replay's decision ends the wait."""
    result = advance_status(
        status_in(S.AWAITING_CENTRAL), update_from_decided(decided(CentralDecision.PRINT_READY_RECORD))
    )
    assert result is not None
    assert (result.state, result.terminal) == (S.PRINT_READY_RECORD, False)


@pytest.mark.parametrize("decision", list(CentralDecision))
def test_a_parked_request_moves_on_when_a_manual_replay_gets_a_decision(decision: CentralDecision) -> None:
    """PARKED is terminal for the machine, not for the operator who replays it by hand."""
    result = advance_status(status_in(S.PARKED), update_from_decided(decided(decision)))
    assert result is not None
    assert result.state == RequestState(decision.value)


def test_a_parked_request_accepts_a_later_step_that_implies_a_decision() -> None:
    """A print job exists only for a PRINT_READY_RECORD, so it moves a parked request on too."""
    result = advance_status(status_in(S.PARKED), update(S.PRINT_QUEUED))
    assert result is not None
    assert result.state is S.PRINT_QUEUED


def test_a_parked_request_records_a_failed_manual_replay_as_a_note() -> None:
    """Parked again after a failed manual replay: the state stays, the timeline says what happened."""
    result = advance_status(status_in(S.PARKED), update(S.PARKED, minute=3, note="manual replay failed"))
    assert result is not None
    assert result.state is S.PARKED
    assert result.timeline[-1].note == "manual replay failed"


# Idempotency.


def test_the_same_event_applied_twice_changes_nothing() -> None:
    """A redelivered event is recognised by its event_id."""
    event = update_from_ready(ready())
    once = advance_status(status_in(S.PRINTED), event)
    assert once is not None
    assert advance_status(once, event) is None


def test_the_same_state_again_without_a_note_changes_nothing() -> None:
    """A second event reporting the same state (a replay under a new event_id) is a no-op."""
    assert advance_status(status_in(S.PRINTED), update(S.PRINTED, minute=7)) is None


def test_a_redelivered_note_event_is_recognised_after_a_later_one() -> None:
    """A refusal redelivered after a newer refusal is not added again."""
    first = collected_update("refused", "fingerprint mismatch")
    second = dataclasses.replace(first, event_id="event-other", at=T0 + dt.timedelta(minutes=30))
    status = fold([first, second], status_in(S.READY_FOR_PICKUP))
    assert status is not None
    assert advance_status(status, first) is None


def test_a_refused_pickup_appends_its_note_once_and_keeps_ready_for_pickup() -> None:
    """One refusal, delivered twice, is one timeline entry, and the card still waits."""
    waiting = advance_status(None, update_from_ready(ready()))
    refusal = collected_update("refused", "fingerprint mismatch")
    once = advance_status(waiting, refusal)
    assert once is not None
    assert once.state is S.READY_FOR_PICKUP
    assert [entry.state for entry in once.timeline] == [S.READY_FOR_PICKUP, S.READY_FOR_PICKUP]
    assert once.timeline[-1].note == refusal.note
    assert advance_status(once, refusal) is None


def test_two_refusals_are_two_notes_and_the_card_can_still_be_collected() -> None:
    """Each refused attempt is kept; a later matching finger still hands the card over."""
    status = fold(
        [
            update(S.READY_FOR_PICKUP, minute=0),
            update(S.READY_FOR_PICKUP, minute=1, note="pickup refused: fingerprint mismatch"),
            update(S.READY_FOR_PICKUP, minute=2, note="pickup refused: fingerprint mismatch"),
            update(S.COLLECTED, minute=3),
        ]
    )
    assert status is not None
    assert status.state is S.COLLECTED
    assert len(status.timeline) == 4


# What the status keeps.


def test_the_timeline_is_bounded_and_keeps_its_beginning_and_its_newest_entries() -> None:
    """A hundred refusals keep the value small: the first entry and the latest ones remain."""
    refusals = [update(S.READY_FOR_PICKUP, minute=m, note=f"refusal {m}") for m in range(1, 101)]
    status = fold([update(S.RECORDED), update(S.READY_FOR_PICKUP), *refusals])
    assert status is not None
    assert len(status.timeline) == TIMELINE_LIMIT
    assert status.timeline[0].state is S.RECORDED
    assert status.timeline[-1].note == "refusal 100"
    assert status.timeline[1].note == f"refusal {100 - TIMELINE_LIMIT + 2}"


def test_a_note_is_masked_and_cut_to_a_bounded_length() -> None:
    """A full NIK in a note is masked; a very long note is cut."""
    status = advance_status(status_in(S.READY_FOR_PICKUP), update(S.READY_FOR_PICKUP, note=f"NIK {NIK} " * 50))
    assert status is not None
    note = status.timeline[-1].note
    assert note is not None
    assert NIK not in note
    assert "217204******0001" in note
    assert len(note) <= 200


def test_identity_fields_come_from_the_first_update_that_had_them() -> None:
    """The office, citizen key and masked NIK are set once and kept; a missing one is filled later."""
    status = fold(
        [
            update(S.RECORDED, office_code="2172", nik_masked="217204******0001"),
            update(S.PRINT_QUEUED, office_code="2171", citizen_key="k" * 64),
            update(S.PRINTED, citizen_key="x" * 64, nik_masked="999999******9999"),
        ]
    )
    assert status is not None
    assert (status.office_code, status.citizen_key, status.nik_masked) == (
        "2172",
        "k" * 64,
        "217204******0001",
    )


def test_a_full_nik_offered_as_the_masked_one_is_masked() -> None:
    """A careless producer cannot publish a NIK through the status topic."""
    status = advance_status(None, update(S.RECORDED, nik_masked=NIK))
    assert status is not None
    assert status.nik_masked == "217204******0001"


def test_updated_at_is_the_time_of_the_update() -> None:
    """The status says when its last change happened, not when it was computed."""
    status = advance_status(status_in(S.RECORDED), update(S.SENT_FOR_ENROLLMENT, minute=42))
    assert status is not None
    assert status.updated_at == T0 + dt.timedelta(minutes=42)


def test_a_rejection_carries_its_error_codes_and_a_new_state_starts_without_them() -> None:
    """Error codes explain the state they came with."""
    rejected_status = advance_status(None, update(S.REJECTED, error_codes=("NIK_DATE",)))
    assert rejected_status is not None
    assert rejected_status.error_codes == ("NIK_DATE",)
    later = fold([update(S.AWAITING_CENTRAL, error_codes=("CENTRAL_DOWN",)), update(S.PRINT_READY_RECORD)])
    assert later is not None
    assert later.error_codes == ()


def test_an_update_of_another_request_is_a_programming_error() -> None:
    """Applying one request's update to another's status raises."""
    with pytest.raises(ValueError, match="applied to the status of"):
        advance_status(status_in(S.RECORDED), update(S.PRINTED, request_id="another-request"))


# Explanations.


@pytest.mark.parametrize("state", list(RequestState))
def test_every_state_is_explained_in_indonesian_and_english(state: RequestState) -> None:
    """Each state tells the citizen where the card is and what to do, in both languages, without a NIK."""
    indonesian, english = explain(state)
    assert indonesian.strip()
    assert english.strip()
    assert "KTP-el" in indonesian
    for text in (indonesian, english):
        assert not re.search(r"\d{16}", text)


def test_the_explanations_tell_what_to_bring_and_whether_to_record_again() -> None:
    """The states that need the citizen say so: KK for a duplicate, re-recording, coming in person."""
    assert "Kartu Keluarga (KK)" in explain(S.DUPLICATE_RECORD)[0]
    assert "perekaman ulang" in explain(S.ENROLL_FAILURE_AT_CENTRAL)[0]
    assert "tidak perlu melakukan perekaman ulang" in explain(S.AWAITING_CENTRAL)[0]
    assert "sidik jari" in explain(S.READY_FOR_PICKUP)[0]
    assert "come in person" in explain(S.READY_FOR_PICKUP)[1]


def test_states_that_differ_for_the_citizen_are_explained_differently() -> None:
    """No two states share an explanation."""
    explanations = [explain(state) for state in RequestState]
    assert len(set(explanations)) == len(explanations)


# Properties.


@st.composite
def forward_paths(draw: st.DrawFn) -> list[StatusUpdate]:
    """One request's updates along a forward path, possibly cut short, each state ranked above the last.

    The path may take the outage detour (AWAITING_CENTRAL, PARKED), any decision, the wait for blanks, and
    refused pickups (same state, with a note) before the card is collected.
    """
    states = [S.RECORDED, S.SENT_FOR_ENROLLMENT]
    if draw(st.booleans()):
        states.append(S.AWAITING_CENTRAL)
        if draw(st.booleans()):
            states.append(S.PARKED)
    decision = draw(st.sampled_from(DECISIONS))
    states.append(decision)
    if decision is S.PRINT_READY_RECORD:
        states.append(S.PRINT_QUEUED)
        if draw(st.booleans()):
            states.append(S.WAITING_FOR_BLANKS)
        states += [S.PRINTED, S.READY_FOR_PICKUP]
        states += [S.READY_FOR_PICKUP] * draw(st.integers(0, 2))
        states.append(S.COLLECTED)
    states = states[: draw(st.integers(1, len(states)))]
    return [
        update(state, minute=index, note="pickup refused" if states[:index].count(state) else None)
        for index, state in enumerate(states)
    ]


def states_along(updates: Sequence[StatusUpdate]) -> list[RequestState]:
    """The state after each update is applied, in order."""
    status: RequestStatus | None = None
    states = []
    for each in updates:
        status = advance_status(status, each) or status
        assert status is not None
        states.append(status.state)
    return states


@given(st.data())
def test_any_order_of_one_forward_path_ends_in_its_highest_ranked_state(data: st.DataObject) -> None:
    """Applying a permutation of a forward path ends in the path's last state; the rank never falls."""
    path = data.draw(forward_paths())
    shuffled = data.draw(st.permutations(path))
    states = states_along(shuffled)
    assert states[-1] is path[-1].state
    ranks = [STATE_RANK[state] for state in states]
    assert ranks == sorted(ranks)


@given(st.data())
def test_any_sequence_with_repeats_ends_in_the_highest_ranked_state_drawn(data: st.DataObject) -> None:
    """For updates drawn with repeats from one forward path, in any order, the final state is the
    highest-ranked state among those drawn, and the rank never decreases along the way."""
    path = data.draw(forward_paths())
    drawn = data.draw(st.lists(st.sampled_from(path), min_size=1, max_size=30))
    states = states_along(drawn)
    assert states[-1] is max((each.state for each in drawn), key=STATE_RANK.__getitem__)
    ranks = [STATE_RANK[state] for state in states]
    assert ranks == sorted(ranks)


@given(st.data())
def test_replaying_everything_again_changes_nothing(data: st.DataObject) -> None:
    """Applying a sequence of updates a second time (a full replay) leaves the status as it was."""
    path = data.draw(forward_paths())
    drawn = data.draw(st.lists(st.sampled_from(path), min_size=1, max_size=20))
    once = fold(drawn)
    assert fold(drawn, once) == once
