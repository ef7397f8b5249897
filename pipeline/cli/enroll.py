"""`ektp enroll FILE`: send a desk's file of submissions to `ektp.enrollment.submitted`, bytes unchanged."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.context import console, settings
from pipeline.desk.enroll import enroll_submissions, read_submission_file
from pipeline.desk.record import record_at_desk
from pipeline.topology.topics import ENROLLMENT_SUBMITTED


def enroll_file(
    file: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, readable=True,
        help="JSON Lines (one submission a line), or one JSON object, or a JSON array of them",
    )],
    rate: Annotated[float | None, typer.Option(min=0.001, help="At most this many submissions a second")] = None,
    desk: Annotated[str | None, typer.Option(
        "--desk", help="Save them in this desk's outbox first, so they wait there while the broker is down",
    )] = None,
) -> None:
    """Send every submission of FILE as it is (malformed ones too: the intake rejects them), keyed by NIK."""
    submissions = read_submission_file(file)
    if desk is not None:
        if rate is not None:
            raise typer.BadParameter("--rate is for sending straight to Kafka; a desk sends as fast as it can",
                                     param_hint="--rate")
        recorded = asyncio.run(record_at_desk(settings(), desk, submissions))
        if recorded.pending == 0:
            console.print(f"saved at desk {desk} and sent: {recorded.saved} submissions from {file} "
                          f"to {ENROLLMENT_SUBMITTED.name}")
        else:
            sender = (f"desk {desk} sends them" if recorded.sent_by == "desk process"
                      else f"`ektp desk run --desk {desk}` sends them")
            console.print(f"saved at the desk: {recorded.saved} submissions from {file}; {recorded.pending} "
                          f"waiting for the office server ({sender} when it answers)")
        return
    sent = asyncio.run(enroll_submissions(settings(), submissions, rate=rate))
    without_key = sum(submission.key is None for submission in submissions)
    console.print(
        f"sent {sent} submissions from {file} to {ENROLLMENT_SUBMITTED.name}"
        + (f" ({without_key} without a key: no readable resident.nik)" if without_key else "")
    )
