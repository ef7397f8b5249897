"""A valid submission in the contract's shape, for tests to break one field at a time."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import random
import uuid
from typing import Any

from aiokafka import AIOKafkaProducer

from events.enrollment import Area, EnrollmentRecorded, EnrollmentSubmission, Finger
from events.masking import mask_nik
from pipeline.config import Settings
from pipeline.desk.enroll import DESK_ROLE
from pipeline.kafka.security import client_options
from pipeline.topology.topics import ENROLLMENT_SUBMITTED

FINGERS = [finger.value for finger in Finger]


def digest(label: str) -> str:
    """A stable, distinct 64-hex digest for a label."""
    return hashlib.sha256(label.encode()).hexdigest()


def valid_submission(
    *, nik: str = "2172041708900001", request_id: str | None = None, person: str = "budi",
    birth_date: str = "1990-08-17", sex: str = "male",
) -> dict[str, Any]:
    """The example submission of docs/architecture.md, valid on 2026-11-28, with digests unique to `person`."""
    return copy.deepcopy({
        "request_id": request_id or str(uuid.uuid4()),
        "submitted_at": "2026-11-28T09:15:00+07:00",
        "office_code": "2172",
        "desk_id": "REKAM-01",
        "request_type": "new",
        "resident": {
            "nik": nik,
            "kk_number": "2172042103150001",
            "full_name": "BUDI SANTOSO",
            "birth_place": "TANJUNG PINANG",
            "birth_date": birth_date,
            "sex": sex,
            "blood_type": "O",
            "religion": "islam",
            "marital_status": "married",
            "occupation": "KARYAWAN SWASTA",
            "citizenship": "WNI",
            "address": {
                "street": "JL. KIJANG LAMA NO. 5", "rt": "002", "rw": "004",
                "kelurahan": "TANJUNG AYUN SAKTI", "kecamatan": "BUKIT BESTARI",
                "city": "KOTA TANJUNG PINANG", "province": "KEPULAUAN RIAU",
            },
        },
        "biometrics": {
            "fingerprints": {finger: digest(f"{person}-{finger}") for finger in FINGERS},
            "iris_left": digest(f"{person}-iris-left"),
            "iris_right": digest(f"{person}-iris-right"),
            "face": digest(f"{person}-face"),
            "signature": digest(f"{person}-signature"),
            "quality": {"min_fingerprint": 72, "face": 90},
        },
    })


def recorded_enrollment(document: dict[str, Any], *, at: dt.datetime, citizen_key: str) -> EnrollmentRecorded:
    """The intake's record of a valid submission `document` (as `valid_submission` makes it), in Bukit Bestari."""
    submission = EnrollmentSubmission.model_validate(document)
    return EnrollmentRecorded(
        request_id=submission.request_id, occurred_at=at, citizen_key=citizen_key,
        nik_masked=mask_nik(submission.resident.nik), office_code=submission.office_code,
        request_type=submission.request_type,
        area=Area(kecamatan_code="217204", province=None, regency=None, kecamatan="Bukit Bestari"),
        submission=submission,
    )


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


async def submit(settings: Settings, document: dict[str, Any]) -> None:
    """Send one desk's submission, keyed by its NIK as a desk keys it, and wait for the broker's ack."""
    await submit_all(settings, [document])


async def submit_all(settings: Settings, documents: list[dict[str, Any]]) -> None:
    """Send desks' submissions, batched, keyed by NIK as a desk keys them; return once the broker has all."""
    producer = AIOKafkaProducer(**client_options(settings, DESK_ROLE), acks="all", linger_ms=5)
    await producer.start()
    try:
        deliveries = [await producer.send(ENROLLMENT_SUBMITTED.name, encode(document),
                                          key=document["resident"]["nik"].encode())
                      for document in documents]
        for delivery in deliveries:
            await delivery
    finally:
        await producer.stop()


def fresh_resident(rng: random.Random) -> dict[str, Any]:
    """A valid submission of a citizen no other test uses: random kecamatan, birth date, sex, serial."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 55))
    sex = rng.choice(["male", "female"])
    day = born.day + (40 if sex == "female" else 0)
    nik = f"21720{rng.randint(1, 4)}{day:02d}{born.month:02d}{born.year % 100:02d}{rng.randint(1, 9999):04d}"
    return valid_submission(nik=nik, birth_date=born.isoformat(), sex=sex, person=uuid.uuid4().hex)
