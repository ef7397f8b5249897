"""Enrollment: the raw submission of a recording desk, and what the intake makes of it.

`EnrollmentSubmission` is the contract of `ektp.enrollment.submitted` (docs/architecture.md, "The submission
contract"), written by recording desks of any vendor: it accepts exactly that shape and nothing else.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from events.common import CitizenKey, Digest, Event, RequestId
from events.rule_errors import RuleError

SUBMISSION_SCHEMA_VERSION: Literal[1] = 1


# Bounded, trimmed, non-empty text: sizes are bounded so that one message cannot grow without limit.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Sixteen = Annotated[str, StringConstraints(max_length=64)]  # checked by the NIK/KK rules, coded errors
NeighbourhoodNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]  # RT / RW: "002"


class RequestType(StrEnum):
    """Why a card is asked for. First-time cards go before replacements when blanks are short."""

    NEW = "new"
    REPLACEMENT_DAMAGED = "replacement_damaged"
    REPLACEMENT_LOST = "replacement_lost"
    DATA_CHANGE = "data_change"


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class BloodType(StrEnum):
    A = "A"
    B = "B"
    AB = "AB"
    O = "O"  # noqa: E741 (the blood type, not a zero)
    UNKNOWN = "-"


class Religion(StrEnum):
    ISLAM = "islam"
    KRISTEN = "kristen"
    KATOLIK = "katolik"
    HINDU = "hindu"
    BUDDHA = "buddha"
    KONGHUCU = "konghucu"
    KEPERCAYAAN = "kepercayaan"


class MaritalStatus(StrEnum):
    SINGLE = "single"
    MARRIED = "married"
    DIVORCED = "divorced"
    WIDOWED = "widowed"


class Finger(StrEnum):
    RIGHT_THUMB = "right_thumb"
    RIGHT_INDEX = "right_index"
    RIGHT_MIDDLE = "right_middle"
    RIGHT_RING = "right_ring"
    RIGHT_LITTLE = "right_little"
    LEFT_THUMB = "left_thumb"
    LEFT_INDEX = "left_index"
    LEFT_MIDDLE = "left_middle"
    LEFT_RING = "left_ring"
    LEFT_LITTLE = "left_little"


class _Contract(BaseModel):
    """A shape other programs write: exactly these fields, frozen."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(_Contract):
    street: Name
    rt: NeighbourhoodNumber
    rw: NeighbourhoodNumber
    kelurahan: ShortText
    kecamatan: ShortText
    city: ShortText
    province: ShortText


class Resident(_Contract):
    nik: Sixteen = Field(description="16-digit NIK; checked by the NIK rules (events/nik.py)")
    kk_number: Sixteen = Field(description="16-digit family-card number; checked by events/kk.py")
    full_name: Name
    birth_place: ShortText
    birth_date: dt.date
    sex: Sex
    blood_type: BloodType
    religion: Religion
    marital_status: MaritalStatus
    occupation: ShortText
    citizenship: Literal["WNI", "WNA"]
    address: Address


class Fingerprints(_Contract):
    """All ten fingers, each the SHA-256 digest of its template."""

    right_thumb: Digest
    right_index: Digest
    right_middle: Digest
    right_ring: Digest
    right_little: Digest
    left_thumb: Digest
    left_index: Digest
    left_middle: Digest
    left_ring: Digest
    left_little: Digest

    def digest_of(self, finger: Finger) -> str:
        digest: str = getattr(self, finger.value)
        return digest


class Quality(_Contract):
    min_fingerprint: int = Field(ge=0, le=100, description="Worst fingerprint quality score, 0-100")
    face: int = Field(ge=0, le=100, description="Face image quality score, 0-100")


class Biometrics(_Contract):
    """Digests only, never images (UU PDP: biometrics are specific personal data)."""

    fingerprints: Fingerprints
    iris_left: Digest
    iris_right: Digest
    face: Digest
    signature: Digest
    quality: Quality


class EnrollmentSubmission(_Contract):
    """A recording desk's submission (`ektp.enrollment.submitted`), exactly as the contract says."""

    schema_version: Literal[1] = SUBMISSION_SCHEMA_VERSION
    request_id: RequestId = Field(description="Idempotency key: the same request_id twice is one request")
    submitted_at: AwareDatetime
    office_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")] = Field(
        description="Kemendagri code of the regency/city office, e.g. 2172"
    )
    desk_id: ShortText
    request_type: RequestType
    resident: Resident
    biometrics: Biometrics


class Area(BaseModel):
    """Where the NIK was first issued, by name."""

    model_config = ConfigDict(frozen=True)

    kecamatan_code: str
    province: str | None
    regency: str | None
    kecamatan: str | None


class EnrollmentRecorded(Event):
    """A submission that passed every intake rule (`ektp.enrollment.recorded`, keyed by citizen key).

    Carries the whole submission: central needs it to deduplicate, the printer to print the card.
    """

    producer: str = "ektp-pipeline/intake"
    citizen_key: CitizenKey
    nik_masked: str
    office_code: str
    request_type: RequestType
    area: Area
    submission: EnrollmentSubmission


class RawEncoding(StrEnum):
    UTF8 = "utf-8"
    BASE64 = "base64"
    ABSENT = "absent"


class SourcePosition(BaseModel):
    """Where a message was read: enough for an operator to find it again."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int


class EnrollmentRejected(Event):
    """A submission the intake refused (`ektp.enrollment.rejected`), with the bytes kept as they came.

    `request_id` is the submission's when it could be read; otherwise `unknown` and the raw key and
    value (and the source position) identify the message.
    """

    producer: str = "ektp-pipeline/intake"
    request_id: RequestId = "unknown"
    request_id_known: bool = True
    errors: tuple[RuleError, ...] = Field(min_length=1)
    raw_key: str | None = Field(description="The message key as sent: text, or base64 (see raw_key_encoding)")
    raw_key_encoding: RawEncoding
    raw_value: str | None = Field(description="The message value as sent: text, or base64")
    raw_value_encoding: RawEncoding
    source: SourcePosition | None = None
    nik_masked: str | None = None
    office_code: str | None = None


class SubmissionValidated(Event):
    """A submission that passed every rule, re-keyed by citizen (internal topic, not a contract).

    Carries the raw bytes too, so that a later refusal (an open request) still keeps them unchanged.
    """

    producer: str = "ektp-pipeline/intake"
    citizen_key: CitizenKey
    nik_masked: str
    area: Area
    submission: EnrollmentSubmission
    raw_key: str | None
    raw_key_encoding: RawEncoding
    raw_value: str
    source: SourcePosition
