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

The rules a NIK shares with a KK number are `events/area_date_serial.py`; this module adds the day + 40 of
women, the sex it tells, the NIK's codes and the wording of its messages.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from events.area_date_serial import (
    ErrorsAndArea,
    Verdict,
    Wording,
    full_year,
    is_sixteen_digits,
    mask_unparsable,
    read_area_date_serial,
)
from events.masking import mask_nik
from events.rule_errors import RuleError

__all__ = ["NikCheck", "NikErrorCode", "Sex", "check_nik", "full_year"]

Sex = Literal["male", "female"]

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


_WORDING: Wording = {
    "UNKNOWN_PROVINCE": ("Kode provinsi {province_code} tidak ada di data wilayah Kemendagri.",
                         "Province code {province_code} is not in the Kemendagri region table."),
    "UNKNOWN_REGENCY": ("Kode kabupaten/kota {regency_code} tidak ada di provinsi {province}.",
                        "Regency/city code {regency_code} does not exist in {province}."),
    "UNKNOWN_KECAMATAN": ("Kode kecamatan {kecamatan_code} tidak ada di {regency}.",
                          "Kecamatan code {kecamatan_code} does not exist in {regency}."),
    "MONTH": ("Bulan lahir {mm} tidak ada; harus 01-12.", "Birth month {mm} does not exist; it must be 01-12."),
    "DAY": ("Tanggal lahir {dd} tidak mungkin: 01-31 untuk laki-laki, 41-71 untuk perempuan (tanggal + 40).",
            "Birth day {dd} is impossible: 01-31 for men, 41-71 for women (day + 40)."),
    "DATE": ("Tanggal lahir {iso} tidak ada di kalender.", "Birth date {iso} is not a calendar date."),
    "DATE_FUTURE": ("Tanggal lahir {iso} belum terjadi.", "Birth date {iso} is in the future."),
    "SERIAL_ZERO": ("Nomor urut 0000 tidak pernah diterbitkan; nomor urut mulai dari 0001.",
                    "Serial 0000 is never issued; serials start at 0001."),
}


class _NikHead(Verdict):
    nik_masked: str


# Fields in the order `_NikHead`, `ErrorsAndArea`, then these (see `ErrorsAndArea`).
class NikCheck(ErrorsAndArea, _NikHead):
    """The verdict on one NIK and what it encodes, as far as it could be read.

    Together the fields rebuild the NIK: log `nik_masked` and `errors`, never the whole model.
    """

    sex: Sex | None = None
    birth_date: dt.date | None = None
    serial: str | None = None


def check_nik(nik: str, *, today: dt.date | None = None, field: str = "nik") -> NikCheck:
    """Check `nik` against every NIK rule and decode it; never raises.

    `today` fixes the century (20YY unless that is after `today`, else 19YY); `field` is the path that the
    errors name, e.g. `resident.nik`.
    """
    if not is_sixteen_digits(nik):
        return NikCheck(valid=False, nik_masked=mask_unparsable(nik), errors=(_format_error(nik, field),))
    day = int(nik[6:8])
    sex: Sex = "female" if day > _WOMEN_DAY_OFFSET else "male"
    day_of_month = day - _WOMEN_DAY_OFFSET if sex == "female" else day
    reading = read_area_date_serial(nik, codes=NikErrorCode, wording=_WORDING, day_of_month=day_of_month,
                                    today=today, field=field)
    return NikCheck(nik_masked=mask_nik(nik), sex=sex if reading.day_in_range else None, birth_date=reading.date,
                    **reading.fields)


def _format_error(nik: str, field: str) -> RuleError:
    if nik.isascii() and nik.isdigit():
        message_id, message_en = f"NIK harus 16 digit, bukan {len(nik)}.", f"A NIK has 16 digits, not {len(nik)}."
    else:
        message_id = f"NIK hanya boleh berisi 16 angka 0-9 (diterima {len(nik)} karakter)."
        message_en = f"A NIK is 16 of the digits 0-9 only (got {len(nik)} characters)."
    return RuleError(code=NikErrorCode.FORMAT.value, field=field, message_id=message_id, message_en=message_en)
