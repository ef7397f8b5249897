"""The dashboard's Prometheus /metrics: what only the dashboard knows, for the alerting rules.

Consumer lag per group and partition (from the offsets the dashboard reads anyway) and each recording
desk's outbox (from the desks' reports on `ektp.desk.outbox`), taken from the latest overview when
Prometheus scrapes, so a group or desk that is gone drops out. Served on a port of its own
(`EKTP_DASHBOARD_METRICS_PORT`), because the page's server answers only its own host names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pipeline.logs import get_logger

log = get_logger(__name__)


class OverviewMetrics(Collector):
    """Turns the latest overview into gauges at each scrape."""

    def __init__(self, overview: Callable[[], Mapping[str, Any]],
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.overview = overview
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        overview = self.overview()
        lag = GaugeMetricFamily("ektp_consumer_lag", "Messages a consumer group has yet to read, per partition",
                                labels=["group", "topic", "partition"])
        for row in overview.get("lag") or []:
            lag.add_metric([row["group"], row["topic"], str(row["partition"])], row["lag"])
        yield lag
        pending = GaugeMetricFamily("ektp_desk_outbox_pending",
                                    "Submissions waiting in a recording desk's outbox, as the desk last reported",
                                    labels=["desk"])
        oldest = GaugeMetricFamily("ektp_desk_outbox_oldest_pending_seconds",
                                   "How long the oldest submission of a desk's outbox has waited (0: none waits)",
                                   labels=["desk"])
        now = self.now()
        for desk in overview.get("desks") or []:
            pending.add_metric([desk["id"]], desk["pending"])
            since = desk.get("oldest_pending_at")
            waited = (now - dt.datetime.fromisoformat(since)).total_seconds() if since else 0.0
            oldest.add_metric([desk["id"]], max(0.0, waited))
        yield pending
        yield oldest


def serve_metrics(overview: Callable[[], Mapping[str, Any]], host: str, port: int) -> CollectorRegistry:
    """Serve the gauges on `host:port` in a thread of their own (port 0: not at all); the registry either way."""
    registry = CollectorRegistry()
    registry.register(OverviewMetrics(overview))
    if port:
        start_http_server(port, addr=host, registry=registry)
        log.info("dashboard metrics served", url=f"http://{host}:{port}/metrics")
    return registry
