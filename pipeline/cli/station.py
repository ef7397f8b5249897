"""`ektp station run|restock`: the printing station, and blank cards for it."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.context import console, settings
from pipeline.logs import dump_stacks_on_sigquit
from pipeline.station.config import DEFAULT_OFFICE, StationConfig
from pipeline.station.crash import CrashHook
from pipeline.station.inventory import restock as send_restock
from pipeline.station.runner import StationRunner

app = typer.Typer(help="The printing station: print jobs in, cards out; blank-card stock.", no_args_is_help=True)

StationOption = Annotated[str, typer.Option("--station", help="Station id, e.g. TPI-01")]


@app.command()
def run(  # typer passes every option by name
    *,
    station: StationOption,
    office: Annotated[str, typer.Option(help="Office code whose jobs this station prints")] = DEFAULT_OFFICE,
    out: Annotated[Path | None, typer.Option(
        help="Folder of the printed cards (personal data, made 0700); default <run_dir>/station-<id>/cards",
    )] = None,
    metrics_port: Annotated[int | None, typer.Option(
        min=0, help="Port of /metrics (0: off); default EKTP_STATION_METRICS_PORT",
    )] = None,
    initial_blanks: Annotated[int, typer.Option(
        min=0, help="Stock of a new station the inventory topic knows nothing of",
    )] = 0,
    misprint_rate: Annotated[float, typer.Option(min=0.0, max=0.99, help="Simulated misprints per print")] = 0.0,
    misprint_seed: Annotated[int, typer.Option(help="Seed of the simulated misprints")] = 0,
    instant: Annotated[bool | None, typer.Option(
        "--instant/--no-instant",
        help="Benchmarks only: write a 1x1 placeholder instead of drawing the card (journal and files the same); "
             "default EKTP_STATION_INSTANT (off)",
    )] = None,
    crash_at: Annotated[str | None, typer.Option(
        hidden=True, envvar="EKTP_STATION_CRASH_AT", help="Test hook only: SIGKILL at <point>:<n>",
    )] = None,
) -> None:
    """Run a printing station until SIGTERM or Ctrl-C."""
    config = dataclasses.replace(
        StationConfig.from_settings(settings(), station_id=station, office_code=office, out_dir=out),
        metrics_port=settings().station_metrics_port if metrics_port is None else metrics_port,
        initial_blanks=initial_blanks, misprint_rate=misprint_rate,
        misprint_seed=misprint_seed, crash_hook=CrashHook.parse(crash_at),
        instant=settings().station_instant if instant is None else instant,
    )
    dump_stacks_on_sigquit()
    asyncio.run(StationRunner(config).run())


@app.command()
def restock(
    *,
    station: StationOption,
    count: Annotated[int, typer.Option("--count", min=1, help="Blank cards delivered")],
) -> None:
    """Give a station blank cards (it applies them now, or when it next starts)."""
    event = asyncio.run(send_restock(settings(), station, count))
    console.print(
        f"restock sent: {station} +{count} blanks (stock {event.blank_stock} over the last known; "
        "the station publishes its own total once applied)"
    )
