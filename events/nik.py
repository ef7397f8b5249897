"""The NIK (Nomor Induk Kependudukan) rules: `PP KK CC DDMMYY SSSS`, 16 digits, no checksum.

Error codes (stable: clients branch on them, so never rename one):

- `NIK_FORMAT`: not exactly 16 ASCII digits; no other rule is checked then.
- `NIK_UNKNOWN_PROVINCE`, `NIK_UNKNOWN_REGENCY`, `NIK_UNKNOWN_KECAMATAN`: the first six digits are not in the
  Kemendagri table; only the highest missing level is reported, since it implies the levels below.
- `NIK_MONTH`: month not 01-12.
- `NIK_DAY`: day not 01-31 (men) nor 41-71 (women, day + 40).
- `NIK_DATE`: month and day in range but no such calendar date (31 February; 29 February of a common year).
- `NIK_DATE_FUTURE`: the birth date lies after `today` even in the 1900s (only for a `today` before 2000).
- `NIK_SERIAL_ZERO`: serial `0000`, which is never issued.

Every failure is reported at once. Messages name parts of the number but never the whole of it.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from events.masking import mask_nik
from events.regions import AreaNames, area_names
from events.rule_errors import RuleError

Sex = Literal["male", "female"]

_SIXTEEN_ASCII_DIGITS = re.compile(r"[0-9]{16}")
# An unparsable input may still hold a NIK (spaced, or with a stray seventeenth digit): show none of it.
_MASKED_UNPARSABLE_MAX = 32
_WOMEN_DAY_OFFSET = 40


class NikErrorCode(StrEnum):
    """The machine codes of the NIK rules (see the module docstring)."""

    FORMAT = "NIK_FORMAT"
    UNKNOWN_PROVINCE = "NIK_UNKNOWN_PROVINCE"
    UNKNOWN_REGENCY = "NIK_UNKNOWN_REGENCY"
    UNKNOWN_KECAMATAN = "NIK_UNKNOWN_KECAMATAN"
    MONTH = "NIK_MONTH"
    DAY = "NIK_DAY"
    DATE = "NIK_DATE"
    DATE_FUTURE = "NIK_DATE_FUTURE"
    SERIAL_ZERO = "NIK_SERIAL_ZERO"


class NikCheck(BaseModel):
    """The verdict on one NIK and what it encodes, as far as it could be read.

    Together the fields rebuild the NIK: log `nik_masked` and `errors`, never the whole model.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    valid: bool
    nik_masked: str
    errors: tuple[RuleError, ...] = ()
    province_code: str | None = None
    province: str | None = None
    regency_code: str | None = None
    regency: str | None = None
    kecamatan_code: str | None = None
    kecamatan: str | None = None
    sex: Sex | None = None
    birth_date: dt.date | None = None
    serial: str | None = None


def check_nik(nik: str, *, today: dt.date | None = None, field: str = "nik") -> NikCheck:
    """Check `nik` against every NIK rule and decode it; never raises.

    `today` fixes the century (20YY unless that is after `today`, else 19YY); `field` is the path that the
    errors name, e.g. `resident.nik`.
    """
    if _SIXTEEN_ASCII_DIGITS.fullmatch(nik) is None:
        return NikCheck(
            valid=False,
            nik_masked="*" * min(len(nik), _MASKED_UNPARSABLE_MAX),
            errors=(_format_error(nik, field),),
        )
    today = today or dt.date.today()
    errors: list[RuleError] = []
    area = area_names(nik[:6])
    errors.extend(_area_errors(nik[:6], area, field))
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex: Sex | None = "female" if day > _WOMEN_DAY_OFFSET else "male"
    day_of_month = day - _WOMEN_DAY_OFFSET if sex == "female" else day
    if not 1 <= month <= 12:
        errors.append(_error(NikErrorCode.MONTH, field, *_month_messages(nik[8:10])))
    if not 1 <= day_of_month <= 31:
        sex = None
        errors.append(_error(NikErrorCode.DAY, field, *_day_messages(nik[6:8])))
    birth_date = None
    if 1 <= month <= 12 and sex is not None:
        birth_date, date_errors = _read_date(yy, month, day_of_month, today, field)
        errors.extend(date_errors)
    if nik[12:] == "0000":
        errors.append(_error(NikErrorCode.SERIAL_ZERO, field, *_SERIAL_ZERO_MESSAGES))
    return NikCheck(
        valid=not errors,
        nik_masked=mask_nik(nik),
        errors=tuple(errors),
        province_code=nik[:2],
        province=area.province,
        regency_code=nik[:4],
        regency=area.regency,
        kecamatan_code=nik[:6],
        kecamatan=area.kecamatan,
        sex=sex,
        birth_date=birth_date,
        serial=nik[12:],
    )


def full_year(yy: int, month: int, day: int, today: dt.date) -> int:
    """The four-digit year of a `DDMMYY` date: 20YY unless that would be after `today`, else 19YY.

    Compares (year, month, day) as numbers, so it also answers for a date that does not exist.
    """
    return 2000 + yy if (2000 + yy, month, day) <= (today.year, today.month, today.day) else 1900 + yy


def _read_date(
    yy: int, month: int, day: int, today: dt.date, field: str
) -> tuple[dt.date | None, list[RuleError]]:
    year = full_year(yy, month, day, today)
    try:
        birth_date = dt.date(year, month, day)
    except ValueError:
        iso = f"{year:04d}-{month:02d}-{day:02d}"
        return None, [
            _error(
                NikErrorCode.DATE,
                field,
                f"Tanggal lahir {iso} tidak ada di kalender.",
                f"Birth date {iso} is not a calendar date.",
            )
        ]
    if birth_date > today:
        return None, [
            _error(
                NikErrorCode.DATE_FUTURE,
                field,
                f"Tanggal lahir {birth_date.isoformat()} belum terjadi.",
                f"Birth date {birth_date.isoformat()} is in the future.",
            )
        ]
    return birth_date, []


def _area_errors(code: str, area: AreaNames, field: str) -> list[RuleError]:
    match area.unknown_level:
        case "province":
            return [
                _error(
                    NikErrorCode.UNKNOWN_PROVINCE,
                    field,
                    f"Kode provinsi {code[:2]} tidak ada di data wilayah Kemendagri.",
                    f"Province code {code[:2]} is not in the Kemendagri region table.",
                )
            ]
        case "regency":
            return [
                _error(
                    NikErrorCode.UNKNOWN_REGENCY,
                    field,
                    f"Kode kabupaten/kota {code[:4]} tidak ada di provinsi {area.province}.",
                    f"Regency/city code {code[:4]} does not exist in {area.province}.",
                )
            ]
        case "kecamatan":
            return [
                _error(
                    NikErrorCode.UNKNOWN_KECAMATAN,
                    field,
                    f"Kode kecamatan {code} tidak ada di {area.regency}.",
                    f"Kecamatan code {code} does not exist in {area.regency}.",
                )
            ]
        case None:
            return []


def _format_error(nik: str, field: str) -> RuleError:
    if nik.isascii() and nik.isdigit():
        return _error(
            NikErrorCode.FORMAT,
            field,
            f"NIK harus 16 digit, bukan {len(nik)}.",
            f"A NIK has 16 digits, not {len(nik)}.",
        )
    return _error(
        NikErrorCode.FORMAT,
        field,
        f"NIK hanya boleh berisi 16 angka 0-9 (diterima {len(nik)} karakter).",
        f"A NIK is 16 of the digits 0-9 only (got {len(nik)} characters).",
    )


def _month_messages(mm: str) -> tuple[str, str]:
    return f"Bulan lahir {mm} tidak ada; harus 01-12.", f"Birth month {mm} does not exist; it must be 01-12."


def _day_messages(dd: str) -> tuple[str, str]:
    return (
        f"Tanggal lahir {dd} tidak mungkin: 01-31 untuk laki-laki, 41-71 untuk perempuan (tanggal + 40).",
        f"Birth day {dd} is impossible: 01-31 for men, 41-71 for women (day + 40).",
    )


_SERIAL_ZERO_MESSAGES = (
    "Nomor urut 0000 tidak pernah diterbitkan; nomor urut mulai dari 0001.",
    "Serial 0000 is never issued; serials start at 0001.",
)


def _error(code: NikErrorCode, field: str, message_id: str, message_en: str) -> RuleError:
    return RuleError(code=code.value, field=field, message_id=message_id, message_en=message_en)
