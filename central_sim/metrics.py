"""Prometheus metrics of central_sim, served at `GET /metrics` on the admin port.

Labels are closed sets (endpoint names, outcomes, decision kinds, modes): no NIK, request_id or other
per-person value ever becomes a label.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, generate_latest

from central_sim.faults import OutageMode
from events.approval import CentralDecision

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_OUTCOMES = {
    200: "ok", 400: "malformed", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 422: "invalid", 429: "rate_limited", 503: "unavailable",
}


def outcome_of(status: int) -> str:
    """The `outcome` label of an HTTP status."""
    return _OUTCOMES.get(status, "error" if status >= 500 else "other")


class CentralMetrics:
    """Every metric, in a registry of its own (so several servers can live in one test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "central_sim_requests", "HTTP requests answered, by endpoint and outcome",
            ["endpoint", "outcome"], registry=self.registry,
        )
        self.request_seconds = Histogram(
            "central_sim_request_seconds", "Time to answer, by endpoint", ["endpoint"], registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.enrollments = Counter(
            "central_sim_enrollments", "Enrollments (single or in a batch), by outcome",
            ["outcome"], registry=self.registry,
        )
        self.decisions = Counter(
            "central_sim_decisions", "New decisions made (repeats of a request_id not counted), by kind",
            ["decision"], registry=self.registry,
        )
        for decision in CentralDecision:
            self.decisions.labels(decision=decision.value)
        self.mode = Enum(
            "central_sim_outage_mode", "The outage mode in force on the public port",
            states=[mode.value for mode in OutageMode], registry=self.registry,
        )
        self.public_port_open = Gauge(
            "central_sim_public_port_open", "1 while the public port listens, 0 while it is down",
            registry=self.registry,
        )
        self.in_flight_held = Gauge(
            "central_sim_in_flight_held", "Requests held right now by a hang, waiting for it to end",
            registry=self.registry,
        )
        self.people_on_file = Gauge(
            "central_sim_people_on_file", "People central has on file (the deduplication gallery)",
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
