"""`ektp desk run|status`: a recording desk that keeps recording while the office's broker is down."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Annotated

import typer

from pipeline.cli.context import console, settings
from pipeline.desk.enroll import DESK_ROLE
from pipeline.desk.outbox import Outbox, outbox_path
from pipeline.desk.runner import DeskRunner, desk_lock, desk_running
from pipeline.kafka.admin import broker_answers
from pipeline.logs import dump_stacks_on_sigquit

app = typer.Typer(help="The recording desk: a durable outbox in front of the broker.", no_args_is_help=True)

DeskOption = Annotated[str, typer.Option("--desk", help="Desk id, e.g. REKAM-01")]


@app.command()
def run(*, desk: DeskOption) -> None:
    """Run desk DESK until SIGTERM or Ctrl-C: send its outbox whenever the broker answers, and report it."""
    current = settings()
    dump_stacks_on_sigquit()

    async def serve() -> None:
        runner = DeskRunner(current, desk)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, runner.stop)
        await runner.run()

    with desk_lock(current.run_dir, desk):
        asyncio.run(serve())


@app.command()
def status(
    *,
    desk: DeskOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON")] = False,
) -> None:
    """What waits at desk DESK for the office's broker, and whether the broker answers now."""
    current = settings()
    with Outbox(outbox_path(current.run_dir, desk), desk) as outbox:
        state = outbox.state()
    broker = "up" if asyncio.run(broker_answers(current, role=DESK_ROLE, timeout=2.0)) else "down"
    document = {
        "desk_id": desk, "pending": state.pending,
        "oldest_pending_at": None if state.oldest_pending_at is None else state.oldest_pending_at.isoformat(),
        "broker": broker, "sent": state.sent, "running": desk_running(current.run_dir, desk),
    }
    if as_json:
        print(json.dumps(document))
        return
    oldest = "" if state.oldest_pending_at is None else f", the oldest saved {state.oldest_pending_at:%H:%M:%S %Z}"
    console.print(f"desk {desk}: {state.pending} waiting for the office server{oldest}; {state.sent} sent; "
                  f"broker {broker}; desk process {'running' if document['running'] else 'not running'}")
