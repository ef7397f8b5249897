"""Masking of personal numbers (UU PDP): a NIK or KK is shown as `217204******0001`.

The six region digits and the four serial digits stay; the birth date and sex in between are hidden.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Sixteen digits not touching a seventeenth: a NIK or a KK number wherever it sits in a text.
SIXTEEN_DIGITS = re.compile(r"(?<!\d)(\d{6})\d{6}(\d{4})(?!\d)")


def mask_nik(text: str) -> str:
    """Mask every NIK or KK number in `text`: `2172041708900001` -> `217204******0001`."""
    return SIXTEEN_DIGITS.sub(r"\1******\2", text)


def mask_everywhere(value: Any) -> Any:
    """`value` with every NIK masked, however deeply it sits in mappings, sequences, bytes or integers."""
    if isinstance(value, str):
        return mask_nik(value)
    if isinstance(value, Mapping):
        return {key: mask_everywhere(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_everywhere(item) for item in value]
    if isinstance(value, bytes):
        return mask_nik(value.decode("utf-8", "replace"))
    if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) == 16:
        return mask_nik(str(value))
    return value
