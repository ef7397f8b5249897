"""`ektp down` on a process that does not stop: its stacks reach its log, then it is killed."""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.config import Settings
from pipeline.supervisor import Service, Supervisor

# Ignores SIGTERM, dumps its stacks on SIGQUIT as the worker and the station do, and blocks its only thread.
STUBBORN = """
import signal, time
from pipeline.logs import dump_stacks_on_sigquit
signal.signal(signal.SIGTERM, signal.SIG_IGN)
dump_stacks_on_sigquit()
print("ready", flush=True)
def stuck_in_a_blocking_call():
    time.sleep(600)
stuck_in_a_blocking_call()
"""


async def test_a_process_deaf_to_sigterm_leaves_its_stacks_in_its_log_and_is_killed(tmp_path: Path) -> None:
    supervisor = Supervisor(Settings(run_dir=tmp_path))

    async def printed_ready() -> bool:
        return "ready" in supervisor.log_path("stubborn").read_text(errors="replace")

    await supervisor.start(Service("stubborn", [sys.executable, "-c", STUBBORN], printed_ready), timeout=30)

    assert supervisor.stop("stubborn", timeout=1.0)

    assert supervisor.running() == []
    assert supervisor.killed == ["stubborn"]
    log = supervisor.log_path("stubborn").read_text(errors="replace")
    assert "most recent call first" in log
    assert "stuck_in_a_blocking_call" in log
