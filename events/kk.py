"""The KK (Kartu Keluarga) number rules: `PPKKCC DDMMYY SSSS`, 16 digits, no checksum.

The area is the kecamatan where the KK was issued, `DDMMYY` its date of issue (no +40: a KK has no sex),
read with the NIK's century rule. Error codes (stable: never rename one):

- `KK_FORMAT`: not exactly 16 ASCII digits; no other rule is checked then.
- `KK_UNKNOWN_PROVINCE`, `KK_UNKNOWN_REGENCY`, `KK_UNKNOWN_KECAMATAN`: the area code is not in the Kemendagri
  table; only the highest missing level is reported.
- `KK_MONTH`: month not 01-12.
- `KK_DAY`: day not 01-31.
- `KK_DATE`: month and day in range but no such calendar date.
- `KK_DATE_FUTURE`: the issue date lies after `today` even in the 1900s (only for a `today` before 2000).
- `KK_SERIAL_ZERO`: serial `0000`; family serials start at 0001.

The rules a KK number shares with a NIK are `events/area_date_serial.py`; this module adds the KK's codes and
the wording of its messages, which name the KK number so that they are told apart from the NIK's.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from events.area_date_serial import (
    ErrorsAndArea,
    Verdict,
    Wording,
    is_sixteen_digits,
    mask_unparsable,
    read_area_date_serial,
)
from events.masking import mask_nik
from events.rule_errors import RuleError


class KkErrorCode(StrEnum):
    """The machine codes of the KK rules (see the module docstring)."""

    FORMAT = "KK_FORMAT"
    UNKNOWN_PROVINCE = "KK_UNKNOWN_PROVINCE"
    UNKNOWN_REGENCY = "KK_UNKNOWN_REGENCY"
    UNKNOWN_KECAMATAN = "KK_UNKNOWN_KECAMATAN"
    MONTH = "KK_MONTH"
    DAY = "KK_DAY"
    DATE = "KK_DATE"
    DATE_FUTURE = "KK_DATE_FUTURE"
    SERIAL_ZERO = "KK_SERIAL_ZERO"


_WORDING: Wording = {
    "UNKNOWN_PROVINCE": ("Kode provinsi {province_code} pada nomor KK tidak ada di data wilayah Kemendagri.",
                         "The KK number's province code {province_code} is not in the Kemendagri region table."),
    "UNKNOWN_REGENCY": ("Kode kabupaten/kota {regency_code} pada nomor KK tidak ada di provinsi {province}.",
                        "The KK number's regency/city code {regency_code} does not exist in {province}."),
    "UNKNOWN_KECAMATAN": ("Kode kecamatan {kecamatan_code} pada nomor KK tidak ada di {regency}.",
                          "The KK number's kecamatan code {kecamatan_code} does not exist in {regency}."),
    "MONTH": ("Bulan terbit KK {mm} tidak ada; harus 01-12.", "KK issue month {mm} does not exist; it must be 01-12."),
    "DAY": ("Tanggal terbit KK {dd} tidak mungkin; harus 01-31.", "KK issue day {dd} is impossible; it must be 01-31."),
    "DATE": ("Tanggal terbit KK {iso} tidak ada di kalender.", "KK issue date {iso} is not a calendar date."),
    "DATE_FUTURE": ("Tanggal terbit KK {iso} belum terjadi.", "KK issue date {iso} is in the future."),
    "SERIAL_ZERO": ("Nomor urut KK 0000 tidak pernah diterbitkan; nomor urut mulai dari 0001.",
                    "KK serial 0000 is never issued; serials start at 0001."),
}


class _KkHead(Verdict):
    kk_masked: str


# Fields in the order `_KkHead`, `ErrorsAndArea`, then these (see `ErrorsAndArea`).
class KkCheck(ErrorsAndArea, _KkHead):
    """The verdict on one KK number and what it encodes, as far as it could be read."""

    issue_date: dt.date | None = None
    serial: str | None = None


def check_kk(kk: str, *, today: dt.date | None = None, field: str = "kk") -> KkCheck:
    """Check a KK number against every KK rule and decode it; never raises.

    `today` fixes the century of the date of issue (20YY unless that is after `today`, else 19YY); `field` is
    the path that the errors name, e.g. `family.kk`.
    """
    if not is_sixteen_digits(kk):
        error = RuleError(
            code=KkErrorCode.FORMAT.value, field=field,
            message_id=f"Nomor KK harus 16 angka 0-9 (diterima {len(kk)} karakter).",
            message_en=f"A KK number is 16 of the digits 0-9 (got {len(kk)} characters).",
        )
        return KkCheck(valid=False, kk_masked=mask_unparsable(kk), errors=(error,))
    reading = read_area_date_serial(kk, codes=KkErrorCode, wording=_WORDING, day_of_month=int(kk[6:8]), today=today,
                                    field=field)
    return KkCheck(kk_masked=mask_nik(kk), issue_date=reading.date, **reading.fields)
