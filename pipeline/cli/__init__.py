"""`ektp`, the one command line of the project. Each command group lives in a module of its own."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError
from rich.console import Console

import pipeline.cli.station as station_cli
from pipeline.cli import (
    acl,
    bench,
    broker,
    central,
    chaos,
    config,
    credentials,
    dashboard,
    demo,
    desk,
    dlq,
    enroll,
    generate,
    nik,
    pickup,
    schema,
    status,
    topics,
    up,
    worker,
)
from pipeline.config import Settings
from pipeline.errors import EktpError
from pipeline.kafka.backoff import back_off_failed_metadata_updates
from pipeline.processes.event_loop import use_event_loop

app = typer.Typer(
    name="ektp",
    help="ektp-pipeline: the KTP-el workflow as an event stream on Apache Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(broker.app, name="broker")
app.add_typer(acl.app, name="acl")
app.add_typer(credentials.app, name="credentials")
app.add_typer(topics.app, name="topics")
app.add_typer(config.app, name="config")
app.add_typer(schema.app, name="schema")
app.add_typer(nik.app, name="nik")
app.command("demo")(demo.demo)
app.command("dashboard")(dashboard.dashboard)
app.command("chaos")(chaos.chaos)
app.command("up")(up.up)
app.command("down")(up.down)
app.add_typer(generate.app, name="generate")
app.command("enroll")(enroll.enroll_file)
app.add_typer(desk.app, name="desk")
app.command("worker")(worker.worker)
app.command("status")(status.status)
app.command("pickup")(pickup.pickup)
app.command("central-sim")(central.central_sim)
app.add_typer(central.app, name="central")
app.add_typer(bench.app, name="bench")
app.add_typer(dlq.app, name="dlq")
app.add_typer(station_cli.app, name="station")


def main() -> None:
    """Entry point of the `ektp` console script: an `EktpError` is a message, not a stack trace.

    Every process the project starts is an `ektp` command (the bench's faust relay aside, which does the same),
    so its Kafka clients get their fixes here, and its event loop is chosen here, before any is made.
    """
    back_off_failed_metadata_updates()
    try:
        use_event_loop(Settings().event_loop)
    except ValidationError as error:  # only the settings' own: a command's validation errors are its to report
        Console(stderr=True).print(f"[bold red]error:[/] settings from the environment (EKTP_*): {error}",
                                   highlight=False)
        sys.exit(1)
    try:
        app()
    except EktpError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}", highlight=False)
        sys.exit(1)
