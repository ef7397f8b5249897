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
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from events.masking import mask_nik
from events.nik import full_year
from events.regions import AreaNames, area_names
from events.rule_errors import RuleError

_SIXTEEN_ASCII_DIGITS = re.compile(r"[0-9]{16}")
_MASKED_UNPARSABLE_MAX = 32


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


class KkCheck(BaseModel):
    """The verdict on one KK number and what it encodes, as far as it could be read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    valid: bool
    kk_masked: str
    errors: tuple[RuleError, ...] = ()
    province_code: str | None = None
    province: str | None = None
    regency_code: str | None = None
    regency: str | None = None
    kecamatan_code: str | None = None
    kecamatan: str | None = None
    issue_date: dt.date | None = None
    serial: str | None = None


def check_kk(kk: str, *, today: dt.date | None = None, field: str = "kk") -> KkCheck:
    """Check a KK number against every KK rule and decode it; never raises.

    `today` fixes the century (20YY unless that is after `today`, else 19YY); `field` is the path that the
    errors name, e.g. `family.kk`.
    """
    if _SIXTEEN_ASCII_DIGITS.fullmatch(kk) is None:
        return KkCheck(
            valid=False,
            kk_masked="*" * min(len(kk), _MASKED_UNPARSABLE_MAX),
            errors=(
                _error(
                    KkErrorCode.FORMAT,
                    field,
                    f"Nomor KK harus 16 angka 0-9 (diterima {len(kk)} karakter).",
                    f"A KK number is 16 of the digits 0-9 (got {len(kk)} characters).",
                ),
            ),
        )
    errors: list[RuleError] = []
    area = area_names(kk[:6])
    if area.unknown_level is not None:
        errors.append(_unknown_area_error(kk[:6], area, field))
    issue_date, date_errors = _read_issue_date(kk[6:12], today or dt.date.today(), field)
    errors.extend(date_errors)
    if kk[12:] == "0000":
        errors.append(
            _error(
                KkErrorCode.SERIAL_ZERO,
                field,
                "Nomor urut KK 0000 tidak pernah diterbitkan; nomor urut mulai dari 0001.",
                "KK serial 0000 is never issued; serials start at 0001.",
            )
        )
    return KkCheck(
        valid=not errors,
        kk_masked=mask_nik(kk),
        errors=tuple(errors),
        province_code=kk[:2],
        province=area.province,
        regency_code=kk[:4],
        regency=area.regency,
        kecamatan_code=kk[:6],
        kecamatan=area.kecamatan,
        issue_date=issue_date,
        serial=kk[12:],
    )


def _unknown_area_error(code: str, area: AreaNames, field: str) -> RuleError:
    match area.unknown_level:
        case "province":
            return _error(
                KkErrorCode.UNKNOWN_PROVINCE,
                field,
                f"Kode provinsi {code[:2]} pada nomor KK tidak ada di data wilayah Kemendagri.",
                f"The KK number's province code {code[:2]} is not in the Kemendagri region table.",
            )
        case "regency":
            return _error(
                KkErrorCode.UNKNOWN_REGENCY,
                field,
                f"Kode kabupaten/kota {code[:4]} pada nomor KK tidak ada di provinsi {area.province}.",
                f"The KK number's regency/city code {code[:4]} does not exist in {area.province}.",
            )
        case _:
            return _error(
                KkErrorCode.UNKNOWN_KECAMATAN,
                field,
                f"Kode kecamatan {code} pada nomor KK tidak ada di {area.regency}.",
                f"The KK number's kecamatan code {code} does not exist in {area.regency}.",
            )


def _read_issue_date(ddmmyy: str, today: dt.date, field: str) -> tuple[dt.date | None, list[RuleError]]:
    day, month, yy = int(ddmmyy[:2]), int(ddmmyy[2:4]), int(ddmmyy[4:])
    errors: list[RuleError] = []
    if not 1 <= month <= 12:
        errors.append(
            _error(
                KkErrorCode.MONTH,
                field,
                f"Bulan terbit KK {ddmmyy[2:4]} tidak ada; harus 01-12.",
                f"KK issue month {ddmmyy[2:4]} does not exist; it must be 01-12.",
            )
        )
    if not 1 <= day <= 31:
        errors.append(
            _error(
                KkErrorCode.DAY,
                field,
                f"Tanggal terbit KK {ddmmyy[:2]} tidak mungkin; harus 01-31.",
                f"KK issue day {ddmmyy[:2]} is impossible; it must be 01-31.",
            )
        )
    if errors:
        return None, errors
    year = full_year(yy, month, day, today)
    iso = f"{year:04d}-{month:02d}-{day:02d}"
    try:
        issue_date = dt.date(year, month, day)
    except ValueError:
        return None, [
            _error(
                KkErrorCode.DATE,
                field,
                f"Tanggal terbit KK {iso} tidak ada di kalender.",
                f"KK issue date {iso} is not a calendar date.",
            )
        ]
    if issue_date > today:
        return None, [
            _error(
                KkErrorCode.DATE_FUTURE,
                field,
                f"Tanggal terbit KK {iso} belum terjadi.",
                f"KK issue date {iso} is in the future.",
            )
        ]
    return issue_date, []


def _error(code: KkErrorCode, field: str, message_id: str, message_en: str) -> RuleError:
    return RuleError(code=code.value, field=field, message_id=message_id, message_en=message_en)
