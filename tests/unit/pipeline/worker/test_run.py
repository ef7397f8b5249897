"""A worker whose stop hangs is cut short at its deadline, and leaves in its log what it was stuck on; what it
keeps from the garbage collector."""

from __future__ import annotations

import json
import subprocess
import sys

from pipeline.worker.run import STOP_TIMED_OUT, YOUNG_COLLECTION_THRESHOLD

# What `DeadlineWorker` does on SIGTERM, in a process whose "stop" then never ends.
HANGING_STOP = """
import time
from pipeline.logs import dump_stacks_on_sigquit
from pipeline.worker.run import exit_after
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


# The worker's own wiring: SIGTERM starts the deadline in the signal's Python handler, and the event loop
# still hears of it (faust's stop starts there). faust's handler is replaced by a flag for the test.
SIGTERM_TO_A_WORKER = """
import asyncio, os, signal, faust
from pipeline.worker.run import DeadlineWorker
async def main():
    loop = asyncio.get_running_loop()
    app = faust.App("deadline-test", broker="kafka://127.0.0.1:1", autodiscover=False, web_enabled=False,
                    loop=loop)
    worker = DeadlineWorker(app, stop_timeout=60, loglevel="info", override_logging=False, loop=loop)
    heard = asyncio.Event()
    worker._on_sigterm = heard.set
    worker.install_signal_handlers()
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(heard.wait(), 10)
    print("loop heard SIGTERM; deadline started:", worker._deadline is not None, flush=True)
    worker._deadline.cancel()
asyncio.run(main())
"""


def test_sigterm_starts_the_deadline_and_still_reaches_fausts_stop() -> None:
    done = subprocess.run([sys.executable, "-c", SIGTERM_TO_A_WORKER], capture_output=True, text=True, timeout=60,
                          check=False)

    assert done.returncode == 0, done.stderr
    assert "loop heard SIGTERM; deadline started: True" in done.stdout


# In a process of its own: what the worker does to the garbage collector lasts for the process.
COLLECTOR_AT_START = """
import gc, json
from pipeline.worker.run import keep_startup_objects_out_of_collections
alive_before = [{"entry": n} for n in range(1000)]
keep_startup_objects_out_of_collections()
made_after = [{"entry": n} for n in range(10)]
print(json.dumps({"frozen": gc.get_freeze_count(), "threshold": gc.get_threshold(),
                  "walked": sum(1 for o in gc.get_objects() if o is alive_before or o is made_after)}))
"""


def test_the_worker_s_startup_objects_are_never_walked_again_by_a_collection() -> None:
    done = subprocess.run([sys.executable, "-c", COLLECTOR_AT_START], capture_output=True, text=True, timeout=60,
                          check=True)
    seen = json.loads(done.stdout)

    assert seen["frozen"] >= 1000, "everything alive at startup is in the permanent generation"
    assert seen["walked"] == 1, "the collector still walks what is made after startup, and only that"
    assert seen["threshold"][0] == YOUNG_COLLECTION_THRESHOLD


# A worker's event loop exists before it freezes its startup objects: SIGQUIT still finds it and its tasks.
SIGQUIT_AFTER_FREEZE = """
import asyncio, os, signal
from pipeline.logs import dump_stacks_on_sigquit
from pipeline.worker.run import keep_startup_objects_out_of_collections
async def waiting_for_a_record_that_never_comes():
    await asyncio.Event().wait()
async def main():
    task = asyncio.create_task(waiting_for_a_record_that_never_comes())
    keep_startup_objects_out_of_collections()
    dump_stacks_on_sigquit()
    await asyncio.sleep(0)
    os.kill(os.getpid(), signal.SIGQUIT)
    await asyncio.sleep(0)
    task.cancel()
asyncio.run(main())
"""


def test_sigquit_describes_the_tasks_of_a_loop_frozen_at_startup() -> None:
    done = subprocess.run([sys.executable, "-c", SIGQUIT_AFTER_FREEZE], capture_output=True, text=True,
                          timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    assert "waiting_for_a_record_that_never_comes" in done.stderr
