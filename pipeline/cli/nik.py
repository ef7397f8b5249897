"""`ektp nik check NIK`: the NIK rules on one number, as JSON; exit 0 when valid, 1 when not."""

from __future__ import annotations

import datetime as dt

import typer

from events.nik import check_nik

app = typer.Typer(help="The NIK rules (events/nik.py).", no_args_is_help=True)


@app.command()
def check(
    nik: str = typer.Argument(..., help="The 16-digit NIK"),
    today: str | None = typer.Option(None, help="Check as of this date (YYYY-MM-DD); default today"),
) -> None:
    """Check a NIK: validity, coded errors (Indonesian and English), region, sex and birth date."""
    as_of = dt.date.fromisoformat(today) if today else None
    result = check_nik(nik, today=as_of)
    print(result.model_dump_json(indent=2))
    raise typer.Exit(0 if result.valid else 1)
