"""One citizen's entry: statuses folded forward only, a card announced once, fingers forgotten once handed over."""

from __future__ import annotations

import datetime as dt

from events.approval import ApprovalDecided, CentralDecision
from events.common import WIB
from events.enrollment import EnrollmentRecorded, Finger
from events.pickup import CardArrived, PickupRequested
from events.printing import CardPrinted
from events.status import RequestState
from processors.approval import decided
from processors.citizen import Changed, Citizen, fold, learn_of_card, present_finger
from processors.intake import KNOWN_REQUESTS_KEPT, CitizenRequests
from processors.pickup import card_arrived, expected_pickup
from processors.status import update_from_card_printed, update_from_recorded
from tests.support.submissions import digest, recorded_enrollment, valid_submission

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=WIB)
KEY = digest("budi")


def approval(request_id: str = "req-1") -> tuple[EnrollmentRecorded, ApprovalDecided]:
    record = recorded_enrollment(valid_submission(request_id=request_id, person="budi"), at=NOW, citizen_key=KEY)
    decision = decided(record, decision=CentralDecision.PRINT_READY_RECORD, reason="ok", decided_at=NOW,
                       token="a.b.c", now=NOW)
    return record, decision


def printed(request_id: str = "req-1") -> CardArrived:
    card = CardPrinted(request_id=request_id, citizen_key=KEY, job_id=request_id, card_serial="S-1",
                       blank_serial="B-1", station_id="TPI-01", printed_at=NOW)
    return card_arrived(card, NOW)


def test_a_status_moves_forward_and_a_late_fact_does_not_move_it_back() -> None:
    """PRINTED folded before RECORDED leaves the request PRINTED; only a move is noted for publishing."""
    record, _decision = approval()
    card = CardPrinted(request_id="req-1", citizen_key=KEY, job_id="req-1", card_serial="S-1", blank_serial="B-1",
                       station_id="TPI-01", printed_at=NOW)
    changed = Changed()
    citizen = fold(Citizen(), update_from_card_printed(card), changed)
    late = Changed()
    citizen = fold(citizen, update_from_recorded(record), late)
    assert getattr(citizen.status_of("req-1"), "state", None) == RequestState.PRINTED
    assert set(changed.statuses) == {"req-1"}
    assert late.statuses == {}


def test_a_card_is_announced_once_both_its_approval_and_the_card_are_known_in_either_order() -> None:
    """The printed card may arrive before the approval's fingers; either way one announcement, READY_FOR_PICKUP."""
    _record, decision = approval()
    expected = expected_pickup(decision, NOW)
    assert expected is not None
    for first, second in ((expected, printed()), (printed(), expected)):
        changed = Changed()
        citizen = learn_of_card(Citizen(), first, NOW, changed)
        assert changed.ready == []
        citizen = learn_of_card(citizen, second, NOW, changed)
        citizen = learn_of_card(citizen, second, NOW, changed)  # the same fact again
        assert [ready.request_id for ready in changed.ready] == ["req-1"]
        assert getattr(citizen.status_of("req-1"), "state", None) == RequestState.READY_FOR_PICKUP


def test_once_handed_over_the_enrolled_fingers_are_forgotten_and_a_second_collection_is_refused() -> None:
    """The right thumb collects; the entry keeps no finger digest; presenting again says it was collected."""
    _record, decision = approval()
    fingers = valid_submission(request_id="req-1", person="budi")["biometrics"]["fingerprints"]
    expected = expected_pickup(decision, NOW)
    assert expected is not None
    citizen = learn_of_card(learn_of_card(Citizen(), expected, NOW, Changed()), printed(), NOW, Changed())

    def press(finger: str) -> PickupRequested:
        return PickupRequested(request_id="req-1", finger=Finger.RIGHT_THUMB, fingerprint=fingers[finger],
                               desk_id="AMBIL-01", requested_at=NOW)

    changed = Changed()
    citizen = present_finger(citizen, press("left_thumb"), NOW, changed)
    citizen = present_finger(citizen, press("right_thumb"), NOW, changed)
    citizen = present_finger(citizen, press("right_thumb"), NOW, changed)
    assert [(c.outcome, c.reason_code) for c in changed.collected] == [
        ("refused", "FINGERPRINT_MISMATCH"), ("collected", None), ("refused", "ALREADY_COLLECTED")]
    assert citizen.pickups["req-1"].fingerprints is None
    assert getattr(citizen.status_of("req-1"), "state", None) == RequestState.COLLECTED


def test_the_entry_round_trips_through_json_and_keeps_a_bounded_number_of_statuses() -> None:
    """Statuses of requests nobody remembers any more are dropped beyond the last few; the rest round-trip."""
    changed = Changed()
    citizen = Citizen(requests=CitizenRequests(("req-1",), "req-1"))
    for number in range(KNOWN_REQUESTS_KEPT + 5):
        card = CardPrinted(request_id=f"old-{number}", citizen_key=KEY, job_id="j", card_serial="S",
                           blank_serial="B", station_id="TPI-01", printed_at=NOW + dt.timedelta(minutes=number))
        citizen = fold(citizen, update_from_card_printed(card), changed)
    record, _decision = approval()
    citizen = fold(citizen, update_from_recorded(record), changed)
    again = Citizen.from_json(citizen.to_json())
    assert again.requests == citizen.requests
    assert "req-1" in again.statuses, "a request the intake remembers keeps its status"
    assert len(again.statuses) == KNOWN_REQUESTS_KEPT + 1
    assert "old-0" not in again.statuses
    assert f"old-{KNOWN_REQUESTS_KEPT + 4}" in again.statuses
    assert again.open_request_finished() is False
