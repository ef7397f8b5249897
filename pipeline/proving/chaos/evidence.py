"""What a chaos run left behind, gathered from the topics and the station's folder for `invariants.judge`.

Read after the run from the start of each topic to the end it had when reading began, with a consumer of
no group, so that the evidence is what any reader of the topics would see; as `admin`, which reads them all.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import TypeVar

from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel, ValidationError

from events.approval import ApprovalDecided
from events.enrollment import EnrollmentRecorded, EnrollmentRejected
from events.printing import CardPrinted
from events.status import RequestStatus
from pipeline.config import Settings
from pipeline.deadletter.view import DeadLetterView
from pipeline.kafka.reading import read_topic
from pipeline.kafka.security import ADMIN_ROLE
from pipeline.proving.chaos.invariants import Observed
from pipeline.station.config import StationConfig
from pipeline.topology.topics import (
    APPROVAL_DECIDED,
    ENROLLMENT_RECORDED,
    ENROLLMENT_REJECTED,
    PRINT_COMPLETED,
    REQUEST_STATUS,
)

Model = TypeVar("Model", bound=BaseModel)


async def gather(settings: Settings, station_id: str) -> Observed:
    """Everything `judge` needs, read now."""
    station = StationConfig.from_settings(settings, station_id=station_id)
    pending, parked = await dead_letter_counts(settings)
    return Observed(
        statuses=_decoded(await _read(settings, REQUEST_STATUS.name), RequestStatus),
        rejections=_decoded(await _read(settings, ENROLLMENT_REJECTED.name), EnrollmentRejected),
        printed=[(card.request_id, card.card_serial)
                 for card in _decoded(await _read(settings, PRINT_COMPLETED.name), CardPrinted)],
        journal_cards=journal_cards(station.journal_path),
        card_files=frozenset(path.name.removesuffix(".png") for path in station.out_dir.glob("*.png")),
        recorded=[(record.citizen_key, record.request_id)
                  for record in _decoded(await _read(settings, ENROLLMENT_RECORDED.name), EnrollmentRecorded)],
        decided=[(decision.citizen_key, decision.request_id)
                 for decision in _decoded(await _read(settings, APPROVAL_DECIDED.name), ApprovalDecided)],
        dlq_pending=pending,
        dlq_parked=parked,
    )


async def _read(settings: Settings, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    return await read_topic(settings, topic, role=ADMIN_ROLE)


def _decoded(records: list[ConsumerRecord[bytes, bytes]], model: type[Model]) -> list[Model]:
    decoded = []
    for record in records:
        if record.value is None:
            continue
        with contextlib.suppress(ValidationError):
            decoded.append(model.model_validate_json(record.value))
    return decoded


def journal_cards(path: Path) -> list[tuple[str, str]]:
    """(request_id, card_serial) of every job the station's journal gave a card, read-only."""
    if not path.is_file():
        return []
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        rows = connection.execute("SELECT request_id, card_serial FROM jobs WHERE card_serial IS NOT NULL")
        return [(str(request_id), str(serial)) for request_id, serial in rows]
    finally:
        connection.close()


async def dead_letter_counts(settings: Settings) -> tuple[int, int]:
    """Records still waiting for central, and records parked for a person, as `ektp dlq stats` counts them."""
    view = DeadLetterView(settings, ADMIN_ROLE)
    await view.start()
    try:
        await view.caught_up()
        stats = view.stats()
        return stats.pending, stats.parked
    finally:
        await view.stop()
