"""`ektp enroll --desk`: a file's submissions saved in the desk's outbox first, then sent if the broker answers.

When the desk process runs, it sends them (the same outbox); when it does not, this command sends the
outbox itself, under the desk's lock, so that the two never send side by side. Either way nothing is lost
when the broker is down: the submissions wait at the desk, and the answer says how many.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.config import Settings
from pipeline.desk.enroll import KeyedMessage
from pipeline.desk.outbox import DeskError, Outbox, outbox_path
from pipeline.desk.runner import DeskRunner, DeskTiming, desk_lock, desk_running, status_path

# Seconds `ektp enroll --desk` waits for a running desk process to send what it saved, so it can say so.
HANDOFF_WAIT = 5.0
# Seconds a desk-less `ektp enroll --desk` gives the broker to acknowledge a batch.
DIRECT_SEND_TIMEOUT = 10.0


@dataclass(frozen=True)
class Recorded:
    """What became of a file's submissions at a desk."""

    desk_id: str
    saved: int
    pending: int  # the desk's whole outbox, after this command's attempt
    sent_by: str  # "desk process" or "this command"


async def record_at_desk(settings: Settings, desk_id: str, submissions: Sequence[KeyedMessage]) -> Recorded:
    """Save `submissions` in the desk's outbox (synced), then have them sent if the broker answers."""
    path = outbox_path(settings.run_dir, desk_id)
    with Outbox(path, desk_id) as outbox:
        saved = outbox.save((submission.key, submission.value) for submission in submissions)
    if desk_running(settings.run_dir, desk_id):
        return Recorded(desk_id, saved, await _handed_over(settings, desk_id), "desk process")
    try:
        with desk_lock(settings.run_dir, desk_id):
            runner = DeskRunner(settings, desk_id, DeskTiming(send_timeout=DIRECT_SEND_TIMEOUT))
            try:
                await runner.drain_once()
            finally:
                runner.close()
    except DeskError:  # a desk process started in the meantime: it sends them
        return Recorded(desk_id, saved, await _handed_over(settings, desk_id), "desk process")
    with Outbox(path, desk_id) as outbox:
        return Recorded(desk_id, saved, outbox.state().pending, "this command")


async def _handed_over(settings: Settings, desk_id: str) -> int:
    """Wait a moment for the running desk to send the outbox; the number still pending after it."""
    path = outbox_path(settings.run_dir, desk_id)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANDOFF_WAIT
    with Outbox(path, desk_id) as outbox:
        while True:
            pending = outbox.state().pending
            if not pending or loop.time() >= deadline or not _desk_sees_broker(settings, desk_id):
                return pending
            await asyncio.sleep(0.1)  # the desk is another process: its outbox file is all there is to watch


def _desk_sees_broker(settings: Settings, desk_id: str) -> bool:
    """What the running desk last wrote of the broker: no point waiting while it says `down`."""
    try:
        return bool(json.loads(status_path(settings.run_dir, desk_id).read_text()).get("broker") == "up")
    except (OSError, ValueError):
        return True
