"""`ektp demo`: everything up, the day of the lightning played in compressed time, a report at the end."""

from __future__ import annotations

import asyncio

import typer

from pipeline.cli.context import console, settings
from pipeline.cli.up import down, up
from pipeline.proving.demo import play
from pipeline.proving.report import write_report


def demo(
    residents: int = typer.Option(60, "--residents", min=20, help="How many residents come to the desk"),
    duration: float = typer.Option(60.0, "--duration", min=20, help="Seconds the office's day is compressed into"),
    station: str = typer.Option("TPI-01", "--station", help="The printing station"),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes sharing the partitions"),
    timeout: float = typer.Option(180.0, "--timeout", help="Seconds to wait for the backlog to drain, and for pickup"),
    keep_running: bool = typer.Option(False, "--keep-running", help="Leave the pipeline running at the end"),
) -> None:
    """Run the pipeline and play the day the lightning struck: recording, outage, replay, printing, pickup.

    Ctrl-C at any moment clears central's link and stops every process cleanly.
    """
    current = settings()
    console.print(f"dashboard: http://{current.dashboard_host}:{current.dashboard_port}/  (open it to watch)")
    try:
        up(station=station, workers=workers)
        console.print("\n[bold]Kota Tanjung Pinang, Disdukcapil: the day the lightning struck[/]")
        story = asyncio.run(play(current, console, residents=residents, duration=duration, station=station,
                                 timeout=timeout))
        markdown, chart = write_report(story, current.run_dir / "reports")
        ended = ", ".join(f"{state} {count}" for state, count in story.final.most_common())
        console.print(f"\nwhere the requests ended: {ended}")
        console.print(f"report: {markdown}\nchart:  {chart}")
    except KeyboardInterrupt:
        console.print("\ninterrupted: stopping everything")
        keep_running = False
        raise typer.Exit(130) from None
    finally:
        if keep_running:
            console.print("the pipeline keeps running: `ektp status REQUEST_ID`, the dashboard, `ektp down` to stop")
        else:
            down()
    if story.unfinished:
        console.print(f"[bold red]{story.unfinished} requests did not finish[/]")
        raise typer.Exit(1)
