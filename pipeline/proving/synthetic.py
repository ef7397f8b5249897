"""Synthetic residents of Kota Tanjung Pinang, as recording-desk submissions: seeded, pure, no Kafka.

Tests, the demo, the benchmark and the chaos test feed the pipeline with these. The same `count`, `seed`,
`today`, `office_code` and `Mix` always give the same bytes, in the same order.

What a valid submission looks like: a Tanjungpinang resident (a kelurahan of one of the kecamatan
217201-217204), aged 17-80 (about 1 in 100 is a married 15- or 16-year-old, which the rules allow), a NIK
that encodes the birth date, sex (+40 for women) and a kecamatan, with a serial unique per (kecamatan,
birth date), a valid KK number, mostly `new` requests, all biometrics as random digests (256 random bits
each, so unique per person and finger), and quality scores of at least 45. Serials are drawn from
0001-9999 rather than counted from 0001, so that two runs with different seeds rarely share a NIK.

The mix (`Mix`) adds, by exact count, submissions that the pipeline must treat differently; `expected` and
`central_decision` on each `GeneratedSubmission` say what should become of it.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import itertools
import json
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, Any, Final, Generic, TypeVar

from events.approval import CentralDecision
from events.common import WIB
from pipeline.desk.enroll import key_of_document, submission_key

_V = TypeVar("_V")

MAX_SUBMISSION_BYTES: Final = 64 * 1024  # the intake's size bound; `oversized` goes past it
FINGERS: Final = (
    "right_thumb", "right_index", "right_middle", "right_ring", "right_little",
    "left_thumb", "left_index", "left_middle", "left_ring", "left_little",
)
DUPLICATE_MIN_SHARED: Final = 6  # central: 6+ fingers shared with another NIK is DUPLICATE_RECORD


class Kind(StrEnum):
    """Why a submission was generated."""

    VALID = "valid"  # a plain resident: recorded, then PRINT_READY_RECORD
    INVALID = "invalid"  # well-formed, breaks one business rule (see `InvalidVariant`)
    MALFORMED = "malformed"  # not a submission at all (see `MalformedVariant`)
    REPEATED = "repeated"  # an earlier valid submission again, byte for byte
    DUPLICATE_RECORD = "duplicate_record"  # another NIK sharing 6-10 fingerprint digests with an earlier one
    ADJUDICATE = "adjudicate"  # another person sharing 1-5 fingerprint digests with an earlier one
    ENROLL_FAILURE = "enroll_failure"  # quality.min_fingerprint or quality.face below 40


class Expected(StrEnum):
    """What the intake should do with a submission."""

    RECORDED = "recorded"  # then central decides `central_decision`
    REJECTED = "rejected"
    REPEAT = "repeat"  # the same request again: no new record; the request keeps its first outcome


class InvalidVariant(StrEnum):
    """The business rule an `invalid` submission breaks (it is otherwise valid and parses)."""

    NIK_BIRTH_DATE_MISMATCH = "nik_birth_date_mismatch"  # birth_date differs from the NIK's DDMMYY
    NIK_SEX_MISMATCH = "nik_sex_mismatch"  # sex differs from the NIK's (+40) day
    NIK_SERIAL_ZERO = "nik_serial_zero"
    NIK_MONTH_13 = "nik_month_13"
    NIK_NOT_A_DATE = "nik_not_a_date"  # 31 February
    NIK_UNKNOWN_KECAMATAN = "nik_unknown_kecamatan"  # 217205: there is no such kecamatan
    UNDER_17_SINGLE = "under_17_single"  # 15 or 16, never married
    MISSING_FINGERPRINT = "missing_fingerprint"  # one of the ten fingers absent
    KK_SERIAL_ZERO = "kk_serial_zero"


class MalformedVariant(StrEnum):
    """How a `malformed` submission fails to be a submission at all."""

    NOT_JSON = "not_json"  # cut off mid-way, as a desk that crashed while sending
    WRONG_TYPES = "wrong_types"  # NIK and RT as numbers, fingerprints as a list
    UNKNOWN_ENUM = "unknown_enum"  # sex as LAKI-LAKI / PEREMPUAN instead of male / female
    INVALID_UTF8 = "invalid_utf8"  # written in Windows-1252: an en dash is byte 0x96
    OVERSIZED = "oversized"  # a base64 face image where its digest belongs: over 64 KiB
    DOUBLE_ENCODED = "double_encoded"  # the JSON text sent as one JSON string
    EMPTY = "empty"  # no bytes at all

    @property
    def fits_json_lines(self) -> bool:
        """Whether the bytes can be one line of a JSON Lines file (UTF-8, not blank)."""
        return self not in (MalformedVariant.INVALID_UTF8, MalformedVariant.EMPTY)


JSON_LINES_MALFORMED: Final = tuple(variant for variant in MalformedVariant if variant.fits_json_lines)

# The code among the intake's rejection errors (processors/intake.py) that each variant must bring.
REJECTION_CODES: Final[dict[InvalidVariant | MalformedVariant, str]] = {
    InvalidVariant.NIK_BIRTH_DATE_MISMATCH: "NIK_BIRTH_DATE_MISMATCH",
    InvalidVariant.NIK_SEX_MISMATCH: "NIK_SEX_MISMATCH",
    InvalidVariant.NIK_SERIAL_ZERO: "NIK_SERIAL_ZERO",
    InvalidVariant.NIK_MONTH_13: "NIK_MONTH",
    InvalidVariant.NIK_NOT_A_DATE: "NIK_DATE",
    InvalidVariant.NIK_UNKNOWN_KECAMATAN: "NIK_UNKNOWN_KECAMATAN",
    InvalidVariant.UNDER_17_SINGLE: "NOT_YET_ELIGIBLE",
    InvalidVariant.MISSING_FINGERPRINT: "FINGERPRINT_MISSING",
    InvalidVariant.KK_SERIAL_ZERO: "KK_SERIAL_ZERO",
    MalformedVariant.NOT_JSON: "MESSAGE_NOT_JSON",
    MalformedVariant.WRONG_TYPES: "FIELD_TYPE",
    MalformedVariant.UNKNOWN_ENUM: "VALUE_NOT_ALLOWED",
    MalformedVariant.INVALID_UTF8: "MESSAGE_NOT_UTF8",
    MalformedVariant.OVERSIZED: "MESSAGE_TOO_LARGE",
    MalformedVariant.DOUBLE_ENCODED: "MESSAGE_NOT_OBJECT",
    MalformedVariant.EMPTY: "MESSAGE_EMPTY",
}


@dataclass(frozen=True)
class Mix:
    """How many of each special kind `generate_submissions` makes; the rest of `count` are plain valid.

    Counts, not rates, so that a test knows exactly what to expect. Variants of `invalid` and `malformed`
    are taken in turn from `invalid_variants` / `malformed_variants` (shuffled), so a few of them cover
    every variant. `duplicate_record` and `adjudicate` each take a distinct plain valid resident as their
    source, so `count` must leave enough of those.
    """

    invalid: int = 0
    malformed: int = 0
    repeated: int = 0
    duplicate_record: int = 0
    adjudicate: int = 0
    enroll_failure: int = 0
    invalid_variants: tuple[InvalidVariant, ...] = tuple(InvalidVariant)
    malformed_variants: tuple[MalformedVariant, ...] = tuple(MalformedVariant)

    @property
    def special(self) -> int:
        """How many submissions of `count` are not plain valid ones."""
        return (
            self.invalid + self.malformed + self.repeated + self.duplicate_record + self.adjudicate
            + self.enroll_failure
        )

    def plain(self, count: int) -> int:
        """How many plain valid residents a batch of `count` holds, or ValueError if the mix does not fit."""
        counts = (self.invalid, self.malformed, self.repeated, self.duplicate_record, self.adjudicate,
                  self.enroll_failure)
        if count < 0 or any(number < 0 for number in counts):
            raise ValueError("counts cannot be negative")
        plain = count - self.special
        if plain < 0:
            raise ValueError(f"the mix asks for {self.special} special submissions but count is {count}")
        if plain < self.duplicate_record + self.adjudicate:
            raise ValueError(
                f"duplicate_record + adjudicate ({self.duplicate_record + self.adjudicate}) each need a "
                f"plain valid resident of their own, but only {plain} are left"
            )
        if self.repeated and not plain:
            raise ValueError("repeated submissions need at least one plain valid one to repeat")
        if self.invalid and not self.invalid_variants:
            raise ValueError("invalid submissions asked for, but no invalid variant allowed")
        if self.malformed and not self.malformed_variants:
            raise ValueError("malformed submissions asked for, but no malformed variant allowed")
        return plain


@dataclass(frozen=True, slots=True)
class GeneratedSubmission:
    """One message for `ektp.enrollment.submitted`, and what the pipeline should make of it.

    `key` is what a desk keys it by: the NIK as sent when the value is JSON with a string `resident.nik`,
    else None (`submission_key`). `request_id` is the id the intake can read from it; None when it cannot
    (not JSON, not UTF-8, not an object, empty, too large): the rejection then says `unknown` and is
    found by its raw bytes. `source_request_id` names the earlier submission that a `repeated`,
    `duplicate_record` or `adjudicate` one derives from. Central decides a duplicate as predicted only if
    it decided the source first, so a test that checks decisions sends the sources first
    (`source_request_id is None`) and the rest after. `expected` holds for an intake whose clock is on
    `today` (ages, and a `submitted_at` at most a day ahead).
    """

    key: bytes | None
    value: bytes
    kind: Kind
    expected: Expected
    request_id: str | None
    central_decision: CentralDecision | None = None  # for `expected == RECORDED` only
    variant: InvalidVariant | MalformedVariant | None = None
    source_request_id: str | None = None
    shared_fingers: int = 0  # fingerprint digests shared with the source

    @property
    def rejection_code(self) -> str | None:
        """For an `invalid` or `malformed` one, the error code the intake's rejection must hold."""
        return REJECTION_CODES[self.variant] if self.variant is not None else None

    def document(self) -> Any:
        """The value parsed as JSON (a dict for every well-formed one), or None if it does not parse."""
        try:
            return json.loads(self.value.decode("utf-8"))
        except (ValueError, RecursionError):
            return None


def generate_submissions(
    count: int,
    *,
    seed: int = 0,
    today: dt.date | None = None,
    office_code: str = "2172",
    mix: Mix | None = None,
) -> list[GeneratedSubmission]:
    """`count` submissions of synthetic Tanjungpinang residents, `mix` of them special, in sending order.

    `today` (default: today in WIB) fixes ages, the NIK century and `submitted_at`, which runs from 08:00
    to 16:00 WIB of `today` across the batch; pass it for output that is the same on every day.
    `office_code` only fills the field: the residents always live in Kota Tanjung Pinang (2172).
    Every derived submission comes after its source; the independent ones are shuffled together.
    """
    return list(iter_submissions(count, seed=seed, today=today, office_code=office_code, mix=mix))


def iter_submissions(
    count: int,
    *,
    seed: int = 0,
    today: dt.date | None = None,
    office_code: str = "2172",
    mix: Mix | None = None,
) -> Iterator[GeneratedSubmission]:
    """`generate_submissions`, one at a time: the same submissions, for batches too big to hold at once.

    Checks the mix at once (ValueError), before the first submission is asked for.
    """
    mix = mix or Mix()
    plain = mix.plain(count)
    return _Generator(seed, today or dt.datetime.now(WIB).date(), office_code, count).batch(plain, mix)


def generate_documents(
    count: int, *, seed: int = 0, today: dt.date | None = None, office_code: str = "2172"
) -> list[dict[str, Any]]:
    """`count` valid submissions as plain JSON-able dicts in the contract's shape, to alter at will."""
    generated = generate_submissions(count, seed=seed, today=today, office_code=office_code)
    return [submission.document() for submission in generated]


def write_json_lines(submissions: Iterable[GeneratedSubmission], stream: IO[bytes]) -> int:
    """Write each value as one line of a JSON Lines file; ValueError for a value no line can hold.

    A line must be UTF-8 text without a line break and not blank (blank lines are skipped on reading),
    so `invalid_utf8` and `empty` are refused: send those with `ektp generate residents --send`.
    """
    written = 0
    for submission in submissions:
        if not fits_json_lines(submission.value):
            raise ValueError(
                f"a {submission.kind} {submission.variant or ''} submission cannot be a JSON Lines line"
            )
        stream.write(submission.value + b"\n")
        written += 1
    return written


def fits_json_lines(value: bytes) -> bool:
    """Whether `value` can travel as one line of a JSON Lines file, unchanged."""
    if b"\n" in value or b"\r" in value or not value.strip():
        return False
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- what Tanjungpinang looks like ---------------------------------------------------------------------


class _Weighted(Generic[_V]):
    """A weighted choice among fixed options; the cumulative weights are summed once, not per pick."""

    def __init__(self, *choices: tuple[_V, int]) -> None:
        self.options = tuple(option for option, _weight in choices)
        self.cumulative = tuple(itertools.accumulate(weight for _option, weight in choices))

    def pick(self, rng: random.Random) -> _V:
        return self.options[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


CITY: Final = "KOTA TANJUNG PINANG"
PROVINCE: Final = "KEPULAUAN RIAU"


@dataclass(frozen=True)
class Kecamatan:
    code: str
    name: str
    kelurahan: tuple[str, ...]  # real kelurahan of the kecamatan (Kepmendagri table; a test checks)


KECAMATAN: Final = (
    Kecamatan("217201", "TANJUNG PINANG BARAT", ("TANJUNG PINANG BARAT", "KEMBOJA", "KAMPUNG BARU",
                                                "BUKIT CERMIN")),
    Kecamatan("217202", "TANJUNG PINANG TIMUR", ("MELAYU KOTA PIRING", "KAMPUNG BULANG", "AIR RAJA",
                                                "BATU IX", "PINANG KENCANA")),
    Kecamatan("217203", "TANJUNG PINANG KOTA", ("TANJUNG PINANG KOTA", "SENGGARANG", "PENYENGAT",
                                               "KAMPUNG BUGIS")),
    Kecamatan("217204", "BUKIT BESTARI", ("TANJUNG PINANG TIMUR", "DOMPAK", "TANJUNG AYUN SAKTI", "SEI JANG",
                                         "TANJUNG UNGGAT")),
)
UNKNOWN_KECAMATAN: Final = "217205"

_STREETS = (
    "JL. KIJANG LAMA", "JL. GATOT SUBROTO", "JL. BASUKI RAHMAT", "JL. D.I. PANJAITAN", "JL. W.R. SUPRATMAN",
    "JL. GANET", "JL. MERDEKA", "JL. TERUNA JAYA", "JL. PRAMUKA", "JL. SUNGAI JANG", "JL. HANG TUAH",
    "JL. BAKAR BATU", "JL. RAJA HAJI FISABILILLAH", "JL. ADI SUCIPTO", "JL. ENGKU PUTRI", "JL. POMPA AIR",
    "JL. KATAMSO", "JL. DAEK", "JL. DOMPAK LAMA", "JL. BATU HITAM", "JL. KAMBOJA", "JL. SUNGAI TIMUN",
    "JL. BUKIT CERMIN", "JL. TAMBAK", "JL. WISATA BAHARI", "JL. SULTAN MAHMUD", "GG. MANGGIS", "GG. SEPAKAT",
)
_BIRTH_PLACES = _Weighted(
    ("TANJUNG PINANG", 60), ("BATAM", 6), ("KIJANG", 4), ("TANJUNG UBAN", 3), ("TANJUNG BALAI KARIMUN", 3),
    ("DABO SINGKEP", 2), ("RANAI", 1), ("TAREMPA", 1), ("PEKANBARU", 3), ("PADANG", 3), ("MEDAN", 4),
    ("JAKARTA", 3), ("PALEMBANG", 1), ("TEMBILAHAN", 1), ("SEMARANG", 1), ("SURABAYA", 1), ("LARANTUKA", 1),
    ("MAKASSAR", 1), ("BANDUNG", 1),
)
_OCCUPATIONS = _Weighted(
    ("KARYAWAN SWASTA", 22), ("WIRASWASTA", 18), ("PEDAGANG", 8), ("NELAYAN/PERIKANAN", 6),
    ("BURUH HARIAN LEPAS", 8), ("PEGAWAI NEGERI SIPIL", 6), ("GURU", 3), ("PERAWAT", 2), ("SOPIR", 3),
    ("TENTARA NASIONAL INDONESIA", 1), ("KEPOLISIAN RI", 1), ("KARYAWAN BUMN", 2), ("PETANI/PEKEBUN", 2),
)
_BLOOD_TYPES = _Weighted(("O", 37), ("B", 28), ("A", 25), ("AB", 7), ("-", 3))
_REQUEST_TYPES = _Weighted(("new", 85), ("replacement_damaged", 6), ("replacement_lost", 6), ("data_change", 3))
_DESKS = ("REKAM-01", "REKAM-02", "REKAM-03", "REKAM-04")


@dataclass(frozen=True)
class _Community:
    """Names that go together, and the religions of the people who carry them."""

    weight: int
    male: tuple[str, ...]
    female: tuple[str, ...]
    family_male: tuple[str, ...]
    family_female: tuple[str, ...]
    religions: _Weighted[str]


_MALAY_JAVANESE_FAMILY_MALE = ("SAPUTRA", "PRATAMA", "HIDAYAT", "RAHMAN", "SETIAWAN", "NUGROHO", "WIBOWO",
                               "KURNIAWAN", "SANTOSO", "GUNAWAN", "SYAHPUTRA", "IRAWAN", "FIRMANSYAH")
_MALAY_JAVANESE_FAMILY_FEMALE = ("SAPUTRI", "LESTARI", "WULANDARI", "RAHMAWATI", "PERMATASARI", "HANDAYANI",
                                 "KURNIASARI", "NINGSIH", "ANGGRAINI", "PUSPITASARI", "SARI", "YULIANTI")
_COMMUNITIES = (
    _Community(  # Melayu, Minang, Bugis: the city's largest group
        40,
        ("MUHAMMAD", "AHMAD", "RIZKY", "FAUZI", "HENDRA", "SYAHRUL", "ZULKIFLI", "ARIF", "FIRDAUS", "RAJA",
         "AFRIZAL", "YUSRIZAL", "ANDI", "IBRAHIM", "HAMDAN", "SUHAIMI", "AZHAR"),
        ("NUR", "SITI", "AISYAH", "FATIMAH", "NURHAYATI", "MAISARAH", "ZAHRA", "SALMAH", "RAHMA", "YULIA",
         "NOVI", "HASNAH", "JUNAIDAH", "ROSLINA", "NURAINI"),
        _MALAY_JAVANESE_FAMILY_MALE, _MALAY_JAVANESE_FAMILY_FEMALE,
        _Weighted(("islam", 99), ("kristen", 1)),
    ),
    _Community(  # Jawa, Sunda
        22,
        ("BUDI", "AGUS", "BAMBANG", "JOKO", "DWI", "EKO", "TEGUH", "SUTRISNO", "WAHYU", "ADI", "YOGA", "DIMAS",
         "SLAMET", "GALIH"),
        ("SRI", "DEWI", "ENDANG", "TRI", "RATNA", "INDAH", "WAHYUNI", "ASIH", "RINI", "PUTRI", "AYU", "LESTARI"),
        _MALAY_JAVANESE_FAMILY_MALE, _MALAY_JAVANESE_FAMILY_FEMALE,
        _Weighted(("islam", 93), ("kristen", 3), ("katolik", 2), ("kepercayaan", 2)),
    ),
    _Community(  # Tionghoa
        16,
        ("HARTONO", "SUHENDRA", "WILLIAM", "KELVIN", "FELIX", "JIMMY", "ANTONI", "SUWANDI", "RUDY", "HENGKY"),
        ("MEILIANA", "LILIS", "SUSANTI", "JESSICA", "MELINDA", "VIVIAN", "LINDA", "YENNY", "CINDY", "FENNY"),
        ("TAN", "LIM", "ONG", "WONG", "HALIM", "WIJAYA", "TANOTO", "GUNADI", "SALIM", "TANUWIJAYA"),
        ("TAN", "LIM", "ONG", "WONG", "HALIM", "WIJAYA", "TANOTO", "GUNADI", "SALIM", "TANUWIJAYA"),
        _Weighted(("buddha", 45), ("kristen", 20), ("katolik", 20), ("konghucu", 15)),
    ),
    _Community(  # Batak
        12,
        ("JOHANNES", "DANIEL", "ROBERT", "HOTMAN", "BONAR", "SAMUEL", "POLTAK", "JUNIUS", "ROY", "RICARDO"),
        ("MARIA", "ROSMAWATI", "LAMRIA", "HANA", "ELISABETH", "TIURMA", "DESI", "MASTIUR", "FRIDA", "RUTH"),
        ("SIMANJUNTAK", "SIREGAR", "NASUTION", "SITUMORANG", "HUTAPEA", "PANJAITAN", "SIAHAAN", "MANURUNG",
         "SINAGA", "SIMATUPANG", "LUBIS", "PASARIBU"),
        ("SIMANJUNTAK", "SIREGAR", "NASUTION", "SITUMORANG", "HUTAPEA", "PANJAITAN", "SIAHAAN", "MANURUNG",
         "SINAGA", "SIMATUPANG", "LUBIS", "PASARIBU"),
        _Weighted(("kristen", 70), ("katolik", 10), ("islam", 20)),
    ),
    _Community(  # Flores, Larantuka
        10,
        ("YOHANES", "FRANSISKUS", "PETRUS", "ANTONIUS", "PAULUS", "YOSEF", "MIKAEL", "STEFANUS"),
        ("MARIA", "AGNES", "THERESIA", "YOSEFINA", "MAGDALENA", "KATARINA", "VERONIKA", "SISILIA"),
        ("DA COSTA", "PARERA", "FERNANDEZ", "DE ROSARI", "DA SILVA", "GOMEZ"),
        ("DA COSTA", "PARERA", "FERNANDEZ", "DE ROSARI", "DA SILVA", "GOMEZ"),
        _Weighted(("katolik", 85), ("kristen", 15)),
    ),
)
_COMMUNITY = _Weighted(*((community, community.weight) for community in _COMMUNITIES))


# --- the generator ---------------------------------------------------------------------------------------


@dataclass
class _Resident:
    """One synthetic person, before becoming a submission document."""

    kecamatan: Kecamatan  # where the NIK was first issued
    birth_date: dt.date
    sex: str
    serial: int
    community: _Community
    name: str
    age: int
    marital_status: str
    fingerprints: dict[str, str]

    @property
    def nik(self) -> str:
        day = self.birth_date.day + (40 if self.sex == "female" else 0)
        return f"{self.kecamatan.code}{day:02d}{self.birth_date:%m%y}{self.serial:04d}"


# One position of a batch: an independent kind, or a derived kind and the position of its source.
_Slot = Kind | InvalidVariant | MalformedVariant | tuple[Kind, int]


class _Generator:
    """Holds the random stream and what must stay unique (NIKs); one per `generate_submissions` call."""

    def __init__(self, seed: int, today: dt.date, office_code: str, count: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (reproducible from a seed is the point; nothing secret)
        self.today = today
        self.office_code = office_code
        self.count = count
        self.used_niks: set[str] = set()
        self.day_start = dt.datetime.combine(today, dt.time(8, 0), WIB)

    # -- the batch

    def batch(self, plain: int, mix: Mix) -> Iterator[GeneratedSubmission]:
        """Lay out the batch first (derived ones after their source), then make each in sending order.

        Only the sources of derived submissions are kept, so a long batch streams in little memory.
        """
        layout = self.layout(plain, mix)
        source_positions = {slot[1] for slot in layout if isinstance(slot, tuple)}
        sources: dict[int, tuple[GeneratedSubmission, _Resident]] = {}
        for position, slot in enumerate(layout):
            match slot:
                case InvalidVariant():
                    yield self.invalid(slot, position)
                case MalformedVariant():
                    yield self.malformed(slot, position)
                case (Kind.REPEATED, source):
                    original = sources[source][0]
                    yield GeneratedSubmission(
                        key=original.key, value=original.value, kind=Kind.REPEATED, expected=Expected.REPEAT,
                        request_id=original.request_id, source_request_id=original.request_id,
                    )
                case (kind, source):
                    yield self.sharing(kind, *sources[source], position=position)
                case kind:
                    submission, resident = self.recorded(kind, position)
                    if position in source_positions:
                        sources[position] = (submission, resident)
                    yield submission

    def layout(self, plain: int, mix: Mix) -> list[_Slot]:
        """What goes where: the independent kinds shuffled, each derived one somewhere after its source."""
        rng = self.rng
        independent: list[_Slot] = [
            *[Kind.VALID] * plain,
            *_take_in_turn(rng, mix.invalid_variants, mix.invalid),
            *_take_in_turn(rng, mix.malformed_variants, mix.malformed),
            *[Kind.ENROLL_FAILURE] * mix.enroll_failure,
        ]
        rng.shuffle(independent)
        plain_positions = [i for i, slot in enumerate(independent) if slot is Kind.VALID]
        sharing_sources = rng.sample(plain_positions, mix.duplicate_record + mix.adjudicate)
        repeated_sources = (
            rng.sample(plain_positions, mix.repeated) if mix.repeated <= len(plain_positions)
            else rng.choices(plain_positions, k=mix.repeated)
        )
        derived = [
            *[(Kind.DUPLICATE_RECORD, source) for source in sharing_sources[: mix.duplicate_record]],
            *[(Kind.ADJUDICATE, source) for source in sharing_sources[mix.duplicate_record :]],
            *[(Kind.REPEATED, source) for source in repeated_sources],
        ]
        after: dict[int, list[tuple[Kind, int]]] = {}
        for kind, source in derived:
            after.setdefault(rng.randint(source, len(independent) - 1), []).append((kind, source))
        laid_out: list[_Slot] = []
        final_position: dict[int, int] = {}
        for position, slot in enumerate(independent):
            final_position[position] = len(laid_out)
            laid_out.append(slot)
            laid_out.extend((kind, final_position[source]) for kind, source in after.get(position, ()))
        return laid_out

    # -- the kinds

    def recorded(self, kind: Kind, position: int) -> tuple[GeneratedSubmission, _Resident]:
        resident = self.resident()
        quality = self.good_quality() if kind is Kind.VALID else self.poor_quality()
        document = self.document(resident, position, quality=quality)
        decision = (
            CentralDecision.PRINT_READY_RECORD if kind is Kind.VALID else CentralDecision.ENROLL_FAILURE_AT_CENTRAL
        )
        return _submission(document, kind, Expected.RECORDED, decision=decision), resident

    def sharing(
        self, kind: Kind, source: GeneratedSubmission, source_resident: _Resident, *, position: int
    ) -> GeneratedSubmission:
        """A second NIK whose fingerprints partly are the source's: the same person again, or a look-alike."""
        rng = self.rng
        if kind is Kind.DUPLICATE_RECORD:
            # The same person recorded again under a second NIK: same name, birth date and sex.
            resident = self.resident(like=source_resident)
            shared = rng.randint(DUPLICATE_MIN_SHARED, len(FINGERS))
        else:
            resident = self.resident()
            shared = rng.randint(1, DUPLICATE_MIN_SHARED - 1)
        fingerprints = self.fresh_fingerprints()
        for finger in rng.sample(FINGERS, shared):
            fingerprints[finger] = source_resident.fingerprints[finger]
        resident.fingerprints = fingerprints
        document = self.document(resident, position, quality=self.good_quality())
        decision = (
            CentralDecision.DUPLICATE_RECORD if kind is Kind.DUPLICATE_RECORD else CentralDecision.ADJUDICATE_RECORD
        )
        return _submission(
            document, kind, Expected.RECORDED, decision=decision,
            source_request_id=source.request_id, shared_fingers=shared,
        )

    def invalid(self, variant: InvalidVariant, position: int) -> GeneratedSubmission:
        rng = self.rng
        if variant is InvalidVariant.UNDER_17_SINGLE:
            resident = self.resident(ages=(15, 16), marital_status="single")
        else:
            resident = self.resident()
        document = self.document(resident, position, quality=self.good_quality())
        person = document["resident"]
        nik: str = person["nik"]
        female = resident.sex == "female"
        match variant:
            case InvalidVariant.NIK_BIRTH_DATE_MISMATCH:
                # Older by 1-400 days: still an adult, only the NIK and the field disagree.
                person["birth_date"] = (resident.birth_date - dt.timedelta(days=rng.randint(1, 400))).isoformat()
            case InvalidVariant.NIK_SEX_MISMATCH:
                person["sex"] = "male" if female else "female"
            case InvalidVariant.NIK_SERIAL_ZERO:
                person["nik"] = nik[:12] + "0000"
            case InvalidVariant.NIK_MONTH_13:
                person["nik"] = nik[:8] + "13" + nik[10:]
            case InvalidVariant.NIK_NOT_A_DATE:
                person["nik"] = nik[:6] + ("71" if female else "31") + "02" + nik[10:]
            case InvalidVariant.NIK_UNKNOWN_KECAMATAN:
                person["nik"] = UNKNOWN_KECAMATAN + nik[6:]
            case InvalidVariant.MISSING_FINGERPRINT:
                del document["biometrics"]["fingerprints"][rng.choice(FINGERS)]
            case InvalidVariant.KK_SERIAL_ZERO:
                person["kk_number"] = person["kk_number"][:12] + "0000"
            case InvalidVariant.UNDER_17_SINGLE:
                pass  # the resident itself is the fault
        return _submission(document, Kind.INVALID, Expected.REJECTED, variant=variant)

    def malformed(self, variant: MalformedVariant, position: int) -> GeneratedSubmission:
        rng = self.rng
        document = self.document(self.resident(), position, quality=self.good_quality())
        request_id: str | None = document["request_id"]
        match variant:
            case MalformedVariant.NOT_JSON:
                whole = _encode(document)
                value = whole[: rng.randint(10, len(whole) - 10)]
                request_id = None
            case MalformedVariant.WRONG_TYPES:
                document["resident"]["nik"] = int(document["resident"]["nik"])
                document["resident"]["address"]["rt"] = int(document["resident"]["address"]["rt"])
                fingerprints = document["biometrics"]["fingerprints"]
                document["biometrics"]["fingerprints"] = [fingerprints[finger] for finger in FINGERS]
                value = _encode(document)
            case MalformedVariant.UNKNOWN_ENUM:
                document["resident"]["sex"] = {"male": "LAKI-LAKI", "female": "PEREMPUAN"}[
                    document["resident"]["sex"]
                ]
                value = _encode(document)
            case MalformedVariant.INVALID_UTF8:
                document["resident"]["address"]["street"] += " \u2013 BLOK C"  # en dash: 0x96 in cp1252
                value = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("cp1252")
                request_id = None
            case MalformedVariant.OVERSIZED:
                image = base64.b64encode(rng.randbytes(MAX_SUBMISSION_BYTES)).decode("ascii")
                document["biometrics"]["face"] = image
                value = _encode(document)
                request_id = None  # refused for its size before anyone reads it
            case MalformedVariant.DOUBLE_ENCODED:
                value = json.dumps(_encode(document).decode("utf-8")).encode("utf-8")
                request_id = None
            case MalformedVariant.EMPTY:
                value = b""
                request_id = None
        return GeneratedSubmission(
            key=submission_key(value), value=value, kind=Kind.MALFORMED, expected=Expected.REJECTED,
            request_id=request_id, variant=variant,
        )

    # -- people

    def resident(
        self, *, ages: tuple[int, int] | None = None, marital_status: str | None = None,
        like: _Resident | None = None,
    ) -> _Resident:
        """A new person aged within `ages`; or, `like` an earlier one, the same person under a new NIK."""
        rng = self.rng
        if like is not None:
            birth_date, sex, community, name = like.birth_date, like.sex, like.community, like.name
            marital_status = like.marital_status
        else:
            if ages is None:
                ages = (15, 16) if rng.random() < 0.01 else (17, 19) if rng.random() < 0.3 else (17, 80)
                marital_status = "married" if ages == (15, 16) else marital_status
            birth_date = self.birth_date(*ages)
            sex = rng.choice(("male", "female"))
            community = _COMMUNITY.pick(rng)
            name = self.name(community, sex)
        age = _age(birth_date, self.today)
        kecamatan = rng.choice(KECAMATAN)
        return _Resident(
            kecamatan=kecamatan,
            birth_date=birth_date,
            sex=sex,
            serial=self.serial(kecamatan.code, birth_date, sex),
            community=community,
            name=name,
            age=age,
            marital_status=marital_status or _marital_status(rng, age),
            fingerprints=self.fresh_fingerprints(),
        )

    def name(self, community: _Community, sex: str) -> str:
        rng = self.rng
        given, family = (
            (community.male, community.family_male) if sex == "male" else (community.female, community.family_female)
        )
        parts = [rng.choice(given)]
        if rng.random() < 0.4:
            parts.append(rng.choice(given))
        if rng.random() < 0.8:
            parts.append(rng.choice(family))
        return " ".join(dict.fromkeys(parts))  # no "SITI SITI"

    def birth_date(self, youngest: int, oldest: int) -> dt.date:
        """A birth date of someone between `youngest` and `oldest` years old (inclusive) on `today`."""
        latest = _years_before(self.today, youngest)
        earliest = _years_before(self.today, oldest + 1) + dt.timedelta(days=1)
        return earliest + dt.timedelta(days=self.rng.randint(0, (latest - earliest).days))

    def serial(self, kecamatan_code: str, birth_date: dt.date, sex: str) -> int:
        """A serial no NIK of this batch has for this kecamatan and birth date."""
        day = birth_date.day + (40 if sex == "female" else 0)
        prefix = f"{kecamatan_code}{day:02d}{birth_date:%m%y}"
        while True:
            serial = self.rng.randint(1, 9999)
            if prefix + f"{serial:04d}" not in self.used_niks:
                self.used_niks.add(prefix + f"{serial:04d}")
                return serial

    def fresh_fingerprints(self) -> dict[str, str]:
        return dict(zip(FINGERS, self.digests(len(FINGERS)), strict=True))

    def digests(self, count: int) -> list[str]:
        """`count` digests of 256 random bits each (drawn at once: a tenth of the cost of one by one)."""
        text = f"{self.rng.getrandbits(256 * count):0{64 * count}x}"
        return [text[start : start + 64] for start in range(0, 64 * count, 64)]

    def good_quality(self) -> dict[str, int]:
        rng = self.rng
        return {"min_fingerprint": int(rng.triangular(45, 100, 82)), "face": int(rng.triangular(55, 100, 90))}

    def poor_quality(self) -> dict[str, int]:
        rng = self.rng
        quality = self.good_quality()
        for part in rng.choice((("min_fingerprint",), ("face",), ("min_fingerprint", "face"))):
            quality[part] = rng.randint(5, 39)
        return quality

    # -- the document

    def document(self, resident: _Resident, position: int, *, quality: dict[str, int]) -> dict[str, Any]:
        """The submission of `resident` in the contract's shape, as the desk at `position` sends it."""
        rng = self.rng
        iris_left, iris_right, face, signature = self.digests(4)
        home = resident.kecamatan if rng.random() < 0.85 else rng.choice(KECAMATAN)  # some have moved
        request_type = _REQUEST_TYPES.pick(rng)
        # Most first-time applicants have just turned 17; replacements are for cards held for years.
        if request_type != "new" and resident.age < 19:
            request_type = "new"
        submitted_at = self.day_start + dt.timedelta(seconds=(8 * 3600 * position) // max(self.count, 1))
        return {
            "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "submitted_at": submitted_at.isoformat(),
            "office_code": self.office_code,
            "desk_id": rng.choice(_DESKS),
            "request_type": request_type,
            "resident": {
                "nik": resident.nik,
                "kk_number": self.kk_number(home.code, resident.birth_date),
                "full_name": resident.name,
                "birth_place": _BIRTH_PLACES.pick(rng),
                "birth_date": resident.birth_date.isoformat(),
                "sex": resident.sex,
                "blood_type": _BLOOD_TYPES.pick(rng),
                "religion": resident.community.religions.pick(rng),
                "marital_status": resident.marital_status,
                "occupation": _occupation(rng, resident),
                "citizenship": "WNI" if rng.random() < 0.995 else "WNA",
                "address": {
                    "street": f"{rng.choice(_STREETS)} NO. {rng.randint(1, 120)}",
                    "rt": f"{rng.randint(1, 12):03d}",
                    "rw": f"{rng.randint(1, 9):03d}",
                    "kelurahan": rng.choice(home.kelurahan),
                    "kecamatan": home.name,
                    "city": CITY,
                    "province": PROVINCE,
                },
            },
            "biometrics": {
                "fingerprints": dict(resident.fingerprints),
                "iris_left": iris_left,
                "iris_right": iris_right,
                "face": face,
                "signature": signature,
                "quality": quality,
            },
        }

    def kk_number(self, kecamatan_code: str, birth_date: dt.date) -> str:
        """A family card issued in `kecamatan_code` on a past date since 2008 and since the birth."""
        first = max(dt.date(2008, 1, 1), birth_date)
        issued = first + dt.timedelta(days=self.rng.randint(0, (self.today - first).days - 1))
        return f"{kecamatan_code}{issued:%d%m%y}{self.rng.randint(1, 9999):04d}"


def _submission(
    document: dict[str, Any],
    kind: Kind,
    expected: Expected,
    *,
    decision: CentralDecision | None = None,
    variant: InvalidVariant | None = None,
    source_request_id: str | None = None,
    shared_fingers: int = 0,
) -> GeneratedSubmission:
    return GeneratedSubmission(
        key=key_of_document(document), value=_encode(document), kind=kind, expected=expected,
        request_id=document["request_id"], central_decision=decision, variant=variant,
        source_request_id=source_request_id, shared_fingers=shared_fingers,
    )


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _take_in_turn(rng: random.Random, variants: Sequence[_V], count: int) -> list[_V]:
    """`count` variants, each round through all of them in a shuffled order, so that few cover all."""
    taken: list[_V] = []
    while len(taken) < count:
        round_ = list(variants)
        rng.shuffle(round_)
        taken.extend(round_[: count - len(taken)])
    return taken


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year - years, day=28)


def _age(birth_date: dt.date, today: dt.date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


_MARITAL_STATUS_31_TO_59 = _Weighted(("married", 82), ("single", 8), ("divorced", 7), ("widowed", 3))
_MARITAL_STATUS_FROM_60 = _Weighted(("married", 65), ("widowed", 28), ("divorced", 5), ("single", 2))


def _marital_status(rng: random.Random, age: int) -> str:
    if age < 23:
        return "single" if rng.random() < 0.9 else "married"
    if age < 31:
        return "single" if rng.random() < 0.45 else "married"
    if age < 60:
        return _MARITAL_STATUS_31_TO_59.pick(rng)
    return _MARITAL_STATUS_FROM_60.pick(rng)


def _occupation(rng: random.Random, resident: _Resident) -> str:
    if resident.age < 23 and rng.random() < 0.8:
        return "PELAJAR/MAHASISWA"
    if resident.age >= 58 and rng.random() < 0.5:
        return "PENSIUNAN"
    if resident.sex == "female" and rng.random() < 0.3:
        return "MENGURUS RUMAH TANGGA"
    return _OCCUPATIONS.pick(rng)
