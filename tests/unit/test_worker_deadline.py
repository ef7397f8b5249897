"""A worker whose stop hangs is cut short at its deadline, and leaves in its log what it was stuck on."""

from __future__ import annotations

import subprocess
import sys

from pipeline.worker import STOP_TIMED_OUT

# What `DeadlineWorker` does on SIGTERM, in a process whose "stop" then never ends.
HANGING_STOP = """
import time
from pipeline.logs import dump_stacks_on_sigquit
from pipeline.worker import exit_after
dump_stacks_on_sigquit()
exit_after(0.5)
def stop_that_never_ends():
    time.sleep(60)
stop_that_never_ends()
"""


def test_a_stop_past_its_deadline_dumps_the_stacks_and_exits_with_its_own_status() -> None:
    done = subprocess.run([sys.executable, "-c", HANGING_STOP], capture_output=True, text=True, timeout=30,
                          check=False)

    assert done.returncode == STOP_TIMED_OUT, done.stderr
    output = done.stdout + done.stderr
    assert "did not stop in time" in output
    assert "stop_that_never_ends" in output  # the stack says where it hung
