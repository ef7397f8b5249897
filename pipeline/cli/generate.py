"""`ektp generate residents`: synthetic Tanjungpinang residents, to a JSON Lines file or straight to Kafka.

A JSON Lines file holds UTF-8 lines only, so with `--out` the malformed submissions leave out the two
variants no line can carry (`invalid_utf8`, `empty`); `--send` produces every variant.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli.context import console, settings
from pipeline.desk.enroll import enroll_submissions
from pipeline.proving.synthetic import (
    JSON_LINES_MALFORMED,
    GeneratedSubmission,
    MalformedVariant,
    Mix,
    iter_submissions,
    write_json_lines,
)
from pipeline.topology.topics import ENROLLMENT_SUBMITTED

app = typer.Typer(help="Synthetic data for tests, the demo and the benchmark.", no_args_is_help=True)


@app.command("residents")
def residents(
    *,
    count: Annotated[int, typer.Option(min=0, help="Submissions in all, the special ones included")],
    seed: Annotated[int, typer.Option(help="The same seed (and --today) gives the same submissions")] = 0,
    invalid: Annotated[int, typer.Option(min=0, help="Well-formed, each breaking one intake rule")] = 0,
    malformed: Annotated[int, typer.Option(min=0, help="Not a submission: bad JSON, types or bytes")] = 0,
    repeated: Annotated[int, typer.Option(min=0, help="An earlier valid one again, byte for byte")] = 0,
    duplicates: Annotated[int, typer.Option(min=0, help="A second NIK with 6-10 of an earlier one's fingers")] = 0,
    adjudicate: Annotated[int, typer.Option(min=0, help="Sharing 1-5 fingers with an earlier one")] = 0,
    enroll_failures: Annotated[int, typer.Option(min=0, help="Fingerprint or face quality below 40")] = 0,
    today: Annotated[dt.datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="The day they are recorded (default: today in WIB)",
    )] = None,
    office_code: Annotated[str, typer.Option(help="The office_code field")] = "2172",
    out: Annotated[Path | None, typer.Option(dir_okay=False, help="Write JSON Lines to this file")] = None,
    send: Annotated[bool, typer.Option("--send", help=f"Produce to {ENROLLMENT_SUBMITTED.name} instead")] = False,
    rate: Annotated[float | None, typer.Option(min=0.001, help="With --send: at most this many a second")] = None,
) -> None:
    """Generate COUNT submissions of synthetic residents (the special ones included); print counts, never a NIK.

    With --out, malformed ones leave out `invalid_utf8` and `empty` (no JSON Lines line can hold them);
    --send produces every variant.
    """
    if (out is None) == (not send):
        raise typer.BadParameter("give exactly one of --out FILE and --send")
    if rate is not None and not send:
        raise typer.BadParameter("--rate paces --send; a file is written at once")
    mix = Mix(
        invalid=invalid, malformed=malformed, repeated=repeated, duplicate_record=duplicates,
        adjudicate=adjudicate, enroll_failure=enroll_failures,
        malformed_variants=tuple(MalformedVariant) if send else JSON_LINES_MALFORMED,
    )
    try:
        submissions = iter_submissions(
            count, seed=seed, today=today.date() if today else None, office_code=office_code, mix=mix
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    tally: Counter[tuple[str, str, str]] = Counter()
    counted = _counting(submissions, tally)
    if out is not None:
        with out.open("wb") as stream:
            written = write_json_lines(counted, stream)
        where = f"wrote {written} submissions to {out} (JSON Lines)"
    else:
        sent = asyncio.run(enroll_submissions(settings(), counted, rate=rate))
        where = f"sent {sent} submissions to {ENROLLMENT_SUBMITTED.name}"
    console.print(_summary(tally))
    console.print(where)


def _counting(
    submissions: Iterable[GeneratedSubmission], tally: Counter[tuple[str, str, str]]
) -> Iterator[GeneratedSubmission]:
    for submission in submissions:
        expected = submission.central_decision or submission.expected
        tally[(submission.kind, submission.variant or "", expected)] += 1
        yield submission


def _summary(tally: Counter[tuple[str, str, str]]) -> Table:
    table = Table("kind", "variant", "expected", "count")
    for (kind, variant, expected), number in sorted(tally.items()):
        table.add_row(kind, variant, expected, str(number))
    return table
