"""The worker's Prometheus metrics. Labels are codes and names, never a NIK or a digest."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, start_http_server

from pipeline.central.breaker import BreakerChange, BreakerState

SUBMISSIONS = Counter("ektp_intake_submissions_total", "Submissions taken in, by outcome", ["outcome"])
REJECTIONS = Counter("ektp_intake_rejections_total", "Rule failures in rejected submissions, by code", ["code"])
CENTRAL_DECISIONS = Counter("ektp_central_decisions_total", "Central's decisions", ["decision"])
CENTRAL_FAILURES = Counter("ektp_central_failures_total", "Calls to central that failed, by reason", ["reason"])
BREAKER_STATE = Gauge("ektp_central_breaker_state", "1 for the breaker's current state", ["state"])
PRINT_JOBS = Counter("ektp_print_jobs_total", "Print jobs dispatched, by priority", ["priority"])
PICKUPS = Counter("ektp_pickups_total", "Pickup attempts, by outcome and reason", ["outcome", "reason_code"])
STATUS_CHANGES = Counter("ektp_status_changes_total", "Request status changes, by new state", ["state"])


def breaker_changed(change: BreakerChange) -> None:
    """Keep the breaker gauge on the state it moved to."""
    for state in BreakerState:
        BREAKER_STATE.labels(state.value).set(1 if state == change.state else 0)


def serve_metrics(port: int) -> None:
    """Serve /metrics on 127.0.0.1:`port` (0: not at all)."""
    if port:
        BREAKER_STATE.labels(BreakerState.CLOSED.value).set(1)
        start_http_server(port, addr="127.0.0.1")
