"""`ektp topics create|list`: the topic registry on the broker."""

from __future__ import annotations

import asyncio

import typer
from rich.table import Table

from pipeline.cli.context import console, settings
from pipeline.kafka.admin import ensure_topics
from pipeline.topology.topics import REGISTRY

app = typer.Typer(help="The pipeline's topics (names are a contract; see pipeline/topology/topics.py).",
                  no_args_is_help=True)


@app.command("create")
def create_topics() -> None:
    """Create every topic of the registry that is missing; idempotent."""
    outcomes = asyncio.run(ensure_topics(settings()))
    table = Table("topic", "partitions", "outcome")
    for outcome in outcomes:
        table.add_row(outcome.name, str(outcome.partitions), outcome.detail or outcome.outcome)
    console.print(table)
    created = sum(outcome.outcome == "created" for outcome in outcomes)
    console.print(f"{created} created, {len(outcomes) - created} already there")


@app.command("list")
def list_topics() -> None:
    """Show the registry: every topic, its key, who writes and who reads it."""
    table = Table("topic", "key", "written by", "read by", "cleanup", "partitions")
    for spec in REGISTRY:
        partitions = str(spec.partition_count(settings().topic_partitions))
        table.add_row(spec.name, spec.key, spec.written_by, spec.read_by, spec.cleanup_policy, partitions)
    console.print(table)
