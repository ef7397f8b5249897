"""The pickup desk's rules: announce a card once it is approved and printed; hand it over to the right finger."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from events.approval import CentralDecision
from events.common import WIB
from events.enrollment import EnrollmentRecorded, Finger
from events.pickup import CardArrived, CardCollected, PickupExpected, PickupRequested
from events.printing import CardPrinted
from processors.approval import decided
from processors.pickup import (
    PickupRecord,
    card_arrived,
    expected_pickup,
    hand_over,
    ready_announcement,
    remember,
)
from tests.support.submissions import digest, recorded_enrollment, valid_submission

NOW = dt.datetime(2026, 12, 5, 10, 0, tzinfo=WIB)
REQUEST_ID = "req-1"
PERSON = "budi"
CITIZEN_KEY = digest(PERSON)


def recorded() -> EnrollmentRecorded:
    """The intake's record of the test citizen's valid submission."""
    return recorded_enrollment(valid_submission(request_id=REQUEST_ID, person=PERSON), at=NOW,
                               citizen_key=CITIZEN_KEY)


def expected(decision: CentralDecision = CentralDecision.PRINT_READY_RECORD) -> PickupExpected | None:
    """What the pickup desk learns of central's `decision` on the test request."""
    approval = decided(recorded(), decision=decision, reason="deduplicated", decided_at=NOW,
                       token="header.payload.signature", now=NOW)
    return expected_pickup(approval, NOW)


def approved() -> PickupExpected:
    """The pickup desk's note of the print-ready approval."""
    fact = expected()
    assert fact is not None
    return fact


def arrived() -> CardArrived:
    """The printed card, reported by its station, as it reaches the pickup desk."""
    printed = CardPrinted(request_id=REQUEST_ID, occurred_at=NOW, citizen_key=CITIZEN_KEY, job_id=REQUEST_ID,
                          card_serial="CARD-0001", blank_serial="BLANK-0001", station_id="TPI-01", printed_at=NOW)
    return card_arrived(printed, NOW)


def ready_record() -> PickupRecord:
    """A request approved, printed and announced, as the step keeps it once the ready announcement is sent."""
    record = remember(remember(PickupRecord(), approved()), arrived())
    assert ready_announcement(REQUEST_ID, record, NOW) is not None
    return dataclasses.replace(record, announced=True)


def presents(finger: Finger = Finger.RIGHT_THUMB, *, whose: str = PERSON) -> PickupRequested:
    """`whose` finger presented at the desk for the test request."""
    return PickupRequested(request_id=REQUEST_ID, finger=finger, fingerprint=digest(f"{whose}-{finger.value}"),
                           desk_id="AMBIL-01", requested_at=NOW)


def refusal_code(outcome: CardCollected) -> str | None:
    """The reason code of a refusal (failing the test when the card was handed over)."""
    assert outcome.outcome == "refused", outcome
    return outcome.reason_code


# -- handing over -------------------------------------------------------------------------------------------


def test_the_right_finger_collects_the_card() -> None:
    """The enrolled finger's digest hands the announced card over at the desk."""
    outcome = hand_over(ready_record(), presents(Finger.LEFT_INDEX), NOW)

    assert outcome.outcome == "collected"
    assert outcome.reason_code is None
    assert (outcome.request_id, outcome.citizen_key, outcome.card_serial) == (REQUEST_ID, CITIZEN_KEY, "CARD-0001")
    assert (outcome.desk_id, outcome.finger) == ("AMBIL-01", Finger.LEFT_INDEX)


def test_a_wrong_finger_is_refused_and_the_card_stays() -> None:
    """Another person's finger is refused FINGERPRINT_MISMATCH, naming the finger; the card is still collectable."""
    record = ready_record()

    outcome = hand_over(record, presents(Finger.RIGHT_THUMB, whose="someone-else"), NOW)

    assert refusal_code(outcome) == "FINGERPRINT_MISMATCH"
    assert outcome.reason is not None
    assert "right thumb" in outcome.reason
    assert hand_over(record, presents(Finger.RIGHT_THUMB), NOW).outcome == "collected"


def test_the_citizens_own_but_different_finger_is_refused() -> None:
    """The citizen's left thumb presented as their right thumb does not match."""
    request = presents(Finger.RIGHT_THUMB).model_copy(update={"fingerprint": digest(f"{PERSON}-left_thumb")})

    assert refusal_code(hand_over(ready_record(), request, NOW)) == "FINGERPRINT_MISMATCH"


def test_a_second_collect_is_refused_as_already_collected() -> None:
    """A card handed over once is not handed over again, even to the right finger."""
    collected = dataclasses.replace(ready_record(), collected=True)

    assert refusal_code(hand_over(collected, presents(), NOW)) == "ALREADY_COLLECTED"


def test_an_unknown_request_is_refused_without_a_citizen() -> None:
    """A request the desk never heard of is refused UNKNOWN_REQUEST, with no citizen key or card."""
    outcome = hand_over(PickupRecord(), presents(), NOW)

    assert refusal_code(outcome) == "UNKNOWN_REQUEST"
    assert (outcome.citizen_key, outcome.card_serial) == (None, None)


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(remember(PickupRecord(), approved()), id="approved-not-printed"),
        pytest.param(remember(remember(PickupRecord(), approved()), arrived()), id="printed-not-announced"),
    ],
)
def test_a_card_not_yet_announced_is_refused_as_not_ready(record: PickupRecord) -> None:
    """Until the card is announced ready, even the right finger is refused CARD_NOT_READY."""
    assert refusal_code(hand_over(record, presents(), NOW)) == "CARD_NOT_READY"


# -- the ready announcement ---------------------------------------------------------------------------------


@pytest.mark.parametrize("approval_first", [True, False])
def test_the_card_is_announced_once_both_approval_and_card_are_known_in_either_order(approval_first: bool) -> None:
    """The approval and the printed card travel on different topics: whichever comes second announces the card."""
    first, second = (approved(), arrived()) if approval_first else (arrived(), approved())

    halfway = remember(PickupRecord(), first)
    both = remember(halfway, second)
    announcement = ready_announcement(REQUEST_ID, both, NOW)

    assert ready_announcement(REQUEST_ID, halfway, NOW) is None
    assert announcement is not None
    assert (announcement.request_id, announcement.citizen_key) == (REQUEST_ID, CITIZEN_KEY)
    assert (announcement.card_serial, announcement.station_id, announcement.office_code) == (
        "CARD-0001", "TPI-01", "2172",
    )


def test_a_card_is_announced_only_once() -> None:
    """A record already announced is not announced again, even when a fact arrives twice."""
    record = remember(ready_record(), arrived())

    assert ready_announcement(REQUEST_ID, record, NOW) is None


def test_the_pickup_desk_expects_the_enrolled_fingers_of_a_print_ready_request() -> None:
    """A print-ready decision tells the desk whose card, at which office, and every enrolled finger digest."""
    fact = approved()

    assert (fact.request_id, fact.citizen_key, fact.office_code) == (REQUEST_ID, CITIZEN_KEY, "2172")
    assert fact.fingerprints == recorded().submission.biometrics.fingerprints


@pytest.mark.parametrize(
    "decision", [decision for decision in CentralDecision if decision != CentralDecision.PRINT_READY_RECORD],
)
def test_no_pickup_is_expected_for_a_request_that_will_not_be_printed(decision: CentralDecision) -> None:
    """Duplicate, adjudicate and enroll-failure decisions give the pickup desk nothing to expect."""
    assert expected(decision) is None


def test_an_arrived_card_carries_its_serial_and_station() -> None:
    """The printed card becomes an arrival with the request, citizen, card serial and station."""
    fact = arrived()

    assert (fact.request_id, fact.citizen_key, fact.card_serial, fact.station_id) == (
        REQUEST_ID, CITIZEN_KEY, "CARD-0001", "TPI-01",
    )


# -- the stored record ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [PickupRecord(), remember(PickupRecord(), approved()), dataclasses.replace(ready_record(), collected=True)],
    ids=["empty", "approved", "collected"],
)
def test_the_pickup_record_round_trips_through_json(record: PickupRecord) -> None:
    """What `to_json` writes is plain JSON, and `from_json` reads it back unchanged."""
    stored = json.loads(json.dumps(record.to_json()))

    assert PickupRecord.from_json(stored) == record


def test_a_request_never_seen_reads_as_an_empty_record() -> None:
    """No table entry reads as a record that knows nothing."""
    assert PickupRecord.from_json(None) == PickupRecord()
