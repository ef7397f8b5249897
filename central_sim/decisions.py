"""Central deduplication (ABIS/AFIS), reduced to deterministic rules tests can predict.

1. Count this record's ten finger digests that another NIK already holds (any of that person's fingers).
   Six or more: `DUPLICATE_RECORD` (the same person under two NIKs); one to five: `ADJUDICATE_RECORD`
   (similar prints, a person must look).
2. Otherwise, `quality.min_fingerprint` < 40 or `quality.face` < 40: `ENROLL_FAILURE_AT_CENTRAL`.
3. Otherwise `PRINT_READY_RECORD`.

Pure functions: no I/O. Which digests "another NIK holds" is the store's question (`store.py`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from events.approval import CentralDecision
from events.enrollment import Finger, Fingerprints, Quality

_FINGER_FIELDS = tuple(finger.value for finger in Finger)
DUPLICATE_MIN_SHARED_FINGERS = 6
MIN_QUALITY = 40


@dataclass(frozen=True)
class Verdict:
    """What central decided about one record, and why, in English and Indonesian."""

    decision: CentralDecision
    reason: str
    shared_fingers: int


def finger_digests(fingerprints: Fingerprints) -> list[str]:
    """The ten digests of a record, one per finger, in the order of `Finger`."""
    return [getattr(fingerprints, field) for field in _FINGER_FIELDS]


def count_shared_fingers(fingerprints: Fingerprints, held_by_others: Collection[str]) -> int:
    """How many of this record's ten fingers carry a digest that another NIK holds."""
    return sum(1 for digest in finger_digests(fingerprints) if digest in held_by_others)


def decide_enrollment(shared_fingers: int, quality: Quality) -> Verdict:
    """Central's decision for a record sharing `shared_fingers` fingers with other NIKs."""
    if shared_fingers >= DUPLICATE_MIN_SHARED_FINGERS:
        return Verdict(
            CentralDecision.DUPLICATE_RECORD,
            f"Duplicate record: {shared_fingers} of 10 fingerprints match another NIK; issuance is blocked "
            f"until resolved. / Data ganda: {shared_fingers} dari 10 sidik jari sama dengan NIK lain; "
            "penerbitan ditahan sampai diselesaikan.",
            shared_fingers,
        )
    if shared_fingers > 0:
        return Verdict(
            CentralDecision.ADJUDICATE_RECORD,
            f"Adjudication needed: {shared_fingers} of 10 fingerprints match another NIK; review and "
            f"re-record. / Perlu adjudikasi: {shared_fingers} dari 10 sidik jari sama dengan NIK lain; "
            "perlu pemeriksaan dan perekaman ulang.",
            shared_fingers,
        )
    if quality.min_fingerprint < MIN_QUALITY or quality.face < MIN_QUALITY:
        return Verdict(
            CentralDecision.ENROLL_FAILURE_AT_CENTRAL,
            f"Enroll failure at central: biometrics unreadable (fingerprint quality {quality.min_fingerprint}, "
            f"face quality {quality.face}, minimum {MIN_QUALITY}); re-record. / Gagal rekam di pusat: "
            f"biometrik tidak terbaca (kualitas sidik jari {quality.min_fingerprint}, wajah {quality.face}, "
            f"minimal {MIN_QUALITY}); lakukan perekaman ulang.",
            shared_fingers,
        )
    return Verdict(
        CentralDecision.PRINT_READY_RECORD,
        "Print ready: one person confirmed, no fingerprint shared with another NIK. / Siap cetak: satu orang "
        "terkonfirmasi, tidak ada sidik jari yang sama dengan NIK lain.",
        shared_fingers,
    )


def joins_gallery(decision: CentralDecision) -> bool:
    """Whether a record with this decision becomes its NIK's record on file (when the NIK has none yet).

    Every NIK central has seen is on file, whatever the outcome, so a second person reusing those
    fingers is caught; only a record refused as unreadable is not kept (central deletes it and asks for a
    re-recording, docs/architecture.md), so the re-recording becomes the NIK's record.
    """
    return decision is not CentralDecision.ENROLL_FAILURE_AT_CENTRAL
