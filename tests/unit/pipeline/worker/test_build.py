"""The worker is wired from the routing table: its agents read what their steps read and write nothing else."""

from __future__ import annotations

from pathlib import Path

import faust
import pytest

from pipeline.config import Settings
from pipeline.kafka.security import ensure_credentials
from pipeline.topology.routes import RECORD_AND_APPROVE, STEPS
from pipeline.topology.topics import APPROVAL_DECIDED, PICKUP_COLLECTED
from pipeline.worker.app import create_app
from pipeline.worker.build import WIRES, build_app
from pipeline.worker.wiring import RoutingError, StepTopics


@pytest.fixture
def app(tmp_path: Path) -> faust.App:
    ensure_credentials(Settings(run_dir=tmp_path))  # the app is built with the worker's, never connects
    return build_app(Settings(run_dir=tmp_path))


def test_each_agent_reads_exactly_what_its_step_reads(app: faust.App) -> None:
    """The faust agents are the routing table's agent steps, each subscribed to its step's topics."""
    agents = {step.name: step for step in STEPS if step.kind == "agent"}
    assert set(app.agents) == set(agents)
    for name, agent in app.agents.items():
        assert set(agent.channel.topics) == {spec.name for spec in agents[name].reads}, name


def test_the_tables_are_the_ones_the_steps_own(app: faust.App) -> None:
    """Every table is kept by the steps of the routing table that own it, and every table consulted exists."""
    owned = {name for step in STEPS for name in step.owns}
    assert set(app.tables) == owned
    assert {name for step in STEPS for name in step.consults} <= set(owned)


def test_every_step_has_its_wiring() -> None:
    """A step added to the routing table without wiring, or wiring without a step, is caught."""
    assert set(WIRES) == {step.name for step in STEPS}


def test_an_agent_cannot_send_to_a_topic_its_step_does_not_declare(tmp_path: Path) -> None:
    """Asking for an undeclared output fails when the app is built, not when a message arrives."""
    ensure_credentials(Settings(run_dir=tmp_path))
    topics = StepTopics(create_app(Settings(run_dir=tmp_path)), RECORD_AND_APPROVE)
    topics.output(APPROVAL_DECIDED)
    with pytest.raises(RoutingError, match=r"record_and_approve may not write ektp\.pickup\.collected"):
        topics.output(PICKUP_COLLECTED)
    assert APPROVAL_DECIDED.name not in topics.unused()
