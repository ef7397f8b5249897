"""`ektp topics create|list|routes|docs`: the topic registry on the broker, and the routing table."""

from __future__ import annotations

import asyncio

import typer
from rich.table import Table

from pipeline.cli.context import console, settings
from pipeline.config import project_root
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.security import ADMIN_ROLE
from pipeline.topology.documents import stale_documents, write_documents
from pipeline.topology.routes import PARTIES, STEPS, labels, processor_name, readers_of, writers_of
from pipeline.topology.topics import REGISTRY

app = typer.Typer(help="The pipeline's topics (names are a contract; see pipeline/topology/).", no_args_is_help=True)


@app.command("create")
def create_topics() -> None:
    """Create every topic of the registry that is missing; idempotent."""
    outcomes = asyncio.run(ensure_topics(settings(), role=ADMIN_ROLE))
    table = Table("topic", "partitions", "outcome")
    for outcome in outcomes:
        table.add_row(outcome.name, str(outcome.partitions), outcome.detail or outcome.outcome)
    console.print(table)
    created = sum(outcome.outcome == "created" for outcome in outcomes)
    console.print(f"{created} created, {len(outcomes) - created} already there")


@app.command("list")
def list_topics() -> None:
    """Show the registry: every topic, its key, who writes and who reads it (from the routing table)."""
    table = Table("topic", "key", "written by", "read by", "cleanup", "partitions")
    for spec in REGISTRY:
        partitions = str(spec.partition_count(settings().topic_partitions))
        table.add_row(spec.name, spec.key, labels(writers_of(spec)), labels(readers_of(spec)), spec.cleanup_policy,
                      partitions)
    console.print(table)


@app.command("routes")
def list_routes() -> None:
    """Show the routing table: each step of the worker, and each program beside it, with what it reads and writes."""
    steps = Table("step", "reads", "decides", "writes")
    for step in STEPS:
        steps.add_row(f"{step.name}\n({step.label})", "\n".join(spec.name for spec in step.reads),
                      "\n".join(processor_name(function) for function in step.decides),
                      "\n".join(spec.name for spec in step.writes))
    console.print(steps)
    parties = Table("party", "role", "reads", "writes")
    for party in PARTIES:
        parties.add_row(party.label, party.role, "\n".join(spec.name for spec in party.reads),
                        "\n".join(spec.name for spec in party.writes))
    console.print(parties)


@app.command("docs")
def write_docs(
    check: bool = typer.Option(False, "--check", help="Only say whether the documents are current; exit 1 if not"),
) -> None:
    """Rewrite the README's and docs/architecture.md's generated parts from the routing table and registry."""
    root = project_root()
    if check:
        stale = stale_documents(root)
        if stale:
            console.print(f"out of date: {', '.join(stale)}; run `ektp topics docs`")
            raise typer.Exit(1)
        console.print("the generated parts of the documents are current")
        return
    changed = write_documents(root)
    console.print(f"rewrote {', '.join(changed)}" if changed else "nothing to rewrite")
