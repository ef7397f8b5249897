"""`ektp`, the one command line of the project. Each command group lives in a module of its own."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from pipeline.cli import broker, config, topics
from pipeline.errors import EktpError

app = typer.Typer(
    name="ektp",
    help="ektp-pipeline: the KTP-el workflow as an event stream on Apache Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(broker.app, name="broker")
app.add_typer(topics.app, name="topics")
app.add_typer(config.app, name="config")
app.command("demo")(broker.demo)


def main() -> None:
    """Entry point of the `ektp` console script: an `EktpError` is a message, not a stack trace."""
    try:
        app()
    except EktpError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}", highlight=False)
        sys.exit(1)
