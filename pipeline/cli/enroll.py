"""`ektp enroll FILE`: send a desk's file of submissions to `ektp.enrollment.submitted`, bytes unchanged."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.context import console, settings
from pipeline.desk.enroll import enroll_submissions, read_submission_file
from pipeline.topology.topics import ENROLLMENT_SUBMITTED


def enroll_file(
    file: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, readable=True,
        help="JSON Lines (one submission a line), or one JSON object, or a JSON array of them",
    )],
    rate: Annotated[float | None, typer.Option(min=0.001, help="At most this many submissions a second")] = None,
) -> None:
    """Send every submission of FILE as it is (malformed ones too: the intake rejects them), keyed by NIK."""
    submissions = read_submission_file(file)
    sent = asyncio.run(enroll_submissions(settings(), submissions, rate=rate))
    without_key = sum(submission.key is None for submission in submissions)
    console.print(
        f"sent {sent} submissions from {file} to {ENROLLMENT_SUBMITTED.name}"
        + (f" ({without_key} without a key: no readable resident.nik)" if without_key else "")
    )
