"""The KK number rules: issuing kecamatan, date of issue (no +40), serial, all failures at once.

The century and future-date rules of the date of issue are those of a NIK's birth date: test_nik.py tests them
for both numbers.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.kk import KkCheck, KkErrorCode, check_kk

TODAY = dt.date(2025, 6, 15)


def codes(check: KkCheck) -> set[str]:
    """The error codes of a check, as a set."""
    return {error.code for error in check.errors}


def test_the_domain_example_decodes_every_part() -> None:
    """2172042103150001 is family 0001 of Bukit Bestari, issued 2015-03-21."""
    assert check_kk("2172042103150001", today=TODAY) == KkCheck(
        valid=True,
        kk_masked="217204******0001",
        errors=(),
        province_code="21",
        province="Kepulauan Riau",
        regency_code="2172",
        regency="Kota Tanjung Pinang",
        kecamatan_code="217204",
        kecamatan="Bukit Bestari",
        issue_date=dt.date(2015, 3, 21),
        serial="0001",
    )


@pytest.mark.parametrize("dd", ["41", "45", "71"])
def test_a_kk_does_not_add_forty_to_the_day(dd: str) -> None:
    """Days 41-71 mean a woman in a NIK but are simply impossible in a KK's date of issue."""
    assert codes(check_kk(f"217204{dd}03150001", today=TODAY)) == {KkErrorCode.DAY}


@pytest.mark.parametrize(
    ("kk", "expected"),
    [
        ("2172040003150001", {KkErrorCode.DAY}),
        ("2172043203150001", {KkErrorCode.DAY}),
        ("2172042100150001", {KkErrorCode.MONTH}),
        ("2172042113150001", {KkErrorCode.MONTH}),
        ("2172043102150001", {KkErrorCode.DATE}),
        ("2172043104150001", {KkErrorCode.DATE}),
        ("2172042902150001", {KkErrorCode.DATE}),
        ("2172042103150000", {KkErrorCode.SERIAL_ZERO}),
        ("2172052103150001", {KkErrorCode.UNKNOWN_KECAMATAN}),
        ("2106012103150001", {KkErrorCode.UNKNOWN_REGENCY}),
        ("9972042103150001", {KkErrorCode.UNKNOWN_PROVINCE}),
    ],
)
def test_each_broken_rule_has_its_own_code(kk: str, expected: set[str]) -> None:
    """Day, month, calendar date, serial and each region level fail under their own KK_ code."""
    check = check_kk(kk, today=TODAY)
    assert codes(check) == expected
    assert not check.valid


def test_all_failures_are_reported_at_once() -> None:
    """Unknown kecamatan, impossible day and month and serial 0000 come back together."""
    check = check_kk("2172054113150000", today=TODAY)
    assert codes(check) == {
        KkErrorCode.UNKNOWN_KECAMATAN,
        KkErrorCode.DAY,
        KkErrorCode.MONTH,
        KkErrorCode.SERIAL_ZERO,
    }
    assert len(check.errors) == 4


@pytest.mark.parametrize(
    "kk",
    [
        "",
        "217204210315001",
        "21720421031500011",
        "2172 0421 0315 0001",
        "٢١٧٢٠٤٢١٠٣١٥٠٠٠١",
        "21720421031500O1",
    ],
)
def test_anything_but_16_ascii_digits_fails_on_format_alone(kk: str) -> None:
    """Wrong length, spaces, letters or non-ASCII digits give one KK_FORMAT and nothing decoded."""
    check = check_kk(kk, today=TODAY)
    assert [error.code for error in check.errors] == [KkErrorCode.FORMAT]
    assert (check.kecamatan_code, check.issue_date, check.serial) == (None, None, None)
    assert set(check.kk_masked) <= {"*"}


@pytest.mark.parametrize("kk", ["2172054113150000", "9972042103150001", "2172043102150001"])
def test_messages_never_hold_the_full_number_and_name_the_field(kk: str) -> None:
    """Messages in both languages omit the whole number, and errors carry the caller's field path."""
    for error in check_kk(kk, today=TODAY, field="family.kk").errors:
        assert kk not in error.message_id
        assert kk not in error.message_en
        assert error.field == "family.kk"


def test_errors_name_the_kk_field_by_default() -> None:
    """Without a field path, errors point at `kk`."""
    assert {e.field for e in check_kk("2172042103150000", today=TODAY).errors} == {"kk"}


def test_every_error_code_is_upper_snake_with_the_kk_prefix() -> None:
    """Codes are stable machine names: KK_ then upper-case words joined by underscores."""
    assert all(re.fullmatch(r"KK_[A-Z]+(_[A-Z]+)*", code.value) for code in KkErrorCode)


def test_the_issue_date_serialises_as_an_iso_date() -> None:
    """In JSON the date of issue is YYYY-MM-DD."""
    assert check_kk("2172042103150001", today=TODAY).model_dump(mode="json")["issue_date"] == "2015-03-21"


@settings(max_examples=300)
@given(st.one_of(st.text(), st.from_regex(r"[0-9]{16}", fullmatch=True)))
def test_any_text_gets_a_verdict_without_raising(text: str) -> None:
    """check_kk returns for every string: invalid with reasons, or valid and fully decoded."""
    check = check_kk(text, today=TODAY)
    if check.valid:
        assert check.errors == ()
        assert None not in check.model_dump(exclude={"errors"}).values()
        assert check.kk_masked == f"{text[:6]}******{text[-4:]}"
    else:
        assert check.errors
