"""`ektp dlq list|show|stats|replay`: the requests waiting for central, and sending them back."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from events.masking import mask_nik
from pipeline.cli.context import console, settings
from pipeline.cli.durations import parse_duration
from pipeline.deadletter.replay import send_back
from pipeline.deadletter.view import DeadLetterEntry, DeadLetterView
from pipeline.topology.routes import OPERATORS
from processors.dead_letter import ReplayFilter

app = typer.Typer(help="The dead-letter stream: requests that wait for central, and their replay.",
                  no_args_is_help=True)
T = TypeVar("T")


def _with_view(use: Callable[[DeadLetterView], Awaitable[T]]) -> T:
    async def run() -> T:
        view = DeadLetterView(settings(), OPERATORS.role)
        await view.start()
        try:
            await view.caught_up()
            return await use(view)
        finally:
            await view.stop()

    return asyncio.run(run())


def _selection(view: DeadLetterView, *, parked: bool, since: str | None, until: str | None, reason: str | None,
               kecamatan: str | None) -> list[DeadLetterEntry]:
    now = dt.datetime.now(dt.UTC)
    chosen = ReplayFilter(
        since=now - dt.timedelta(seconds=parse_duration(since)) if since else None,
        until=now - dt.timedelta(seconds=parse_duration(until)) if until else None,
        reason=reason, kecamatan_code=kecamatan,
    )
    entries = view.parked() if parked else view.pending()
    return [e for e in entries
            if chosen.matches(failed_at=e.last_failure_at, reason=e.reason, kecamatan_code=e.kecamatan_code)]


PARKED = typer.Option(False, "--parked", help="The parked records instead of the waiting ones")
SINCE = typer.Option(None, "--since", help="Only records that last failed within this long (e.g. 2h)")
UNTIL = typer.Option(None, "--until", help="Only records that last failed at least this long ago")
REASON = typer.Option(None, "--reason", help="Only this error: refused, timeout, circuit_open, diverted, ...")
KECAMATAN = typer.Option(None, "--kecamatan", help="Only this kecamatan code, e.g. 217204")


@app.command("list")
def list_(
    parked: bool = PARKED, since: str | None = SINCE, until: str | None = UNTIL, reason: str | None = REASON,
    kecamatan: str | None = KECAMATAN, limit: int = typer.Option(50, help="Show at most this many"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines"),
) -> None:
    """List the records waiting (or parked), oldest first."""
    entries = _with_view(lambda view: _async(
        _selection(view, parked=parked, since=since, until=until, reason=reason, kecamatan=kecamatan)
    ))
    if as_json:
        for entry in entries[:limit]:
            print(json.dumps(_summary(entry)))
        return
    table = Table("request", "kecamatan", "reason", "tries", "first failed", "last failed")
    for entry in entries[:limit]:
        table.add_row(entry.request_id, entry.kecamatan_code, entry.reason, str(entry.attempts),
                      f"{entry.first_failure_at:%Y-%m-%d %H:%M:%S}", f"{entry.last_failure_at:%Y-%m-%d %H:%M:%S}")
    console.print(table)
    shown = f", {limit} shown" if len(entries) > limit else ""
    console.print(f"{len(entries)} {'parked' if parked else 'waiting'}{shown}")


@app.command()
def show(request_id: str = typer.Argument(..., help="The request")) -> None:
    """Show one waiting or parked record's failure context (headers); never its personal data."""
    def find(view: DeadLetterView) -> Awaitable[DeadLetterEntry | None]:
        return _async(view.dead_lettered.get(request_id) or view.parked_records.get(request_id))

    entry = _with_view(find)
    if entry is None:
        console.print(f"{request_id} is not in the dead-letter or parked stream")
        raise typer.Exit(1)
    print(json.dumps({**_summary(entry), "error_class": entry.error_class,
                      "error_message": mask_nik(entry.error_message), "partition": entry.partition,
                      "offset": entry.offset, "headers": {k: mask_nik(v.decode(errors="replace"))
                                                          for k, v in entry.headers}}, indent=2))


@app.command()
def stats(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """How many wait, how many are parked, why, and how long the oldest has waited."""
    current = _with_view(lambda view: _async(view.stats()))
    summary = current.as_json(dt.datetime.now(dt.UTC))
    if as_json:
        print(json.dumps(summary))
        return
    console.print(f"waiting for central: {current.pending}   parked: {current.parked}   "
                  f"oldest waiting: {summary['oldest_waiting_seconds'] or 0:.0f}s")
    for reason, count in current.by_error.items():
        console.print(f"  {reason}: {count}")


@app.command()
def replay(
    parked: bool = PARKED, since: str | None = SINCE, until: str | None = UNTIL, reason: str | None = REASON,
    kecamatan: str | None = KECAMATAN,
    rate: float = typer.Option(200.0, "--rate", min=0.1, help="Records per second at most"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be sent, send nothing"),
) -> None:
    """Send waiting (or parked) records back to central's queue, in order, at a bounded rate."""
    async def run(view: DeadLetterView) -> int:
        entries = _selection(view, parked=parked, since=since, until=until, reason=reason, kecamatan=kecamatan)
        if dry_run:
            console.print(f"would replay {len(entries)} record(s) at {rate:g}/s; nothing sent (--dry-run)")
            return 0
        with Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, transient=False) as progress:
            task = progress.add_task("replay", total=len(entries))
            return await send_back(settings(), entries, role=OPERATORS.role, rate=rate, fresh_start=parked,
                                   on_sent=lambda _entry: progress.advance(task))

    sent = _with_view(run)
    if not dry_run:
        console.print(f"replayed {sent} record(s); `ektp dlq stats` shows them drain as central decides")


def _summary(entry: DeadLetterEntry) -> dict[str, object]:
    return {"request_id": entry.request_id, "kecamatan": entry.kecamatan_code, "office": entry.office_code,
            "reason": entry.reason, "attempts": entry.attempts, "first_failure_at": entry.first_failure_at.isoformat(),
            "last_failure_at": entry.last_failure_at.isoformat()}


async def _async(value: T) -> T:
    return value
