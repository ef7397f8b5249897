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
DLQ_DEAD_LETTERED = Counter("ektp_dlq_dead_lettered_total", "Records written to the dead-letter stream", ["reason"])
DLQ_PARKED_TOTAL = Counter("ektp_dlq_records_parked_total", "Records parked after repeated failures")
DLQ_SKIPPED = Counter("ektp_dlq_already_decided_total", "Replayed or redelivered records central had decided")
DLQ_REPLAYED = Counter("ektp_dlq_replayed_total", "Records sent back from the dead-letter stream for another try")
DLQ_PENDING = Gauge("ektp_dlq_pending", "Requests waiting in the dead-letter stream (AWAITING_CENTRAL)")
DLQ_PARKED = Gauge("ektp_dlq_parked", "Requests parked (PARKED), waiting for a person")
DLQ_OLDEST = Gauge("ektp_dlq_oldest_waiting_seconds", "Age of the oldest request waiting for central")
UNREADABLE = Counter("ektp_unreadable_messages_total", "Messages a step could not read, set aside", ["step"])
STATUS_CHANGES = Counter("ektp_status_changes_total", "Request status changes, by new state", ["state"])


def breaker_changed(change: BreakerChange) -> None:
    """Keep the breaker gauge on the state it moved to."""
    for state in BreakerState:
        BREAKER_STATE.labels(state.value).set(1 if state == change.state else 0)


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Serve /metrics on `host`:`port` (port 0: not at all)."""
    if port:
        BREAKER_STATE.labels(BreakerState.CLOSED.value).set(1)
        start_http_server(port, addr=host)
