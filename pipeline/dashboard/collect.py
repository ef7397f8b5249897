"""What the operators' dashboard shows, gathered once per refresh into one JSON-ready overview.

`Collector.sample()` asks its sources (Kafka offsets, the central link, the status, dead-letter and
inventory views) and does the arithmetic of `pipeline.dashboard.figures`; the server hands the same overview
to `/api/overview` and to every `/api/stream` listener. The sources are small protocols so the unit tests
hand fakes; `pipeline.dashboard.sources` has the live ones.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from events.desk import DeskOutboxReported
from events.masking import mask_everywhere
from events.printing import StationInventory
from events.status import RequestStatus
from pipeline.dashboard.alerts import AlertWatch
from pipeline.dashboard.figures import (
    LinkHistory,
    Partition,
    RateMeter,
    end_offsets_by_topic,
    lag_by_topic,
    lag_rows,
    prints_per_second,
    run_out_forecast,
    step_of_topic,
)
from pipeline.deadletter.view import DeadLetterEntry, DeadLetterStats
from pipeline.kafka.groups import Member
from pipeline.topology.topics import CITIZEN_INBOX, UNREADABLE
from processors.backlog import backlog_by_step, stuck_requests

RATE_WINDOW = 30.0  # seconds of end-offset samples a topic's rate is taken over
PRINT_WINDOW = 300.0  # seconds of printing a station's run-out forecast is taken over
HISTORY_POINTS = 180  # backlog samples the chart keeps
STUCK_SHOWN = 50  # stuck requests listed (the count covers them all)
PARKED_SHOWN = 50


class KafkaOffsets(Protocol):
    """Offsets on the broker: where each partition ends, and where each consumer group stands."""

    async def end_offsets(self) -> dict[Partition, int]: ...

    async def committed(self) -> dict[str, dict[Partition, int]]: ...

    async def workers(self) -> list[Member]: ...


class CentralProbe(Protocol):
    """The link to central: does central answer, and what does the worker's breaker say."""

    async def central_up(self) -> bool: ...

    async def breaker(self) -> str | None: ...


class StatusSource(Protocol):
    @property
    def latest(self) -> Mapping[str, RequestStatus]: ...


class DeadLetterSource(Protocol):
    def stats(self) -> DeadLetterStats: ...

    def pending(self) -> list[DeadLetterEntry]: ...

    def parked(self) -> list[DeadLetterEntry]: ...


class InventorySource(Protocol):
    @property
    def latest(self) -> Mapping[str, StationInventory]: ...

    @property
    def prints(self) -> Mapping[str, deque[tuple[dt.datetime, int]]]: ...


class DeskSource(Protocol):
    @property
    def latest(self) -> Mapping[str, DeskOutboxReported]: ...


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Collector:
    """Turns the sources into the overview, keeping what needs memory: rates, the link's history, the chart."""

    kafka: KafkaOffsets
    central: CentralProbe
    statuses: StatusSource
    dead_letters: DeadLetterSource
    inventory: InventorySource
    desks: DeskSource
    stuck_after: float
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], dt.datetime] = utc_now
    link: LinkHistory = field(default_factory=LinkHistory)
    alerts: AlertWatch = field(default_factory=AlertWatch)
    backlog_history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    _rates: dict[str, RateMeter] = field(default_factory=dict)
    _errors: list[str] = field(default_factory=list)

    async def sample(self) -> dict[str, Any]:
        """One overview of the whole system, every personal number masked."""
        now, ticks = self.now(), self.clock()
        self._errors = []
        overview = {
            "generated_at": now.isoformat(),
            **await self._topics(ticks),
            "dlq": self._dead_letters(now),
            "central_link": await self._central_link(now),
            "stations": self._stations(now),
            "desks": self._desks(now),
            **self._backlog(now),
            "errors": self._errors,
        }
        overview["alerts"] = self.alerts.conditions(overview)  # once a sample: it times how long each holds
        masked: dict[str, Any] = mask_everywhere(overview)
        return masked

    async def _topics(self, ticks: float) -> dict[str, Any]:
        try:
            ends = await self.kafka.end_offsets()
            committed = await self.kafka.committed()
        except Exception as error:  # noqa: BLE001 (a broker hiccup is shown on the page, not raised)
            self._errors.append(f"kafka: {type(error).__name__}")
            return {"topics": [], "lag": [], "unreadable": None, "workers": []}
        workers = [{"client_id": member.client_id, "host": member.host,
                    "partitions": list(member.of(CITIZEN_INBOX.name))} for member in await self.kafka.workers()]
        rows = lag_rows(committed, ends)
        lags, totals = lag_by_topic(rows), end_offsets_by_topic(ends)
        topics = []
        for name in sorted(totals):
            meter = self._rates.setdefault(name, RateMeter(RATE_WINDOW))
            meter.add(ticks, totals[name])
            topics.append({"name": name, "step": step_of_topic(name), "end_offset": totals[name],
                           "rate": round(meter.rate(), 2), "lag": lags.get(name, 0)})
        lag = [{"group": row.group, "topic": row.topic, "partition": row.partition, "committed": row.committed,
                "end_offset": row.end_offset, "lag": row.lag} for row in rows]
        # Messages a step could not read, set aside in their own topic: each one needs a person.
        return {"topics": topics, "lag": lag, "unreadable": totals.get(UNREADABLE.name, 0), "workers": workers}

    def _dead_letters(self, now: dt.datetime) -> dict[str, Any]:
        shown = self.dead_letters.stats().as_json(now)
        parked = self.dead_letters.parked()
        shown["parked_records"] = [
            {"request_id": entry.request_id, "reason": entry.reason, "attempts": entry.attempts,
             "kecamatan_code": entry.kecamatan_code, "last_failure_at": entry.last_failure_at.isoformat()}
            for entry in parked[:PARKED_SHOWN]
        ]
        return shown

    async def _central_link(self, now: dt.datetime) -> dict[str, Any]:
        up = await self.central.central_up()
        breaker = await self.central.breaker()
        self.link.observe("up" if up else "down", breaker, now)
        return {
            "state": self.link.state,
            "since": self.link.since.isoformat() if self.link.since else None,
            "breaker": self.link.breaker,
            "history": [{"state": change.state, "breaker": change.breaker, "at": change.at.isoformat()}
                        for change in self.link.changes],
        }

    def _desks(self, now: dt.datetime) -> list[dict[str, Any]]:
        """Each desk's outbox as it last reported it: what waits for the broker, since when, and how old the word is."""
        return [{
            "id": desk_id, "pending": report.pending, "sent": report.sent,
            "oldest_pending_at": None if report.oldest_pending_at is None else report.oldest_pending_at.isoformat(),
            "oldest_waiting_s": None if report.oldest_pending_at is None
            else round(max(0.0, (now - report.oldest_pending_at).total_seconds()), 1),
            "reported_at": report.reported_at.isoformat(),
            "report_age_s": round(max(0.0, (now - report.reported_at).total_seconds()), 1),
        } for desk_id, report in sorted(self.desks.latest.items())]

    def _stations(self, now: dt.datetime) -> list[dict[str, Any]]:
        stations = []
        for station_id, stock in sorted(self.inventory.latest.items()):
            rate = prints_per_second(self.inventory.prints.get(station_id, ()), now, PRINT_WINDOW)
            forecast = run_out_forecast(stock.blank_stock, rate, now)
            stations.append({
                "id": station_id, "blank_stock": stock.blank_stock, "updated_at": stock.updated_at.isoformat(),
                "prints_per_minute": round(rate * 60, 2),
                "forecast": None if forecast is None else {"seconds": round(forecast.seconds, 1),
                                                           "at": forecast.at.isoformat()},
            })
        return stations

    def _backlog(self, now: dt.datetime) -> dict[str, Any]:
        statuses = list(self.statuses.latest.values())
        backlog = {step.value: count for step, count in backlog_by_step(s.state for s in statuses).items()}
        self.backlog_history.append({"at": now.isoformat(), "counts": backlog})
        stuck = stuck_requests(statuses, now=now, older_than=dt.timedelta(seconds=self.stuck_after))
        return {
            "backlog": backlog,
            "backlog_history": list(self.backlog_history),
            "requests": len(statuses),
            "stuck": {
                "after_seconds": self.stuck_after, "count": len(stuck),
                "requests": [{"request_id": s.request_id, "state": s.state.value, "step": s.step.value,
                              "waiting_seconds": round(s.waiting_seconds, 1), "office_code": s.office_code,
                              "nik_masked": s.nik_masked} for s in stuck[:STUCK_SHOWN]],
            },
        }
