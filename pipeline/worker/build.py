"""The worker's faust app, wired step by step from the routing table (`pipeline/topology/routes.py`).

Each step of the table has one wiring function here; it gets the topics its step reads and may send only
to those its step writes. Building fails, before anything runs, when the two disagree. Every agent runs
with concurrency 1 (faust-streaming #606) and catches and routes its errors, because an agent that raises
has its message acked. Printing happens outside the worker, at the printing stations (`pipeline/station/`).
"""

from __future__ import annotations

from collections.abc import Callable

import faust

from pipeline.config import Settings
from pipeline.topology.routes import (
    APPROVE,
    DISPATCH,
    HAND_OVER,
    RECORD,
    REPLAY,
    ROUTE_TO_PICKUP,
    STEPS,
    TAKE_IN,
    TRACK_STATUS,
)
from pipeline.worker.agents.approval import wire_approval
from pipeline.worker.agents.dispatch import wire_dispatch
from pipeline.worker.agents.intake import wire_record, wire_take_in
from pipeline.worker.agents.pickup import wire_hand_over, wire_route_to_pickup
from pipeline.worker.agents.status import create_status_table, wire_status_tracker
from pipeline.worker.app import create_app
from pipeline.worker.auto_replay import wire_auto_replay
from pipeline.worker.wiring import RoutingError, StepTopics, Wiring

Wire = Callable[[Wiring, StepTopics], None]

WIRES: dict[str, Wire] = {
    TAKE_IN.name: wire_take_in,
    RECORD.name: wire_record,
    APPROVE.name: wire_approval,
    DISPATCH.name: wire_dispatch,
    ROUTE_TO_PICKUP.name: wire_route_to_pickup,
    HAND_OVER.name: wire_hand_over,
    TRACK_STATUS.name: wire_status_tracker,
    REPLAY.name: wire_auto_replay,
}


def build_app(settings: Settings) -> faust.App:
    """The pipeline's faust app with every step of the routing table wired, and its tables."""
    app = create_app(settings)
    wiring = Wiring(app, settings, create_status_table(app, settings.topic_partitions))
    mismatched = sorted(set(WIRES) ^ {step.name for step in STEPS})
    if mismatched:
        raise RoutingError(f"steps without wiring, or wiring without a step: {mismatched}")
    for step in STEPS:
        topics = StepTopics(app, step)
        WIRES[step.name](wiring, topics)
        if topics.unused():
            raise RoutingError(f"{step.name} declares it writes {topics.unused()} but never does")
    return app
