"""The stream processors, wired into one faust app.

| agent | reads | processor | writes |
| --- | --- | --- | --- |
| `take_in_submissions` | `ektp.enrollment.submitted` | `processors.intake.validate_submission` | `ektp.internal.intake-by-citizen`, `ektp.enrollment.rejected` |
| `record_enrollments` | `ektp.internal.intake-by-citizen` | `processors.intake.decide_recording` | `ektp.enrollment.recorded`, `ektp.enrollment.rejected` |
| `approve_enrollments` | `ektp.enrollment.recorded` | `processors.approval` + central | `ektp.approval.decided`, `ektp.internal.status-notes` |
| `dispatch_print_jobs` | `ektp.approval.decided` | `processors.print_dispatch.print_job_for` | `ektp.print.requested` |
| `route_to_pickup` | `ektp.approval.decided`, `ektp.print.completed` | `processors.pickup.expected_pickup`, `card_arrived` | `ektp.internal.pickup-by-request` |
| `hand_over_cards` | `ektp.internal.pickup-by-request`, `ektp.pickup.requested` | `processors.pickup.hand_over` | `ektp.pickup.ready`, `ektp.pickup.collected` |
| `AutoReplay` (a task) | `ektp.approval.deadletter`, `ektp.request.status` | `processors.dead_letter` | `ektp.enrollment.recorded` |
| `track_request_status` | every step topic (`agents/status.py`, `STATUS_ROUTES`) | `processors.status.advance_status` | `ektp.request.status` |

Printing happens outside the worker, at the printing stations (`pipeline/station/`).

Every agent runs with concurrency 1 (faust-streaming #606) and catches and routes its errors (an agent
that raises has its message acked).
"""  # noqa: E501 (a table reads better unwrapped)

from __future__ import annotations

import faust

from pipeline.config import Settings
from pipeline.topology.topics import ENROLLMENT_RECORDED
from pipeline.worker.agents.approval import register_approval, register_print_dispatch
from pipeline.worker.agents.intake import register_intake
from pipeline.worker.agents.pickup import register_pickup
from pipeline.worker.agents.status import create_status_table, register_status_tracker
from pipeline.worker.app import create_app
from pipeline.worker.auto_replay import AutoReplay


def build_app(settings: Settings) -> faust.App:
    """The pipeline's faust app with every agent and table registered."""
    app = create_app(settings)
    request_id_to_status = create_status_table(app, settings.topic_partitions)
    register_intake(app, settings, request_id_to_status)
    approver = register_approval(app, settings)
    replay = AutoReplay(settings, approver.central.breaker, lambda: _owned_partitions(app))
    app.task(replay.run)
    register_print_dispatch(app)
    register_pickup(app, settings)
    register_status_tracker(app, request_id_to_status)
    return app


def _owned_partitions(app: faust.App) -> set[int]:
    """The partitions of `ektp.enrollment.recorded` this worker processes (its dead-letter share)."""
    try:
        assignment = app.consumer.assignment()
    except Exception:  # noqa: BLE001 (not started yet, or rebalancing: own nothing this round)
        return set()
    return {tp.partition for tp in assignment if tp.topic == ENROLLMENT_RECORDED.name}
