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
from pipeline.topology.routes import FOLLOW_CARDS, RECORD_AND_APPROVE, REPLAY, STEPS, TAKE_IN
from pipeline.worker.agents.cards import wire_follow_cards
from pipeline.worker.agents.enrollment import wire_record_and_approve
from pipeline.worker.agents.intake import wire_take_in
from pipeline.worker.app import create_app
from pipeline.worker.auto_replay import wire_auto_replay
from pipeline.worker.wiring import RoutingError, StepTopics, Wiring

Wire = Callable[[Wiring, StepTopics], None]

WIRES: dict[str, Wire] = {
    TAKE_IN.name: wire_take_in,
    RECORD_AND_APPROVE.name: wire_record_and_approve,
    FOLLOW_CARDS.name: wire_follow_cards,
    REPLAY.name: wire_auto_replay,
}


def build_app(settings: Settings) -> faust.App:
    """The pipeline's faust app with every step of the routing table wired, and its tables."""
    app = create_app(settings)
    wiring = Wiring(app, settings)
    mismatched = sorted(set(WIRES) ^ {step.name for step in STEPS})
    if mismatched:
        raise RoutingError(f"steps without wiring, or wiring without a step: {mismatched}")
    for step in STEPS:
        topics = StepTopics(app, step)
        WIRES[step.name](wiring, topics)
        if topics.unused():
            raise RoutingError(f"{step.name} declares it writes {topics.unused()} but never does")
    return app
