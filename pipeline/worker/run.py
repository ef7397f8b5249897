"""Running a faust app as a worker: topics first, then faust, with the project's logging."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import socket
import sys
import threading
import time
from types import FrameType
from typing import Any

import faust

from pipeline.config import Settings
from pipeline.kafka.admin import ensure_topics
from pipeline.logs import configure_logging, dump_stacks_on_sigquit, get_logger
from pipeline.processes.event_loop import event_loop_in_use
from pipeline.topology.acls import WORKER_ROLE
from pipeline.topology.routes import co_partitioned
from pipeline.topology.topics import REGISTRY
from pipeline.worker.agents.kafka_io import changelog_specs
from pipeline.worker.co_partitioning import check_co_partitioned
from pipeline.worker.metrics import serve_metrics

log = get_logger(__name__)


def run_worker(app: faust.App, settings: Settings) -> None:
    """Create the registry's topics, then run `app` until SIGTERM or Ctrl-C.

    Topics, the tables' changelogs among them, must exist before the consumer subscribes: a topic created
    later is seen only at the next metadata refresh, minutes away, and the worker would sit idle until then.
    """
    configure_logging(settings)
    changelogs = changelog_specs(app)
    outcomes = asyncio.run(ensure_topics(settings, [*REGISTRY, *changelogs], role=WORKER_ROLE))
    log.info("topics ready", created=[o.name for o in outcomes if o.outcome == "created"])
    for outcome in outcomes:
        if outcome.outcome == "mismatch":
            log.warning("topic differs from what the registry and settings want", topic=outcome.name,
                        detail=outcome.detail)
    asyncio.run(check_co_partitioned(settings, [*(spec.name for spec in co_partitioned()),
                                                *(spec.name for spec in changelogs)]))
    app.conf.broker_client_id = worker_client_id()  # how the dashboard and the group's logs name this worker
    log.info("worker starting", client_id=app.conf.broker_client_id, event_loop=event_loop_in_use())
    serve_metrics(settings.worker_metrics_port, settings.metrics_host)
    # faust would replace the root logger's handlers; ours mask NIKs, so it must leave them alone.
    worker = DeadlineWorker(app, stop_timeout=settings.worker_stop_timeout, loglevel=settings.log_level,
                            override_logging=False)
    dump_stacks_on_sigquit(lambda: log.warning("consumer state on SIGQUIT", **consumer_state(app)))
    keep_startup_objects_out_of_collections()
    worker.execute_from_commandline()


# Allocations between two collections of the youngest generation (Python's default: 700). A batch's messages,
# models and futures are freed by their reference counts long before that; collecting every 700 allocations
# walked the same live batch again and again.
YOUNG_COLLECTION_THRESHOLD = 50_000


def keep_startup_objects_out_of_collections() -> None:
    """Move every object alive now (modules, classes, the app) out of the garbage collector's sight for good,
    and collect the young generation less often.

    The startup objects live as long as the process; without this, each full collection walks all of them
    again, and a worker's steps allocate enough to run one every few seconds. The table's entries are bytes
    (`CitizenTable`), which the collector never walks, so what it still tracks is the work in flight.
    """
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


class DeadlineWorker(faust.Worker):
    """faust's worker, which must stop within `stop_timeout` seconds of SIGTERM or Ctrl-C.

    faust's own stop can wait for ever on an agent that never finishes (`end_batches_when_stopping` mends
    the known case). A worker that will not stop holds its partitions, and `ektp down`, a container runtime
    or systemd kill it anyway, silently. Past the deadline, this one writes what it is stuck on to its log
    (`dump_stacks_on_sigquit`) and exits with `STOP_TIMED_OUT`. Nothing is lost: offsets are committed only
    after processing and every step is idempotent (`tests/unit/pipeline/worker/test_run.py`).
    """

    def __init__(self, app: faust.App, *, stop_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.stop_timeout = stop_timeout
        self._deadline: threading.Timer | None = None

    def _install_signal_handlers_unix(self) -> None:
        super()._install_signal_handlers_unix()  # the loop's handlers, which start faust's stop
        # The deadline starts in the signal's own Python handler, not in the loop's, so that a worker whose
        # loop never gets to its SIGTERM is cut short too. The loop still hears of the signal, through the
        # wakeup file that asyncio sets for any Python handler.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._start_stop_deadline)

    def _start_stop_deadline(self, _signum: int, _frame: FrameType | None) -> None:
        if self._deadline is None:
            self._deadline = exit_after(self.stop_timeout)

STOP_TIMED_OUT = 3  # the exit status of a worker cut short at its stop deadline


def worker_client_id() -> str:
    """`ektp-worker-<host>-<pid>`: the Kafka client id of this worker, unique among the group's members."""
    return f"ektp-worker-{socket.gethostname()}-{os.getpid()}"


def exit_after(seconds: float) -> threading.Timer:
    """In `seconds`, unless the process has ended: log it, dump the stacks (SIGQUIT), exit `STOP_TIMED_OUT`."""

    def cut_short() -> None:
        # Written straight to the log's file descriptor: the logging locks may be what the process hangs on.
        line = {"event": "did not stop in time; its stacks follow, then it exits", "waited_s": seconds,
                "level": "error", "logger": __name__}
        os.write(sys.stderr.fileno(), (json.dumps(line) + "\n").encode())
        os.kill(os.getpid(), signal.SIGQUIT)
        time.sleep(2.0)  # the main thread writes the tasks' chains and the consumer's state meanwhile
        sys.stderr.flush()
        os._exit(STOP_TIMED_OUT)

    timer = threading.Timer(seconds, cut_short)
    timer.daemon = True
    timer.start()
    return timer


def consumer_state(app: faust.App) -> dict[str, Any]:
    """Where the worker's consumer stands, per partition: what `ektp` writes to the log on SIGQUIT.

    faust's offsets (read, committed) and aiokafka's (fetch position, paused, records fetched and not yet
    taken) side by side: a partition that stopped moving shows which of the two stopped it.
    """
    consumer: Any = app.consumer  # faust's aiokafka Consumer; these are its private fields, read only
    kafka = consumer._thread._ensure_consumer()
    assignment = kafka._subscription.subscription.assignment if kafka._subscription.subscription else None
    partitions = {}
    for tp in sorted(consumer.assignment()):
        state = assignment.state_value(tp) if assignment is not None else None
        partitions[f"{tp.topic}[{tp.partition}]"] = {
            "read": consumer._read_offset.get(tp), "committed": consumer._committed_offset.get(tp),
            "faust_paused": tp in consumer._paused_partitions,
            "position": state.position if state is not None and state.has_valid_position else None,
            "kafka_paused": state.paused if state is not None else None,
            "fetched_waiting": tp in kafka._fetcher._records,
        }
    return {"flow_active": consumer.flow_active, "unacked": len(consumer._unacked_messages),
            "partitions": partitions}
