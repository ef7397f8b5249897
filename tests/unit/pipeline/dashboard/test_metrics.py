"""The dashboard's /metrics: lag per group and partition and each desk's outbox, from the latest overview."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from pipeline.dashboard.metrics import OverviewMetrics

NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


def scrape(overview: dict[str, Any]) -> str:
    registry = CollectorRegistry()
    registry.register(OverviewMetrics(lambda: overview, now=lambda: NOW))
    return generate_latest(registry).decode()


def test_lag_and_desk_outboxes_are_gauges_of_the_latest_overview() -> None:
    text = scrape({
        "lag": [{"group": "ektp-pipeline", "topic": "ektp.internal.citizen-inbox", "partition": 2, "lag": 40}],
        "desks": [{"id": "REKAM-01", "pending": 37, "oldest_pending_at": (NOW - dt.timedelta(minutes=20)).isoformat()},
                  {"id": "REKAM-02", "pending": 0, "oldest_pending_at": None}],
    })
    assert 'ektp_consumer_lag{group="ektp-pipeline",partition="2",topic="ektp.internal.citizen-inbox"} 40.0' in text
    assert 'ektp_desk_outbox_pending{desk="REKAM-01"} 37.0' in text
    assert 'ektp_desk_outbox_oldest_pending_seconds{desk="REKAM-01"} 1200.0' in text
    assert 'ektp_desk_outbox_oldest_pending_seconds{desk="REKAM-02"} 0.0' in text


def test_before_the_first_sample_there_is_nothing_to_report() -> None:
    text = scrape({})
    assert "ektp_consumer_lag{" not in text
    assert "ektp_desk_outbox_pending{" not in text
