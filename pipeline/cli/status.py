"""`ektp status REQUEST_ID [--json]`: where is this KTP-el? The current state and the timeline."""

from __future__ import annotations

import asyncio
import json

import typer
from rich.table import Table

from pipeline.cli.context import console, settings
from pipeline.status.reader import read_status
from pipeline.topology.routes import OPERATORS


def status(
    request_id: str = typer.Argument(..., help="The request's id (from the recording desk's receipt)"),
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON"),
) -> None:
    """Show a request's current state, what it means for the citizen, and its timeline."""
    found = asyncio.run(read_status(settings(), request_id, role=OPERATORS.role))
    if found is None:
        if as_json:
            print(json.dumps({"request_id": request_id, "state": None}))
        else:
            console.print(f"no status for request {request_id}: not received yet, or a wrong id")
        raise typer.Exit(1)
    if as_json:
        print(found.model_dump_json())
        return
    console.print(f"[bold]{found.request_id}[/]  {found.state.value}  (NIK {found.nik_masked or '-'}, "
                  f"kantor {found.office_code or '-'}, diperbarui {found.updated_at:%Y-%m-%d %H:%M:%S %Z})")
    console.print(f"  {found.explanation_id}")
    console.print(f"  [dim]{found.explanation_en}[/]")
    if found.error_codes:
        console.print(f"  kode / codes: {', '.join(found.error_codes)}")
    timeline = Table("waktu / time", "status", "catatan / note")
    for entry in found.timeline:
        timeline.add_row(f"{entry.at:%Y-%m-%d %H:%M:%S}", entry.state.value, entry.note or "")
    console.print(timeline)

