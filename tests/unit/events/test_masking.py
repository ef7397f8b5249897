"""A NIK or KK number is masked as `217204******0001` wherever it appears in a text."""

from __future__ import annotations

import pytest

from events.masking import mask_nik


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("2172041708900001", "217204******0001"),
        ("nik=2172014503010012;", "nik=217201******0012;"),
        ("a 2172041708900001 and 2172042103150001", "a 217204******0001 and 217204******0001"),
        ("17 digits 21720417089000011 stay", "17 digits 21720417089000011 stay"),
        ("15 digits 217204170890000 stay", "15 digits 217204170890000 stay"),
        ("", ""),
    ],
)
def test_sixteen_digit_numbers_keep_region_and_serial_only(text: str, masked: str) -> None:
    """Region (first six) and serial (last four) stay; birth date and sex are hidden."""
    assert mask_nik(text) == masked
