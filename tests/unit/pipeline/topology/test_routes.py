"""The routing table is the one truth of who reads and writes what; every copy of it agrees with it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipeline.cli import app as cli
from pipeline.topology.documents import BLOCKS, flow_diagram, rendered, stale_documents
from pipeline.topology.routes import (
    OPERATORS,
    PARTIES,
    PRINTING_STATIONS,
    STEPS,
    Reader,
    processor_name,
    readers_of,
    unrouted_topics,
    writers_of,
)
from pipeline.topology.topics import REGISTRY, STATION_INVENTORY, UNREADABLE
from tests.support import ROOT


def test_every_topic_has_a_writer_and_a_reader() -> None:
    """No topic of the registry is written for nobody, or read from nobody."""
    assert unrouted_topics() == []


def test_every_step_and_party_names_only_registry_topics() -> None:
    """A step cannot read or write a topic the registry does not create."""
    everyone: tuple[Reader, ...] = (*STEPS, *PARTIES)
    for who in everyone:
        assert set(who.reads) | set(who.writes) <= set(REGISTRY), who.name


def test_step_names_are_unique_verbs_and_processors_are_pure_functions() -> None:
    """Each step is named once, and what decides for it lives in `processors/`, never in the worker."""
    assert len({step.name for step in STEPS}) == len(STEPS)
    for step in STEPS:
        assert all(processor_name(function).startswith("processors.") for function in step.decides), step.name


def test_the_stations_hold_the_stock_rule_and_print_dispatch_does_not_read_stock() -> None:
    """Stock decides at the station: only stations and operators read `ektp.station.inventory`."""
    assert set(readers_of(STATION_INVENTORY)) == {PRINTING_STATIONS, OPERATORS}


def test_every_step_that_reads_a_topic_can_set_an_unreadable_message_aside() -> None:
    """One policy for poison messages: each agent whose input has a model writes the unreadable topic."""
    agents_with_models = [step for step in STEPS if step.kind == "agent" and step.name != "take_in_submissions"]
    assert {step.name for step in agents_with_models} == {who.name for who in writers_of(UNREADABLE)}
    assert readers_of(UNREADABLE) == (OPERATORS,)


def test_the_flow_diagram_draws_every_topic_between_its_writers_and_readers() -> None:
    """Each topic someone other than the status tracker reads is an arrow in the diagram."""
    diagram = flow_diagram()
    for spec in REGISTRY:
        readers = [who for who in readers_of(spec) if who.name != "track_request_status"]
        if any(writer not in readers for writer in writers_of(spec)) and readers:
            assert f"|{spec.name}|" in diagram, spec.name


def test_the_readme_and_the_design_document_show_what_the_code_says() -> None:
    """The generated parts of README.md and docs/architecture.md match the routing table and the registry."""
    assert stale_documents(ROOT) == [], "run `ektp topics docs` and commit the result"
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    for name in BLOCKS:
        assert f"<!-- generated: {name} -->" in architecture, name
    assert "<!-- generated: flow-diagram -->" in (ROOT / "README.md").read_text()


def test_a_generated_block_that_was_edited_by_hand_is_rewritten() -> None:
    """What a person writes inside a generated block does not survive `ektp topics docs`."""
    edited = "intro\n<!-- generated: routing-table -->\nhand-made\n<!-- end generated -->\nafter\n"
    assert "hand-made" not in rendered(edited)
    assert rendered(edited).startswith("intro\n")
    assert rendered(edited).endswith("after\n")
    with pytest.raises(KeyError, match="nonsense"):
        rendered("<!-- generated: nonsense -->\nx\n<!-- end generated -->\n")


def test_topics_routes_prints_every_step() -> None:
    """`ektp topics routes` shows the table an operator can read without opening the code."""
    result = CliRunner().invoke(cli, ["topics", "routes"], env={"COLUMNS": "240"})
    assert result.exit_code == 0, result.output
    for step in STEPS:
        assert step.name in result.output
