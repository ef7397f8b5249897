"""The supervisor's processes: one that does not stop leaves its stacks in its log and is killed; one that died
without `stop`, or that another supervisor stopped, leaves no handle behind that thinks it still runs."""

from __future__ import annotations

import gc
import os
import signal
import sys
import warnings
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.processes.supervisor import Service, Supervisor, command_line
from tests.support.waiting import wait_until

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


async def _always() -> bool:
    return True


# A service ready at once that would run for a minute: each test ends it itself.
SLEEPER = Service("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], _always)


async def test_a_service_that_died_without_stop_is_forgotten_cleanly_when_started_again(tmp_path: Path) -> None:
    """A worker SIGKILLed (as the chaos suite does) and started again: the first process's Popen learns it ended.

    Dropped without knowing, it would warn, as it is collected, that a dead process "is still running".
    """
    supervisor = Supervisor(Settings(run_dir=tmp_path))
    first = await supervisor.start(SLEEPER)
    os.kill(first.pid, signal.SIGKILL)
    wait_until(lambda: supervisor.pid_of("sleeper") is None, timeout=10.0, what="the SIGKILLed sleeper is gone")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        second = await supervisor.start(SLEEPER)
        gc.collect()
    supervisor.stop("sleeper", timeout=10.0)

    assert second.started
    assert second.pid != first.pid
    assert [str(warning.message) for warning in caught if issubclass(warning.category, ResourceWarning)] == []
    assert supervisor.running() == []


async def test_a_process_one_supervisor_started_and_another_stopped_leaves_no_handle_behind(tmp_path: Path) -> None:
    """`ektp demo` (`up`, then `down`) and the tests' fixtures stop by pid file what another supervisor of the
    process started: the starter's handle learns the process ended, and is collected without warning."""
    settings = Settings(run_dir=tmp_path)
    starter = Supervisor(settings)
    await starter.start(SLEEPER)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert Supervisor(settings).stop("sleeper", timeout=10.0)
        del starter
        gc.collect()

    assert [str(warning.message) for warning in caught if issubclass(warning.category, ResourceWarning)] == []
    assert Supervisor(settings).running() == []


def test_a_command_line_read_while_the_exec_sets_it_up_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after `Popen` returns, the child's command line can read empty: it is read again, not taken as
    another program's (which would make `stop` leave the process running)."""
    empty_reads = 2
    read_bytes = Path.read_bytes

    def settling(path: Path) -> bytes:
        nonlocal empty_reads
        if path.name == "cmdline" and empty_reads:
            empty_reads -= 1
            return b""
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", settling)
    own = [part.decode() for part in read_bytes(Path("/proc/self/cmdline")).split(b"\0")[:-1]]
    assert command_line(os.getpid()) == own
    assert empty_reads == 0
