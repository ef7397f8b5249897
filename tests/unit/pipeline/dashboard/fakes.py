"""Fakes of the dashboard's data sources: offsets, the central link, and the status, dead-letter and stock views."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from dataclasses import dataclass, field

from events.desk import DeskOutboxReported
from events.identity import citizen_key
from events.printing import StationInventory
from events.status import RequestState, RequestStatus, TimelineEntry
from pipeline.dashboard.figures import Partition
from pipeline.deadletter.view import DeadLetterEntry, DeadLetterStats
from pipeline.kafka.groups import Member

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
NIK = "2172041708900001"
SECRET = b"unit-test-secret"


@dataclass
class FakeKafka:
    ends: dict[Partition, int] = field(default_factory=dict)
    groups: dict[str, dict[Partition, int]] = field(default_factory=dict)
    members: list[Member] = field(default_factory=list)
    broken: bool = False

    async def end_offsets(self) -> dict[Partition, int]:
        if self.broken:
            raise ConnectionError("broker away")
        return dict(self.ends)

    async def committed(self) -> dict[str, dict[Partition, int]]:
        return {group: dict(offsets) for group, offsets in self.groups.items()}

    async def workers(self) -> list[Member]:
        return list(self.members)


@dataclass
class FakeCentral:
    up: bool = True
    breaker_state: str | None = "closed"

    async def central_up(self) -> bool:
        return self.up

    async def breaker(self) -> str | None:
        return self.breaker_state


@dataclass
class FakeStatuses:
    latest: dict[str, RequestStatus] = field(default_factory=dict)


@dataclass
class FakeDeadLetters:
    waiting: list[DeadLetterEntry] = field(default_factory=list)
    parked_entries: list[DeadLetterEntry] = field(default_factory=list)

    def stats(self) -> DeadLetterStats:
        return DeadLetterStats(
            pending=len(self.waiting), parked=len(self.parked_entries),
            by_error={"refused": len(self.waiting)} if self.waiting else {},
            oldest_waiting_at=min((e.first_failure_at for e in self.waiting), default=None),
        )

    def pending(self) -> list[DeadLetterEntry]:
        return list(self.waiting)

    def parked(self) -> list[DeadLetterEntry]:
        return list(self.parked_entries)


@dataclass
class FakeInventory:
    latest: dict[str, StationInventory] = field(default_factory=dict)
    prints: defaultdict[str, deque[tuple[dt.datetime, int]]] = field(default_factory=lambda: defaultdict(deque))


@dataclass
class FakeDesks:
    latest: dict[str, DeskOutboxReported] = field(default_factory=dict)


def status(request_id: str, state: RequestState, *, minutes_ago: float = 0, nik: str = NIK,
           note: str | None = None) -> RequestStatus:
    """A status as the tracker writes it: citizen key and masked NIK, a one-step timeline."""
    at = NOW - dt.timedelta(minutes=minutes_ago)
    return RequestStatus(
        request_id=request_id, state=state, terminal=False, updated_at=at, office_code="2172",
        citizen_key=citizen_key(nik, SECRET), nik_masked=f"{nik[:6]}******{nik[-4:]}",
        explanation_id="Sedang diproses", explanation_en="Being processed",
        timeline=(TimelineEntry(state=state, at=at, note=note),),
    )


def dead_letter(request_id: str, *, minutes_ago: float) -> DeadLetterEntry:
    at = NOW - dt.timedelta(minutes=minutes_ago)
    return DeadLetterEntry(
        request_id=request_id, citizen_key="k" * 64, office_code="2172", kecamatan_code="217204", reason="refused",
        error_class="CentralUnavailable", error_message="refused", attempts=1, first_failure_at=at,
        last_failure_at=at, partition=0, offset=0, key=b"k", value=b"{}", headers=(),
    )
