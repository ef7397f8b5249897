"""The intake's rules: every bad input is rejected with coded reasons and its bytes; nothing raises."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.enrollment import EnrollmentRejected, RawEncoding, SubmissionValidated
from events.identity import citizen_key
from processors.intake import (
    CitizenRequests,
    RawMessage,
    Record,
    Refuse,
    Repeat,
    decide_recording,
    validate_submission,
)
from tests.support.submissions import encode, valid_submission

SECRET = b"test-secret"
NOW = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
MAX_BYTES = 64 * 1024
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")


def take_in(value: bytes | None, key: bytes | None = b"2172041708900001") -> SubmissionValidated | EnrollmentRejected:
    raw = RawMessage(key=key, value=value, topic="ektp.enrollment.submitted", partition=1, offset=42)
    return validate_submission(raw, secret=SECRET, now=NOW, max_bytes=MAX_BYTES)


def rejected(value: bytes | None, key: bytes | None = b"k") -> EnrollmentRejected:
    outcome = take_in(value, key)
    assert isinstance(outcome, EnrollmentRejected), outcome
    return outcome


def codes(outcome: EnrollmentRejected) -> set[tuple[str, str]]:
    return {(error.code, error.field) for error in outcome.errors}


def test_a_valid_submission_is_validated_and_keyed_by_the_citizen_key() -> None:
    """The example submission passes, keyed by the HMAC of its NIK, with the NIK masked and region named."""
    document = valid_submission()
    outcome = take_in(encode(document))
    assert isinstance(outcome, SubmissionValidated)
    assert outcome.citizen_key == citizen_key("2172041708900001", SECRET)
    assert outcome.nik_masked == "217204******0001"
    assert outcome.area.kecamatan == "Bukit Bestari"
    assert outcome.raw_value == encode(document).decode()
    assert outcome.request_id == document["request_id"]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, "MESSAGE_EMPTY"),
        (b"", "MESSAGE_EMPTY"),
        (b"{" * 10 + b"x" * (MAX_BYTES + 1), "MESSAGE_TOO_LARGE"),
        (b"\xff\xfe not utf-8", "MESSAGE_NOT_UTF8"),
        (b'{"request_id": "x",', "MESSAGE_NOT_JSON"),
        (b"[1, 2, 3]", "MESSAGE_NOT_OBJECT"),
        (b"[" * 100_000 + b"]" * 100_000, "MESSAGE_TOO_LARGE"),
        (b"[" * 30_000 + b"]" * 30_000, "MESSAGE_NOT_JSON"),
    ],
)
def test_unreadable_messages_are_rejected_with_their_own_code(value: bytes | None, code: str) -> None:
    """Empty, oversized, non-UTF-8, non-JSON and non-object messages each get a coded rejection."""
    outcome = rejected(value)
    assert [error.code for error in outcome.errors] == [code]
    assert outcome.request_id == "unknown"
    assert not outcome.request_id_known


def test_bytes_that_are_not_utf8_are_kept_as_base64() -> None:
    """A rejected message's bytes come back unchanged: base64 when they are not text."""
    value, key = b"\xff\xfe\x00garbage", b"\x80key"
    outcome = rejected(value, key)
    assert outcome.raw_value_encoding == RawEncoding.BASE64
    assert base64.b64decode(outcome.raw_value or "") == value
    assert outcome.raw_key_encoding == RawEncoding.BASE64
    assert base64.b64decode(outcome.raw_key or "") == key
    assert outcome.source is not None
    assert (outcome.source.partition, outcome.source.offset) == (1, 42)


def test_text_is_kept_as_it_came() -> None:
    """A rejected text message is kept character for character, with its request_id when readable."""
    document = valid_submission()
    document["resident"]["sex"] = "unknown"
    value = json.dumps(document, indent=3).encode()
    outcome = rejected(value, None)
    assert outcome.raw_value == value.decode()
    assert outcome.raw_value_encoding == RawEncoding.UTF8
    assert outcome.raw_key is None
    assert outcome.raw_key_encoding == RawEncoding.ABSENT
    assert outcome.request_id == document["request_id"]
    assert outcome.request_id_known


def _broken(change: Any) -> dict[str, Any]:
    document = valid_submission()
    change(document)
    return document


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["resident"].update(sex="x"), ("VALUE_NOT_ALLOWED", "resident.sex")),
        (lambda d: d.update(request_type="renewal"), ("VALUE_NOT_ALLOWED", "request_type")),
        (lambda d: d["resident"].update(citizenship="XX"), ("VALUE_NOT_ALLOWED", "resident.citizenship")),
        (lambda d: d["biometrics"]["quality"].update(face="90"), ("FIELD_TYPE", "biometrics.quality.face")),
        (lambda d: d["resident"].update(birth_date=19900817), ("FIELD_TYPE", "resident.birth_date")),
        (lambda d: d.update(extra="field"), ("FIELD_UNKNOWN", "extra")),
        (lambda d: d.pop("desk_id"), ("FIELD_MISSING", "desk_id")),
        (lambda d: d["biometrics"]["fingerprints"].pop("left_ring"),
         ("FINGERPRINT_MISSING", "biometrics.fingerprints.left_ring")),
        (lambda d: d["biometrics"].update(face="ABC"), ("FIELD_FORMAT", "biometrics.face")),
        (lambda d: d["resident"]["address"].update(rt="2"), ("FIELD_FORMAT", "resident.address.rt")),
        (lambda d: d["resident"].update(full_name="A" * 101), ("FIELD_LENGTH", "resident.full_name")),
        (lambda d: d["biometrics"]["quality"].update(face=101), ("VALUE_OUT_OF_RANGE", "biometrics.quality.face")),
        (lambda d: d.update(submitted_at="2026-11-28T09:15:00"), ("FIELD_FORMAT", "submitted_at")),
        (lambda d: d.update(office_code="9999"), ("OFFICE_UNKNOWN", "office_code")),
        (lambda d: d.update(submitted_at="2026-12-05T09:15:00+07:00"), ("SUBMITTED_IN_FUTURE", "submitted_at")),
        (lambda d: d["resident"].update(nik="2172041708900000"), ("NIK_SERIAL_ZERO", "resident.nik")),
        (lambda d: d["resident"].update(nik="2172051708900001"), ("NIK_UNKNOWN_KECAMATAN", "resident.nik")),
        (lambda d: d["resident"].update(birth_date="1990-08-18"),
         ("NIK_BIRTH_DATE_MISMATCH", "resident.birth_date")),
        (lambda d: d["resident"].update(sex="female"), ("NIK_SEX_MISMATCH", "resident.sex")),
        (lambda d: d["resident"].update(kk_number="2172042103150000"), ("KK_SERIAL_ZERO", "resident.kk_number")),
        (lambda d: d["biometrics"]["fingerprints"].update(left_ring=d["biometrics"]["fingerprints"]["left_thumb"]),
         ("FINGERPRINTS_NOT_DISTINCT", "biometrics.fingerprints")),
    ],
)
def test_each_broken_rule_is_reported_with_its_code_and_field(change: Any, expected: tuple[str, str]) -> None:
    """One broken rule gives a rejection naming that rule's code and the field path."""
    assert expected in codes(rejected(encode(_broken(change))))


def test_all_failures_are_reported_at_once() -> None:
    """A submission with many faults lists every one of them, shape faults and NIK faults together."""
    def break_many(document: dict[str, Any]) -> None:
        document["resident"]["nik"] = "2172041713900000"  # month 13 and serial 0000
        document["resident"]["religion"] = "none"
        document["biometrics"]["fingerprints"].pop("right_thumb")
        document["biometrics"]["fingerprints"].pop("left_little")

    found = codes(rejected(encode(_broken(break_many))))
    assert {
        ("NIK_MONTH", "resident.nik"), ("NIK_SERIAL_ZERO", "resident.nik"),
        ("VALUE_NOT_ALLOWED", "resident.religion"),
        ("FINGERPRINT_MISSING", "biometrics.fingerprints.right_thumb"),
        ("FINGERPRINT_MISSING", "biometrics.fingerprints.left_little"),
    } <= found


def _sixteen_year_old(marital_status: str) -> dict[str, Any]:
    document = valid_submission(nik="2172011506100003")  # male, born 2010-06-15
    document["resident"].update(birth_date="2010-06-15", marital_status=marital_status)
    return document


def test_a_single_sixteen_year_old_is_not_yet_eligible() -> None:
    """Under 17 and never married: rejected as not yet eligible."""
    assert ("NOT_YET_ELIGIBLE", "resident.birth_date") in codes(rejected(encode(_sixteen_year_old("single"))))


def test_a_married_sixteen_year_old_is_eligible() -> None:
    """Under 17 but married (or once married): a KTP-el is due."""
    assert isinstance(take_in(encode(_sixteen_year_old("married"))), SubmissionValidated)
    assert isinstance(take_in(encode(_sixteen_year_old("widowed"))), SubmissionValidated)


def test_a_woman_s_nik_carries_day_plus_forty() -> None:
    """A woman born on the 5th has 45 in her NIK and passes the sex and birth-date agreement rules."""
    document = valid_submission(nik="2172014503010012")
    document["resident"].update(birth_date="2001-03-05", sex="female")
    assert isinstance(take_in(encode(document)), SubmissionValidated)


def test_no_rejection_message_holds_a_full_nik() -> None:
    """Messages about a NIK name parts of it at most; the full number never appears in an error."""
    for nik in ("2172041713900000", "2172051708900001", "2172047102900001", "9999999999999999"):
        document = valid_submission(nik=nik)
        outcome = rejected(encode(document))
        text = json.dumps([error.model_dump() for error in outcome.errors])
        assert not SIXTEEN_DIGITS.search(text), text
        assert outcome.nik_masked is None or "******" in outcome.nik_masked


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.binary(max_size=2048), key=st.none() | st.binary(max_size=64))
def test_arbitrary_bytes_give_exactly_one_outcome(value: bytes, key: bytes | None) -> None:
    """Any bytes at all give one validated or one rejected message, never an exception."""
    outcome = take_in(value, key)
    assert isinstance(outcome, SubmissionValidated | EnrollmentRejected)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [prefix] + [p for key, child in node.items() for p in _paths(child, (*prefix, key))]
    return [prefix]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_valid_submissions_give_exactly_one_outcome(data: st.DataObject) -> None:
    """A valid submission with any field replaced, removed or added gives one outcome, never an exception."""
    document = valid_submission()
    path = data.draw(st.sampled_from(_paths(document)[1:]))
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        parent[path[-1]] = data.draw(_json_values)
    elif action == "delete":
        del parent[path[-1]]
    else:
        parent[data.draw(st.text(min_size=1, max_size=8))] = data.draw(_json_values)
    outcome = take_in(json.dumps(document).encode())
    assert isinstance(outcome, SubmissionValidated | EnrollmentRejected)
    if isinstance(outcome, EnrollmentRejected):
        assert outcome.errors


# -- recording, per citizen ---------------------------------------------------------------------------------


def _validated(request_id: str) -> SubmissionValidated:
    outcome = take_in(encode(valid_submission(request_id=request_id)))
    assert isinstance(outcome, SubmissionValidated)
    return outcome


def test_a_first_request_is_recorded_and_becomes_the_open_one() -> None:
    """A citizen's first request is recorded and remembered as their open request."""
    decision = decide_recording(_validated("req-1"), CitizenRequests(), open_request_finished=True, now=NOW)
    assert isinstance(decision, Record)
    assert decision.recorded.request_id == "req-1"
    assert decision.recorded.citizen_key == citizen_key("2172041708900001", SECRET)
    assert decision.citizen == CitizenRequests(("req-1",), "req-1")


def test_the_same_request_id_twice_is_one_request() -> None:
    """A repeated request_id is recognised and nothing new is recorded, finished or not."""
    known = CitizenRequests(("req-1",), "req-1")
    for finished in (False, True):
        decision = decide_recording(_validated("req-1"), known, open_request_finished=finished, now=NOW)
        assert decision == Repeat("req-1")


def test_a_second_request_while_one_is_unfinished_is_refused_with_its_own_code() -> None:
    """A new request of a citizen whose previous one is unfinished is rejected as OPEN_REQUEST_EXISTS."""
    known = CitizenRequests(("req-1",), "req-1")
    validated = _validated("req-2")
    decision = decide_recording(validated, known, open_request_finished=False, now=NOW)
    assert isinstance(decision, Refuse)
    assert [error.code for error in decision.rejected.errors] == ["OPEN_REQUEST_EXISTS"]
    assert decision.rejected.raw_value == validated.raw_value
    assert decision.rejected.request_id == "req-2"


def test_a_new_request_after_the_previous_finished_is_recorded() -> None:
    """Once the open request is finished, the citizen may ask again (a replacement, say)."""
    known = CitizenRequests(("req-1",), "req-1")
    decision = decide_recording(_validated("req-2"), known, open_request_finished=True, now=NOW)
    assert isinstance(decision, Record)
    assert decision.citizen == CitizenRequests(("req-1", "req-2"), "req-2")


def test_citizen_memory_survives_its_json_form() -> None:
    """What the intake remembers of a citizen round-trips through the table's JSON."""
    known = CitizenRequests(("a", "b"), "b")
    assert CitizenRequests.from_json(json.loads(json.dumps(known.to_json()))) == known
    assert CitizenRequests.from_json(None) == CitizenRequests()
