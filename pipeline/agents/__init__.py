"""The stream processors, wired into one faust app.

| agent | reads | processor | writes |
| --- | --- | --- | --- |
| `take_in_submissions` | `ektp.enrollment.submitted` | `processors.intake.validate_submission` | `ektp.internal.intake-by-citizen`, `ektp.enrollment.rejected` |
| `record_enrollments` | `ektp.internal.intake-by-citizen` | `processors.intake.decide_recording` | `ektp.enrollment.recorded`, `ektp.enrollment.rejected` |
| `track_request_status` | every step topic (`agents/status.py`, `STATUS_ROUTES`) | `processors.status.advance_status` | `ektp.request.status` |

Every agent runs with concurrency 1 (faust-streaming #606) and catches and routes its errors (an agent
that raises has its message acked).
"""  # noqa: E501 (a table reads better unwrapped)

from __future__ import annotations

import faust

from pipeline.agents.intake import register_intake
from pipeline.agents.status import create_status_table, register_status_tracker
from pipeline.app import create_app
from pipeline.config import Settings


def build_app(settings: Settings) -> faust.App:
    """The pipeline's faust app with every agent and table registered."""
    app = create_app(settings)
    request_id_to_status = create_status_table(app, settings.topic_partitions)
    register_intake(app, settings, request_id_to_status)
    register_status_tracker(app, request_id_to_status)
    return app
