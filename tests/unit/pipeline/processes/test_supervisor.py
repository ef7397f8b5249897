"""`ektp down` on a process that does not stop: its stacks reach its log, then it is killed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.processes.supervisor import Service, Supervisor

# Each ignores SIGTERM and dumps its stacks on SIGQUIT as the worker and the station do.
# This one blocks its only thread: only faulthandler's thread stacks can say where.
BLOCKED_THREAD = """
import signal, time
from pipeline.logs import dump_stacks_on_sigquit
signal.signal(signal.SIGTERM, signal.SIG_IGN)
dump_stacks_on_sigquit()
print("ready", flush=True)
def stuck_in_a_blocking_call():
    time.sleep(600)
stuck_in_a_blocking_call()
"""

# This one's event loop runs, but a task waits for ever: the thread stacks show only the loop's `select`,
# and the task's await chain says what it waits for.
WAITING_TASK = """
import asyncio, signal
from pipeline.logs import dump_stacks_on_sigquit
signal.signal(signal.SIGTERM, signal.SIG_IGN)
dump_stacks_on_sigquit()
async def batches():
    while True:
        await asyncio.Event().wait()
        yield []
async def stop_that_never_ends():
    async for _batch in batches():
        pass
async def main():
    stopping = asyncio.create_task(stop_that_never_ends(), name="stopping")
    print("ready", flush=True)
    await stopping
asyncio.run(main())
"""


@pytest.mark.parametrize(("program", "where"), [
    (BLOCKED_THREAD, "stuck_in_a_blocking_call"),
    (WAITING_TASK, "Task stopping: stop_that_never_ends > batches > Event.wait"),
])
async def test_a_process_deaf_to_sigterm_leaves_its_stacks_in_its_log_and_is_killed(
    tmp_path: Path, program: str, where: str,
) -> None:
    supervisor = Supervisor(Settings(run_dir=tmp_path))

    async def printed_ready() -> bool:
        return "ready" in supervisor.log_path("stubborn").read_text(errors="replace")

    await supervisor.start(Service("stubborn", [sys.executable, "-c", program], printed_ready), timeout=30)

    assert supervisor.stop("stubborn", timeout=1.0)

    assert supervisor.running() == []
    assert supervisor.killed == ["stubborn"]
    log = supervisor.log_path("stubborn").read_text(errors="replace")
    assert "most recent call first" in log
    assert where in log
