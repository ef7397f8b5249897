"""The NIK rules: region, birth date (+40 for women, century by `today`), serial, all failures at once."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from events.kk import KkCheck, KkErrorCode, check_kk
from events.nik import NikCheck, NikErrorCode, check_nik

TODAY = dt.date(2025, 6, 15)
FORMAT = NikErrorCode.FORMAT


def codes(check: NikCheck | KkCheck) -> set[str]:
    """The error codes of a check, as a set."""
    return {error.code for error in check.errors}


# --- the examples of docs/architecture.md ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nik", "expected"),
    [
        ("2172041708900001", set()),
        ("2172014503010012", set()),
        ("2172047102900001", {NikErrorCode.DATE}),
        ("2172041713900001", {NikErrorCode.MONTH}),
        ("2172044001900001", {NikErrorCode.DAY}),
        ("2172041708900000", {NikErrorCode.SERIAL_ZERO}),
        ("2172051708900001", {NikErrorCode.UNKNOWN_KECAMATAN}),
    ],
)
def test_domain_examples_get_the_documented_verdict(nik: str, expected: set[str]) -> None:
    """Each example of docs/architecture.md is valid, or fails with exactly the rule the document names."""
    check = check_nik(nik, today=TODAY)
    assert codes(check) == expected
    assert check.valid is (not expected)


def test_a_valid_male_nik_decodes_every_part() -> None:
    """2172041708900001 is a man born 1990-08-17 whose NIK was issued in Bukit Bestari."""
    check = check_nik("2172041708900001", today=TODAY)
    assert check == NikCheck(
        valid=True,
        nik_masked="217204******0001",
        errors=(),
        province_code="21",
        province="Kepulauan Riau",
        regency_code="2172",
        regency="Kota Tanjung Pinang",
        kecamatan_code="217204",
        kecamatan="Bukit Bestari",
        sex="male",
        birth_date=dt.date(1990, 8, 17),
        serial="0001",
    )


def test_women_add_forty_to_the_day() -> None:
    """Day 45 in 2172014503010012 is a woman born on the 5th: 2001-03-05, Tanjung Pinang Barat."""
    check = check_nik("2172014503010012", today=TODAY)
    assert check.valid
    assert check.sex == "female"
    assert check.birth_date == dt.date(2001, 3, 5)
    assert check.kecamatan == "Tanjung Pinang Barat"
    assert check.serial == "0012"


# --- day and month ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ddmmyy", "sex", "birth_date"),
    [
        ("010190", "male", dt.date(1990, 1, 1)),
        ("310190", "male", dt.date(1990, 1, 31)),
        ("410190", "female", dt.date(1990, 1, 1)),
        ("710190", "female", dt.date(1990, 1, 31)),
        ("311290", "male", dt.date(1990, 12, 31)),
    ],
)
def test_days_at_the_edges_of_both_ranges_are_valid(ddmmyy: str, sex: str, birth_date: dt.date) -> None:
    """Days 01 and 31 for men and 41 and 71 for women are real birth days."""
    check = check_nik(f"217204{ddmmyy}0001", today=TODAY)
    assert check.valid
    assert (check.sex, check.birth_date) == (sex, birth_date)


@pytest.mark.parametrize("dd", ["00", "32", "39", "40", "72", "80", "99"])
def test_days_outside_both_ranges_are_rejected(dd: str) -> None:
    """Day 00, 32-40 and 72 or more fit neither men (01-31) nor women (41-71), so sex stays unknown."""
    check = check_nik(f"217204{dd}01900001", today=TODAY)
    assert codes(check) == {NikErrorCode.DAY}
    assert check.sex is None
    assert check.birth_date is None


@pytest.mark.parametrize("mm", ["00", "13", "99"])
def test_months_outside_01_to_12_are_rejected(mm: str) -> None:
    """Month 00, 13 and 99 do not exist; the day still tells the sex."""
    check = check_nik(f"21720417{mm}900001", today=TODAY)
    assert codes(check) == {NikErrorCode.MONTH}
    assert check.sex == "male"
    assert check.birth_date is None


@pytest.mark.parametrize(
    "ddmmyy",
    ["310290", "300290", "310490", "310690", "310990", "311190", "710290", "710490"],
)
def test_days_the_month_does_not_have_are_rejected(ddmmyy: str) -> None:
    """30 and 31 February and 31 April, June, September, November do not exist, for men or women."""
    check = check_nik(f"217204{ddmmyy}0001", today=TODAY)
    assert codes(check) == {NikErrorCode.DATE}
    assert check.birth_date is None


def test_an_impossible_date_keeps_the_sex_the_day_tells() -> None:
    """Day 71 of February is impossible as a date but still says the holder is a woman."""
    check = check_nik("2172047102900001", today=TODAY)
    assert check.sex == "female"
    assert check.birth_date is None


# --- leap days and the century ---------------------------------------------------------------------------

# A KK number's date of issue is read by the same rules as a NIK's birth date, so the tests of those rules that
# do not involve the +40 of women run for both numbers.


def nik_birth_date(nik: str, today: dt.date) -> tuple[NikCheck, dt.date | None]:
    """The check of a NIK and the birth date it gives."""
    check = check_nik(nik, today=today)
    return check, check.birth_date


def kk_issue_date(kk: str, today: dt.date) -> tuple[KkCheck, dt.date | None]:
    """The check of a KK number and the date of issue it gives."""
    check = check_kk(kk, today=today)
    return check, check.issue_date


class DatedNumber(NamedTuple):
    """A number with a `DDMMYY` date: how to read the date, and the code of a date in the future."""

    read: Callable[[str, dt.date], tuple[NikCheck | KkCheck, dt.date | None]]
    date_future: str


BOTH_NUMBERS = pytest.mark.parametrize(
    "number",
    [
        pytest.param(DatedNumber(nik_birth_date, NikErrorCode.DATE_FUTURE), id="nik"),
        pytest.param(DatedNumber(kk_issue_date, KkErrorCode.DATE_FUTURE), id="kk"),
    ],
)


@pytest.mark.parametrize(
    ("nik", "today", "birth_date"),
    [
        ("2172042902000001", TODAY, dt.date(2000, 2, 29)),
        ("2172046902000001", TODAY, dt.date(2000, 2, 29)),
        ("2172042902040001", TODAY, dt.date(2004, 2, 29)),
        ("2172042902960001", TODAY, dt.date(1996, 2, 29)),
        ("2172042902240001", TODAY, dt.date(2024, 2, 29)),
    ],
)
def test_29_february_of_a_leap_year_is_valid(nik: str, today: dt.date, birth_date: dt.date) -> None:
    """29 February exists in 2000 (divisible by 400), 2004, 1996 and 2024."""
    check = check_nik(nik, today=today)
    assert check.valid
    assert check.birth_date == birth_date


@pytest.mark.parametrize(
    ("nik", "today"),
    [
        ("2172042902000001", dt.date(2000, 1, 1)),
        ("2172042902010001", TODAY),
        ("2172042902970001", TODAY),
        ("2172042902230001", TODAY),
    ],
)
def test_29_february_of_a_common_year_is_rejected(nik: str, today: dt.date) -> None:
    """29 February does not exist in 1900 (chosen when 2000 is still ahead), 2001, 1997 or 2023."""
    assert codes(check_nik(nik, today=today)) == {NikErrorCode.DATE}


@BOTH_NUMBERS
@pytest.mark.parametrize(
    ("ddmmyy", "date"),
    [
        ("150625", dt.date(2025, 6, 15)),
        ("160625", dt.date(1925, 6, 16)),
        ("140625", dt.date(2025, 6, 14)),
        ("311224", dt.date(2024, 12, 31)),
        ("010126", dt.date(1926, 1, 1)),
        ("010100", dt.date(2000, 1, 1)),
        ("311299", dt.date(1999, 12, 31)),
        ("290216", dt.date(2016, 2, 29)),
        ("290200", dt.date(2000, 2, 29)),
    ],
)
def test_the_century_is_the_one_that_keeps_the_date_out_of_the_future(
    number: DatedNumber, ddmmyy: str, date: dt.date
) -> None:
    """With today 2025-06-15, 20YY is taken up to and including today, and 19YY from the day after.

    29 February counts in the leap years that this gives.
    """
    check, read = number.read(f"217204{ddmmyy}0001", TODAY)
    assert check.valid
    assert read == date


def test_today_defaults_to_the_real_date() -> None:
    """Without `today`, a birth on 1 January of next year is read as a century ago."""
    next_year = dt.date.today().year + 1
    check = check_nik(f"2172040101{next_year % 100:02d}0001")
    assert check.birth_date == dt.date(next_year - 100, 1, 1)


@BOTH_NUMBERS
def test_a_date_after_today_in_both_centuries_is_rejected(number: DatedNumber) -> None:
    """A `today` before 2000 can put even the 19YY reading in the future: that is its own error."""
    check, read = number.read("2172040101990001", dt.date(1995, 1, 1))
    assert codes(check) == {number.date_future}
    assert read is None


# --- serial ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("serial", ["0001", "0012", "9999"])
def test_any_serial_from_0001_is_valid(serial: str) -> None:
    """Serials run from 0001 up to 9999."""
    check = check_nik(f"217204170890{serial}", today=TODAY)
    assert check.valid
    assert check.serial == serial


def test_serial_0000_is_rejected() -> None:
    """0000 is never issued."""
    assert codes(check_nik("2172041708900000", today=TODAY)) == {NikErrorCode.SERIAL_ZERO}


# --- region ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nik", "code", "province", "regency"),
    [
        ("9972041708900001", NikErrorCode.UNKNOWN_PROVINCE, None, None),
        ("0000001708900001", NikErrorCode.UNKNOWN_PROVINCE, None, None),
        ("2106011708900001", NikErrorCode.UNKNOWN_REGENCY, "Kepulauan Riau", None),
        ("2172051708900001", NikErrorCode.UNKNOWN_KECAMATAN, "Kepulauan Riau", "Kota Tanjung Pinang"),
        ("2172001708900001", NikErrorCode.UNKNOWN_KECAMATAN, "Kepulauan Riau", "Kota Tanjung Pinang"),
    ],
)
def test_only_the_highest_unknown_region_level_is_reported(
    nik: str, code: str, province: str | None, regency: str | None
) -> None:
    """An unknown province is one error, not three: the levels below it are unknown by implication."""
    check = check_nik(nik, today=TODAY)
    assert [error.code for error in check.errors] == [code]
    assert (check.province, check.regency, check.kecamatan) == (province, regency, None)
    assert (check.sex, check.birth_date) == ("male", dt.date(1990, 8, 17))


def test_the_unknown_level_message_names_the_parent_region() -> None:
    """An unknown kecamatan is reported as missing from its regency, in both languages."""
    (error,) = check_nik("2172051708900001", today=TODAY).errors
    assert "217205" in error.message_id
    assert "Kota Tanjung Pinang" in error.message_id
    assert "Kota Tanjung Pinang" in error.message_en


# --- every failure at once -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nik", "expected"),
    [
        ("2172041713900000", {NikErrorCode.MONTH, NikErrorCode.SERIAL_ZERO}),
        ("2172054001900000", {NikErrorCode.UNKNOWN_KECAMATAN, NikErrorCode.DAY, NikErrorCode.SERIAL_ZERO}),
        (
            "9900000000990000",
            {NikErrorCode.UNKNOWN_PROVINCE, NikErrorCode.DAY, NikErrorCode.MONTH, NikErrorCode.SERIAL_ZERO},
        ),
        ("2106017102900000", {NikErrorCode.UNKNOWN_REGENCY, NikErrorCode.DATE, NikErrorCode.SERIAL_ZERO}),
    ],
)
def test_all_failures_are_reported_at_once(nik: str, expected: set[str]) -> None:
    """A NIK that breaks several rules gets one error per broken rule, not just the first."""
    check = check_nik(nik, today=TODAY)
    assert not check.valid
    assert codes(check) == expected
    assert len(check.errors) == len(expected)


# --- format ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nik",
    [
        pytest.param("", id="empty"),
        pytest.param("217204170890001", id="15 digits"),
        pytest.param("21720417089000011", id="17 digits"),
        pytest.param("2172041708900001" * 2, id="32 digits"),
        pytest.param("21720417089O0001", id="letter O"),
        pytest.param("abcdefghijklmnop", id="letters"),
        pytest.param(" 2172041708900001", id="leading space"),
        pytest.param("2172041708900001\n", id="trailing newline"),
        pytest.param("2172 0417 0890 0001", id="grouped"),
        pytest.param("2172-0417-0890-0001", id="dashes"),
        pytest.param("+217204170890001", id="sign"),
        pytest.param("١٢٣", id="arabic-indic digits"),
        pytest.param("٢١٧٢٠٤١٧٠٨٩٠٠٠٠١", id="16 arabic-indic digits"),
        pytest.param("２１７２０４１７０８９０００１", id="fullwidth digits"),
        pytest.param("²¹⁷²⁰⁴¹⁷⁰⁸⁹⁰⁰⁰⁰¹", id="superscript digits"),
        pytest.param("217204170890000\u0661", id="one arabic-indic digit"),
        pytest.param("\x00" * 16, id="nul bytes"),
    ],
)
def test_anything_but_16_ascii_digits_fails_on_format_alone(nik: str) -> None:
    """Bad length, letters, spaces, separators or non-ASCII digits: one NIK_FORMAT, nothing decoded."""
    check = check_nik(nik, today=TODAY)
    assert [error.code for error in check.errors] == [FORMAT]
    assert check.model_dump(exclude={"valid", "nik_masked", "errors"}) == dict.fromkeys(
        ("province_code", "province", "regency_code", "regency", "kecamatan_code", "kecamatan"), None
    ) | {"sex": None, "birth_date": None, "serial": None}
    assert not check.valid


@pytest.mark.parametrize("nik", ["2172 0417 0890 0001", "21720417089000011", "x2172041708900001"])
def test_an_unparsable_input_is_masked_whole(nik: str) -> None:
    """An input that is not a NIK may still hide one, so neither its masked form nor the message shows it."""
    check = check_nik(nik, today=TODAY)
    assert set(check.nik_masked) == {"*"}
    (error,) = check.errors
    assert "2172" not in error.message_id
    assert "2172" not in error.message_en


def test_a_very_long_input_is_masked_to_a_bounded_length() -> None:
    """The masked form of a huge input stays short."""
    assert len(check_nik("9" * 10_000, today=TODAY).nik_masked) <= 32


# --- the result and its errors ---------------------------------------------------------------------------


INVALID_NIKS = [
    "2172047102900001",
    "2172041713900001",
    "2172044001900001",
    "2172041708900000",
    "2172051708900001",
    "9900000000990000",
    "2106017102900000",
    "2172042902010001",
]


@pytest.mark.parametrize("nik", INVALID_NIKS)
def test_messages_never_hold_the_full_nik(nik: str) -> None:
    """Neither the Indonesian nor the English message repeats the whole NIK."""
    for error in check_nik(nik, today=TODAY).errors:
        assert nik not in error.message_id
        assert nik not in error.message_en
        assert error.message_id
        assert error.message_en
        assert error.message_id != error.message_en


@pytest.mark.parametrize("nik", INVALID_NIKS)
def test_errors_name_the_field_they_were_asked_for(nik: str) -> None:
    """Errors carry `nik` by default, or the caller's path such as `resident.nik`."""
    assert {e.field for e in check_nik(nik, today=TODAY).errors} == {"nik"}
    assert {e.field for e in check_nik(nik, today=TODAY, field="resident.nik").errors} == {"resident.nik"}


def test_every_error_code_is_upper_snake_with_the_nik_prefix() -> None:
    """Codes are stable machine names: NIK_ then upper-case words joined by underscores."""
    assert all(re.fullmatch(r"NIK_[A-Z]+(_[A-Z]+)*", code.value) for code in NikErrorCode)


def test_a_valid_nik_is_masked_around_the_birth_date() -> None:
    """The masked form keeps the region and serial and hides the birth date and sex."""
    assert check_nik("2172014503010012", today=TODAY).nik_masked == "217201******0012"


def test_the_birth_date_serialises_as_an_iso_date() -> None:
    """In JSON the birth date is YYYY-MM-DD and the errors are plain objects."""
    dumped = check_nik("2172041713900000", today=TODAY).model_dump(mode="json")
    assert check_nik("2172041708900001", today=TODAY).model_dump(mode="json")["birth_date"] == "1990-08-17"
    assert dumped["errors"][0] == {
        "code": "NIK_MONTH",
        "field": "nik",
        "message_id": "Bulan lahir 13 tidak ada; harus 01-12.",
        "message_en": "Birth month 13 does not exist; it must be 01-12.",
    }


def test_a_check_cannot_be_changed_after_the_fact() -> None:
    """NikCheck is frozen: a consumer cannot turn an invalid verdict valid."""
    check = check_nik("2172041708900000", today=TODAY)
    with pytest.raises(ValidationError):
        check.valid = True  # type: ignore[misc]


# --- properties ------------------------------------------------------------------------------------------

KNOWN_AREAS = ["217201", "217202", "217203", "217204", "110101", "317101", "320101", "960101"]

plausible_niks = st.builds(
    lambda area, day, female, month, yy, serial: (
        f"{area}{day + 40 * female:02d}{month:02d}{yy:02d}{serial:04d}"
    ),
    st.sampled_from(KNOWN_AREAS),
    st.integers(0, 32),
    st.booleans(),
    st.integers(0, 13),
    st.integers(0, 99),
    st.integers(0, 9999),
)


def assert_consistent(check: NikCheck) -> None:
    """A valid check is fully decoded and error-free; an invalid one says why."""
    if check.valid:
        assert check.errors == ()
        assert None not in check.model_dump(exclude={"errors"}).values()
        assert check.birth_date is not None
        assert check.birth_date <= TODAY
    else:
        assert check.errors


@settings(max_examples=500)
@given(st.text())
def test_any_text_gets_a_verdict_without_raising(text: str) -> None:
    """check_nik returns for every string: invalid with reasons, or valid and fully decoded."""
    assert_consistent(check_nik(text, today=TODAY))


@settings(max_examples=500)
@given(st.from_regex(r"[0-9]{16}", fullmatch=True))
def test_any_sixteen_digits_get_a_verdict_that_never_repeats_them(nik: str) -> None:
    """Random 16-digit strings never raise, and no message holds the number."""
    check = check_nik(nik, today=TODAY)
    assert_consistent(check)
    assert all(nik not in e.message_id and nik not in e.message_en for e in check.errors)


@settings(max_examples=500)
@given(plausible_niks)
def test_a_valid_nik_is_masked_to_its_first_six_and_last_four_digits(nik: str) -> None:
    """Whenever a NIK is valid, its masked form is its region, six stars and its serial."""
    check = check_nik(nik, today=TODAY)
    assert_consistent(check)
    if check.valid:
        assert check.nik_masked == f"{nik[:6]}******{nik[-4:]}"
        assert check.birth_date is not None
        assert int(nik[6:8]) % 40 == check.birth_date.day
        assert (check.sex == "female") is (int(nik[6:8]) > 40)
