"""Central's deduplication rules, called as plain functions: each outcome and each boundary."""

from __future__ import annotations

import pytest

from central_sim.decisions import count_shared_fingers, decide_enrollment, finger_digests, joins_gallery
from events.approval import CentralDecision
from events.enrollment import Fingerprints, Quality
from tests.support.submissions import valid_submission

GOOD = Quality(min_fingerprint=72, face=90)


def fingerprints_of(person: str) -> Fingerprints:
    return Fingerprints.model_validate(valid_submission(person=person)["biometrics"]["fingerprints"])


@pytest.mark.parametrize("shared", [6, 7, 10])
def test_six_or_more_shared_fingers_is_a_duplicate(shared: int) -> None:
    """Six or more fingers held by another NIK make the record a DUPLICATE_RECORD."""
    assert decide_enrollment(shared, GOOD).decision is CentralDecision.DUPLICATE_RECORD


@pytest.mark.parametrize("shared", [1, 5])
def test_one_to_five_shared_fingers_need_adjudication(shared: int) -> None:
    """One to five fingers held by another NIK make the record an ADJUDICATE_RECORD."""
    assert decide_enrollment(shared, GOOD).decision is CentralDecision.ADJUDICATE_RECORD


def test_no_shared_finger_and_readable_biometrics_is_print_ready() -> None:
    """No finger shared and both qualities at least 40: PRINT_READY_RECORD."""
    assert decide_enrollment(0, GOOD).decision is CentralDecision.PRINT_READY_RECORD


@pytest.mark.parametrize(
    ("fingerprint", "face", "expected"),
    [
        (39, 90, CentralDecision.ENROLL_FAILURE_AT_CENTRAL),
        (40, 90, CentralDecision.PRINT_READY_RECORD),
        (90, 39, CentralDecision.ENROLL_FAILURE_AT_CENTRAL),
        (90, 40, CentralDecision.PRINT_READY_RECORD),
        (0, 0, CentralDecision.ENROLL_FAILURE_AT_CENTRAL),
    ],
)
def test_quality_below_40_fails_at_central(fingerprint: int, face: int, expected: CentralDecision) -> None:
    """A fingerprint or face quality of 39 fails at central; 40 is enough."""
    assert decide_enrollment(0, Quality(min_fingerprint=fingerprint, face=face)).decision is expected


def test_shared_fingers_are_judged_before_quality() -> None:
    """A record sharing fingers is a duplicate even when its quality is also too low."""
    poor = Quality(min_fingerprint=10, face=10)
    assert decide_enrollment(6, poor).decision is CentralDecision.DUPLICATE_RECORD
    assert decide_enrollment(2, poor).decision is CentralDecision.ADJUDICATE_RECORD


def test_shared_fingers_count_whatever_finger_holds_the_digest() -> None:
    """A digest held by another NIK on any of their fingers counts for this record's finger."""
    prints = fingerprints_of("ani")
    digests = finger_digests(prints)
    assert len(digests) == 10
    assert count_shared_fingers(prints, set(digests[:5])) == 5
    assert count_shared_fingers(prints, set(digests[4:])) == 6
    assert count_shared_fingers(prints, {"0" * 64}) == 0


def test_reasons_are_in_english_and_indonesian() -> None:
    """Every reason carries an English and an Indonesian sentence, and says how many fingers matched."""
    duplicate = decide_enrollment(7, GOOD)
    assert "7 of 10" in duplicate.reason
    assert "7 dari 10" in duplicate.reason
    for shared, quality in [(0, GOOD), (3, GOOD), (0, Quality(min_fingerprint=5, face=90))]:
        english, indonesian = decide_enrollment(shared, quality).reason.split(" / ")
        assert english
        assert indonesian


def test_only_unreadable_records_stay_off_file() -> None:
    """Every outcome but ENROLL_FAILURE_AT_CENTRAL puts the NIK on file (central deletes a failed record)."""
    assert not joins_gallery(CentralDecision.ENROLL_FAILURE_AT_CENTRAL)
    kept = (CentralDecision.PRINT_READY_RECORD, CentralDecision.DUPLICATE_RECORD, CentralDecision.ADJUDICATE_RECORD)
    assert all(joins_gallery(decision) for decision in kept)
