"""`ektp pickup REQUEST_ID --fingerprint DIGEST`: the pickup desk presents a citizen's finger."""

from __future__ import annotations

import asyncio
import datetime as dt

import typer

from events.enrollment import Finger
from events.pickup import PickupRequested
from pipeline.cli.context import console, settings
from pipeline.desk.pickup import request_pickup


def pickup(
    request_id: str = typer.Argument(..., help="The request whose card is collected"),
    fingerprint: str = typer.Option(..., "--fingerprint", help="SHA-256 digest of the presented finger's template"),
    finger: Finger = typer.Option(Finger.RIGHT_THUMB, "--finger", help="Which finger is presented"),
    desk_id: str = typer.Option("AMBIL-01", "--desk", help="The pickup desk"),
) -> None:
    """Ask for a card to be handed over; it is, only if the finger matches the enrolled one."""
    request = PickupRequested(
        request_id=request_id, finger=finger, fingerprint=fingerprint, desk_id=desk_id,
        requested_at=dt.datetime.now(dt.UTC),
    )
    asyncio.run(request_pickup(settings(), request))
    console.print(f"pickup requested for {request_id} at desk {desk_id}; see `ektp status {request_id}`")
