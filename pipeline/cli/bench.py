"""`ektp bench ...`: measurements on this machine, never assertions."""

from __future__ import annotations

import asyncio
import json

import typer

from pipeline.bench_central import bench_central
from pipeline.bench_dlq import bench_dlq
from pipeline.cli.context import console, settings

app = typer.Typer(help="Measure the pipeline on this machine.", no_args_is_help=True)


@app.command()
def central(
    count: int = typer.Option(5000, "--count", min=1, help="Enrollments to send"),
    concurrency: int | None = typer.Option(None, help="Calls in flight (default: EKTP_CENTRAL_CONCURRENCY)"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Decisions per second the central client gets from a running central-sim."""
    current = settings()
    if concurrency:
        current = current.model_copy(update={"central_concurrency": concurrency})
    result = asyncio.run(bench_central(current, count))
    summary = {"calls": result.calls, "seconds": round(result.seconds, 3), "concurrency": result.concurrency,
               "calls_per_second": round(result.calls_per_second, 1)}
    if as_json:
        print(json.dumps(summary))
    else:
        console.print(f"{result.calls} decisions in {result.seconds:.2f}s with {result.concurrency} in flight: "
                      f"{result.calls_per_second:.0f} calls/s")


@app.command()
def dlq(
    count: int = typer.Option(10_000, "--count", min=1, help="Requests that wait in the dead-letter stream"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """On a running system (`ektp up`): how fast a dead-letter backlog drains once central is back."""
    result = asyncio.run(bench_dlq(settings(), count, say=console.print))
    summary = {"count": result.count, "fill_seconds": round(result.fill_seconds, 1),
               "drain_seconds": round(result.drain_seconds, 1), "dlq_drain_rps": round(result.drain_per_second, 1)}
    if as_json:
        print(json.dumps(summary))
    else:
        console.print(f"{result.count} dead-lettered requests drained in {result.drain_seconds:.1f}s: "
                      f"{result.drain_per_second:.0f} requests/s")
