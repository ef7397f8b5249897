"""The rules that the NIK and the KK number share: `PPKKCC DDMMYY SSSS`, 16 digits, no checksum.

Both are a Kemendagri area code, a `DDMMYY` date and a 4-digit serial, and both are checked alike:

- exactly 16 ASCII digits, or nothing else is checked and no part of the input is shown;
- an area code in the Kemendagri table, reporting only the highest missing level (it implies the levels below);
- a month 01-12, a day 01-31 and a real calendar date, whose century is the latest that keeps it out of the
  future, and which is not after `today` even then;
- a serial other than `0000`, which is never issued.

`events/nik.py` and `events/kk.py` bring what differs: the NIK's day + 40 for women and its sex, their error
codes, and the wording of every message (`Wording`). Every failure is reported at once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from events.regions import area_names
from events.rule_errors import RuleError

_SIXTEEN_ASCII_DIGITS = re.compile(r"[0-9]{16}")
# An unparsable input may still hold a number (spaced, or with a stray seventeenth digit): show none of it.
_MASKED_UNPARSABLE_MAX = 32

# The message of each rule, by the name of its code: (Indonesian, English) templates for `str.format`, which
# may name `province_code`, `regency_code`, `kecamatan_code`, `province`, `regency`, `mm`, `dd` and `iso`.
Wording = Mapping[str, tuple[str, str]]


class Verdict(BaseModel):
    """The first field of every verdict; a kind's head class adds its masked number after it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    valid: bool


class ErrorsAndArea(BaseModel):
    """The fields every verdict holds between its head (a `Verdict` and the masked number) and its own.

    A verdict lists this class before its head among its bases, so that its fields come in the order head,
    these, its own: pydantic orders inherited fields from the last base to the first.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    errors: tuple[RuleError, ...] = ()
    province_code: str | None = None
    province: str | None = None
    regency_code: str | None = None
    regency: str | None = None
    kecamatan_code: str | None = None
    kecamatan: str | None = None


class Reading(NamedTuple):
    """What the shared rules make of a number of 16 ASCII digits."""

    fields: dict[str, Any]  # the verdict's shared fields (`valid`, `errors`, the area, `serial`) as keywords
    date: dt.date | None
    day_in_range: bool


def is_sixteen_digits(number: str) -> bool:
    return _SIXTEEN_ASCII_DIGITS.fullmatch(number) is not None


def mask_unparsable(number: str) -> str:
    """The masked form of an input that is not 16 digits: stars only, at most 32 of them."""
    return "*" * min(len(number), _MASKED_UNPARSABLE_MAX)


def full_year(yy: int, month: int, day: int, today: dt.date) -> int:
    """The four-digit year of a `DDMMYY` date: 20YY unless that would be after `today`, else 19YY.

    Compares (year, month, day) as numbers, so it also answers for a date that does not exist.
    """
    return 2000 + yy if (2000 + yy, month, day) <= (today.year, today.month, today.day) else 1900 + yy


def read_area_date_serial(
    number: str, *, codes: type[StrEnum], wording: Wording, day_of_month: int, today: dt.date | None, field: str,
) -> Reading:
    """Check a 16-digit `number` against every shared rule and decode what they cover.

    `day_of_month` is the day that `DD` stands for (the NIK takes 40 off for women). `today` fixes the century
    and defaults to the real date; `field` is the path that the errors name.
    """
    today = today or dt.date.today()
    area = area_names(number[:6])
    values = {"province_code": number[:2], "regency_code": number[:4], "kecamatan_code": number[:6],
              "province": area.province, "regency": area.regency, "mm": number[8:10], "dd": number[6:8]}

    def error(rule: str, **more: str) -> RuleError:
        message_id, message_en = wording[rule]
        return RuleError(code=codes[rule].value, field=field, message_id=message_id.format(**values, **more),
                         message_en=message_en.format(**values, **more))

    errors = [error(f"UNKNOWN_{area.unknown_level.upper()}")] if area.unknown_level is not None else []
    month, yy = int(number[8:10]), int(number[10:12])
    month_in_range, day_in_range = 1 <= month <= 12, 1 <= day_of_month <= 31
    if not month_in_range:
        errors.append(error("MONTH"))
    if not day_in_range:
        errors.append(error("DAY"))
    date = None
    if month_in_range and day_in_range:
        year = full_year(yy, month, day_of_month, today)
        iso = f"{year:04d}-{month:02d}-{day_of_month:02d}"
        try:
            date = dt.date(year, month, day_of_month)
        except ValueError:
            errors.append(error("DATE", iso=iso))
        else:
            if date > today:
                date = None
                errors.append(error("DATE_FUTURE", iso=iso))
    if number[12:] == "0000":
        errors.append(error("SERIAL_ZERO"))
    fields = {
        "valid": not errors, "errors": tuple(errors), "province_code": number[:2], "province": area.province,
        "regency_code": number[:4], "regency": area.regency, "kecamatan_code": number[:6],
        "kecamatan": area.kecamatan, "serial": number[12:],
    }
    return Reading(fields, date, day_in_range)
