"""The intake: a recording desk's raw bytes become a validated enrollment, or a rejection that says why.

Two steps, because a desk may key its messages by anything:

1. `validate_submission` (stateless, on `ektp.enrollment.submitted`): every rule of the submission
   contract (docs/architecture.md, "Rules the intake checks"), all failures at once, each a `RuleError`
   with a code and a field path. The raw bytes of a rejected message are kept unchanged (text, or base64
   when they are not UTF-8).
2. `decide_recording` (per citizen, on the re-keyed internal topic): the same request_id twice is one
   request; a citizen with an unfinished request may not open a second one.

Never raises on any input: the agent routes what it returns.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from events.common import WIB, Event
from events.enrollment import (
    Area,
    EnrollmentRecorded,
    EnrollmentRejected,
    EnrollmentSubmission,
    MaritalStatus,
    RawEncoding,
    SourcePosition,
    SubmissionValidated,
)
from events.identity import citizen_key
from events.kk import check_kk
from events.masking import mask_nik
from events.nik import NikCheck, check_nik
from events.regions import regency_name
from events.rule_errors import RuleError

ADULT_AGE = 17
# A desk's clock may run a little ahead; more than this is a wrong clock or a forged time.
SUBMITTED_AT_TOLERANCE = dt.timedelta(hours=24)
# A citizen's past request ids kept for the repeat rule: a person asks for a handful of cards in a life.
KNOWN_REQUESTS_KEPT = 20


@dataclass(frozen=True)
class RawMessage:
    """A message exactly as it was read from Kafka."""

    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int

    @property
    def position(self) -> SourcePosition:
        return SourcePosition(topic=self.topic, partition=self.partition, offset=self.offset)


# -- step 1: validation ---------------------------------------------------------------------------------


def validate_submission(
    raw: RawMessage, *, secret: bytes, now: dt.datetime, max_bytes: int
) -> SubmissionValidated | EnrollmentRejected:
    """Check one raw submission against every rule; never raises.

    `now` fixes "today" for the age and date rules (so that a replay decides as it did), `secret` makes
    the citizen key, `max_bytes` bounds the message.
    """
    text = _text_of(raw.value, max_bytes)
    if isinstance(text, RuleError):
        return _rejected(raw, [text])
    try:
        # A valid submission is parsed once, here; the plain JSON document only serves to reject one.
        submission = EnrollmentSubmission.model_validate_json(text, strict=True)
    except ValidationError as error:
        document = _json_object(text)
        if isinstance(document, RuleError):
            return _rejected(raw, [document])
        errors = [_from_pydantic(detail) for detail in error.errors(include_input=False, include_url=False)]
        errors += _rules_on_raw_document(document, now)  # still report NIK/KK faults alongside
        return _rejected(raw, _dedupe(errors), document=document)
    nik = check_nik(submission.resident.nik, today=_local_date(now), field="resident.nik")
    errors = business_rule_errors(submission, nik, now)
    if errors:
        return _rejected(raw, errors, document=json.loads(text), nik=nik)
    raw_key, raw_key_encoding = _encode(raw.key)
    return SubmissionValidated(
        request_id=submission.request_id,
        occurred_at=now,
        citizen_key=citizen_key(submission.resident.nik, secret),
        nik_masked=nik.nik_masked,
        area=_area(nik),
        submission=submission,
        raw_key=raw_key,
        raw_key_encoding=raw_key_encoding,
        raw_value=text,
        source=raw.position,
    )


def _parse_json_object(value: bytes | None, max_bytes: int) -> tuple[str, dict[str, Any]] | RuleError:
    """The message as text and as a JSON object, or the one error that stops it being either."""
    text = _text_of(value, max_bytes)
    if isinstance(text, RuleError):
        return text
    document = _json_object(text)
    if isinstance(document, RuleError):
        return document
    return text, document


def _text_of(value: bytes | None, max_bytes: int) -> str | RuleError:
    """The message as text, or the error that stops it being a message at all: empty, too large, not UTF-8."""
    if not value:
        return _error("MESSAGE_EMPTY", "", "Pesan kosong.", "The message is empty.")
    if len(value) > max_bytes:
        return _error(
            "MESSAGE_TOO_LARGE", "",
            f"Pesan {len(value)} bait, melebihi batas {max_bytes} bait.",
            f"The message is {len(value)} bytes, over the limit of {max_bytes} bytes.",
        )
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as error:
        return _error(
            "MESSAGE_NOT_UTF8", "", f"Pesan bukan UTF-8 yang sah (bait ke-{error.start}).",
            f"The message is not valid UTF-8 (byte {error.start}).",
        )
    return text


def _json_object(text: str) -> dict[str, Any] | RuleError:
    """The text as a JSON object, or the error that stops it being one."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        return _error(
            "MESSAGE_NOT_JSON", "", "Pesan bukan JSON yang sah.", f"The message is not valid JSON: {error}.",
        )
    if not isinstance(document, dict):
        return _error(
            "MESSAGE_NOT_OBJECT", "", "Pesan harus berupa objek JSON.", "The message must be a JSON object.",
        )
    return document


def business_rule_errors(
    submission: EnrollmentSubmission, nik: NikCheck, now: dt.datetime
) -> list[RuleError]:
    """The rules a well-formed submission must also meet (docs/architecture.md, "Rules the intake checks")."""
    resident = submission.resident
    today = _local_date(now)
    errors = list(nik.errors)
    errors += check_kk(resident.kk_number, today=today, field="resident.kk_number").errors
    if nik.valid and nik.birth_date != resident.birth_date:
        errors.append(_error(
            "NIK_BIRTH_DATE_MISMATCH", "resident.birth_date",
            "Tanggal lahir tidak sesuai dengan tanggal lahir dalam NIK.",
            "The birth date does not match the birth date encoded in the NIK.",
        ))
    if nik.sex is not None and not nik.errors and nik.sex != resident.sex.value:
        errors.append(_error(
            "NIK_SEX_MISMATCH", "resident.sex",
            "Jenis kelamin tidak sesuai dengan NIK (perempuan: tanggal lahir + 40).",
            "The sex does not match the NIK (women: day of birth + 40).",
        ))
    if resident.birth_date > today:
        errors.append(_error(
            "BIRTH_DATE_IN_FUTURE", "resident.birth_date", "Tanggal lahir di masa depan.",
            "The birth date lies in the future.",
        ))
    elif _age(resident.birth_date, today) < ADULT_AGE and resident.marital_status == MaritalStatus.SINGLE:
        errors.append(_error(
            "NOT_YET_ELIGIBLE", "resident.birth_date",
            "Wajib KTP-el: berumur 17 tahun atau sudah/pernah kawin.",
            "A KTP-el is for residents aged 17 or more, or who are or were married.",
        ))
    if regency_name(submission.office_code) is None:
        errors.append(_error(
            "OFFICE_UNKNOWN", "office_code", "Kode kantor (kabupaten/kota) tidak dikenal.",
            "The office code is not a known regency or city.",
        ))
    if submission.submitted_at - now > SUBMITTED_AT_TOLERANCE:
        errors.append(_error(
            "SUBMITTED_IN_FUTURE", "submitted_at", "Waktu perekaman di masa depan; periksa jam meja rekam.",
            "The submission time lies in the future; check the recording desk's clock.",
        ))
    fingerprints = list(submission.biometrics.fingerprints.model_dump().values())
    if len(set(fingerprints)) != len(fingerprints):
        errors.append(_error(
            "FINGERPRINTS_NOT_DISTINCT", "biometrics.fingerprints",
            "Dua jari atau lebih memiliki sidik yang sama; rekam ulang sidik jari.",
            "Two or more fingers carry the same digest; record the fingerprints again.",
        ))
    return errors


# -- step 2: recording, per citizen -----------------------------------------------------------------------


@dataclass(frozen=True)
class CitizenRequests:
    """What the intake remembers of one citizen: their request ids, and which one is unfinished."""

    request_ids: tuple[str, ...] = ()
    open_request_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"request_ids": list(self.request_ids), "open_request_id": self.open_request_id}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> CitizenRequests:
        if not data:
            return cls()
        return cls(tuple(data.get("request_ids", ())), data.get("open_request_id"))


@dataclass(frozen=True)
class Record:
    """Write `recorded`; remember `citizen`."""

    recorded: EnrollmentRecorded
    citizen: CitizenRequests


@dataclass(frozen=True)
class Repeat:
    """The same request again: one request, nothing new to write."""

    request_id: str


@dataclass(frozen=True)
class Refuse:
    """Write `rejected`: the citizen already has an unfinished request."""

    rejected: EnrollmentRejected


def decide_recording(
    validated: SubmissionValidated, known: CitizenRequests, *, open_request_finished: bool, now: dt.datetime
) -> Record | Repeat | Refuse:
    """Record a validated submission unless it repeats a known request or the citizen has one open.

    `open_request_finished` tells whether `known.open_request_id` has reached a terminal state.
    """
    request_id = validated.request_id
    if request_id in known.request_ids:
        return Repeat(request_id)
    if known.open_request_id is not None and not open_request_finished:
        return Refuse(EnrollmentRejected(
            request_id=request_id,
            occurred_at=now,
            errors=(_error(
                "OPEN_REQUEST_EXISTS", "resident.nik",
                "Penduduk ini masih memiliki permohonan KTP-el yang belum selesai; tunggu hingga selesai.",
                "This resident still has an unfinished KTP-el request; wait until it is finished.",
            ),),
            raw_key=validated.raw_key,
            raw_key_encoding=validated.raw_key_encoding,
            raw_value=validated.raw_value,
            raw_value_encoding=RawEncoding.UTF8,
            source=validated.source,
            nik_masked=validated.nik_masked,
            office_code=validated.submission.office_code,
        ))
    recorded = EnrollmentRecorded(
        request_id=request_id,
        occurred_at=now,
        citizen_key=validated.citizen_key,
        nik_masked=validated.nik_masked,
        office_code=validated.submission.office_code,
        request_type=validated.submission.request_type,
        area=validated.area,
        submission=validated.submission,
    )
    remembered = (*known.request_ids, request_id)[-KNOWN_REQUESTS_KEPT:]
    return Record(recorded, CitizenRequests(remembered, request_id))


def citizen_key_of_rejected(raw: RawMessage, *, secret: bytes, max_bytes: int) -> str | None:
    """The key a rejected submission's status is kept under; None when it has no readable request_id or NIK.

    A rejection whose NIK reads as 16 digits belongs to that citizen: it goes to the citizen's step, which
    knows their requests, so that the REJECTED status is decided where the request's other statuses are.
    One whose NIK cannot be read but whose request_id can is kept under a key of its request_id alone, so
    that the citizen asking about it still learns what to correct.
    """
    parsed = _parse_json_object(raw.value, max_bytes)
    if isinstance(parsed, RuleError):
        return None
    document = parsed[1]
    resident = document.get("resident")
    nik = resident.get("nik") if isinstance(resident, dict) else None
    if isinstance(nik, str) and len(nik) == 16 and nik.isascii() and nik.isdigit():
        return citizen_key(nik, secret)
    request_id = _readable_request_id(document)
    return citizen_key(f"request:{request_id}", secret) if request_id is not None else None


def internal_error(raw: RawMessage, error: BaseException, *, now: dt.datetime) -> EnrollmentRejected:
    """A rejection for a message the intake could not process at all: kept, visible, never dropped."""
    return _rejected(raw, [_error(
        "INTAKE_INTERNAL_ERROR", "",
        "Kesalahan internal saat memeriksa pesan; pesan disimpan untuk diperiksa petugas.",
        f"Internal error while checking the message ({type(error).__name__}); kept for an operator.",
    )], now=now)


# -- helpers -----------------------------------------------------------------------------------------------

_PYDANTIC_CODES = {
    "missing": "FIELD_MISSING",
    "extra_forbidden": "FIELD_UNKNOWN",
    "enum": "VALUE_NOT_ALLOWED",
    "literal_error": "VALUE_NOT_ALLOWED",
    "string_pattern_mismatch": "FIELD_FORMAT",
    "string_too_short": "FIELD_LENGTH",
    "string_too_long": "FIELD_LENGTH",
    "greater_than_equal": "VALUE_OUT_OF_RANGE",
    "less_than_equal": "VALUE_OUT_OF_RANGE",
    "timezone_aware": "FIELD_FORMAT",
}
_MESSAGES_ID = {
    "FIELD_MISSING": "Kolom wajib tidak ada.",
    "FINGERPRINT_MISSING": "Sidik jari ini tidak ada; kesepuluh jari wajib direkam.",
    "FIELD_UNKNOWN": "Kolom tidak dikenal dalam kontrak.",
    "VALUE_NOT_ALLOWED": "Nilai tidak termasuk pilihan yang diizinkan.",
    "FIELD_FORMAT": "Format nilai salah.",
    "FIELD_LENGTH": "Panjang nilai di luar batas.",
    "VALUE_OUT_OF_RANGE": "Nilai di luar rentang yang diizinkan.",
    "FIELD_TYPE": "Jenis nilai salah.",
    "FIELD_INVALID": "Nilai tidak sah.",
}


def _from_pydantic(detail: ErrorDetails) -> RuleError:
    location = detail["loc"]
    field = ".".join(str(part) for part in location)
    kind = detail["type"]
    code = _PYDANTIC_CODES.get(kind)
    if code is None:
        code = "FIELD_TYPE" if kind.endswith(("_type", "_parsing")) else "FIELD_INVALID"
    if code == "FIELD_MISSING" and location[:2] == ("biometrics", "fingerprints"):
        code = "FINGERPRINT_MISSING"
    # pydantic's messages describe the rule, not the input; masked all the same.
    return _error(code, field, _MESSAGES_ID[code], mask_nik(f"{field}: {detail['msg']}"))


def _rules_on_raw_document(document: dict[str, Any], now: dt.datetime) -> list[RuleError]:
    resident = document.get("resident")
    if not isinstance(resident, dict):
        return []
    today = _local_date(now)
    errors: list[RuleError] = []
    if isinstance(resident.get("nik"), str):
        errors += check_nik(resident["nik"], today=today, field="resident.nik").errors
    if isinstance(resident.get("kk_number"), str):
        errors += check_kk(resident["kk_number"], today=today, field="resident.kk_number").errors
    return errors


def _dedupe(errors: Iterable[RuleError]) -> list[RuleError]:
    seen: dict[tuple[str, str], RuleError] = {}
    for error in errors:
        seen.setdefault((error.code, error.field), error)
    return list(seen.values())


def _rejected(
    raw: RawMessage,
    errors: list[RuleError],
    *,
    document: dict[str, Any] | None = None,
    nik: NikCheck | None = None,
    now: dt.datetime | None = None,
) -> EnrollmentRejected:
    request_id = _readable_request_id(document)
    raw_key, key_encoding = _encode(raw.key)
    raw_value, value_encoding = _encode(raw.value)
    office_code = document.get("office_code") if document else None
    return EnrollmentRejected(
        request_id=request_id or "unknown",
        request_id_known=request_id is not None,
        errors=tuple(errors),
        raw_key=raw_key,
        raw_key_encoding=key_encoding,
        raw_value=raw_value,
        raw_value_encoding=value_encoding,
        source=raw.position,
        nik_masked=nik.nik_masked if nik else _masked_nik_of(document),
        office_code=office_code if isinstance(office_code, str) and len(office_code) <= 8 else None,
        **({"occurred_at": now} if now else {}),
    )


def _readable_request_id(document: dict[str, Any] | None) -> str | None:
    candidate = document.get("request_id") if document else None
    if not isinstance(candidate, str):
        return None
    try:
        return Event.model_validate({"request_id": candidate, "producer": "-"}).request_id
    except ValidationError:
        return None


def _masked_nik_of(document: dict[str, Any] | None) -> str | None:
    resident = document.get("resident") if document else None
    nik = resident.get("nik") if isinstance(resident, dict) else None
    if isinstance(nik, str) and len(nik) == 16 and nik.isascii() and nik.isdigit():
        return mask_nik(nik)
    return None


def _encode(data: bytes | None) -> tuple[str | None, RawEncoding]:
    if data is None:
        return None, RawEncoding.ABSENT
    try:
        return data.decode("utf-8"), RawEncoding.UTF8
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), RawEncoding.BASE64


def _area(nik: NikCheck) -> Area:
    return Area(
        kecamatan_code=nik.kecamatan_code or "",
        province=nik.province,
        regency=nik.regency,
        kecamatan=nik.kecamatan,
    )


def _error(code: str, field: str, message_id: str, message_en: str) -> RuleError:
    return RuleError(code=code, field=field, message_id=message_id, message_en=message_en)




def _local_date(now: dt.datetime) -> dt.date:
    return now.astimezone(WIB).date()


def _age(birth_date: dt.date, today: dt.date) -> int:
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday
