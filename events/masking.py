"""Masking of personal numbers (UU PDP): a NIK or KK is shown as `217204******0001`.

The six region digits and the four serial digits stay; the birth date and sex in between are hidden.
"""

from __future__ import annotations

import re

# Sixteen digits not touching a seventeenth: a NIK or a KK number wherever it sits in a text.
SIXTEEN_DIGITS = re.compile(r"(?<!\d)(\d{6})\d{6}(\d{4})(?!\d)")


def mask_nik(text: str) -> str:
    """Mask every NIK or KK number in `text`: `2172041708900001` -> `217204******0001`."""
    return SIXTEEN_DIGITS.sub(r"\1******\2", text)
