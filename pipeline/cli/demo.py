"""`ektp demo`: everything up, residents recorded, cards printed and collected, and where each ended."""

from __future__ import annotations

import asyncio

import typer

from pipeline.cli.context import console, settings
from pipeline.cli.up import up
from pipeline.demo import play


def demo(
    residents: int = typer.Option(20, "--residents", min=10, help="How many residents come to the desk"),
    station: str = typer.Option("TPI-01", "--station", help="The printing station"),
    timeout: float = typer.Option(180.0, "--timeout", help="Seconds to wait for each stage"),
) -> None:
    """Run the pipeline and play a morning at the office: recording, central, printing, pickup."""
    up(station=station)
    console.print("\n[bold]A morning at the Disdukcapil office of Kota Tanjung Pinang[/]")
    counts = asyncio.run(play(settings(), console, residents=residents, station=station, timeout=timeout))
    console.print("\nwhere the requests ended: " + ", ".join(f"{state} {n}" for state, n in counts.most_common()))
    console.print("the pipeline keeps running: `ektp status REQUEST_ID`, `ektp down` to stop it")
