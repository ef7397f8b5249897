"""Running a faust app as a worker: topics first, then faust, with the project's logging."""

from __future__ import annotations

import asyncio

import faust

from pipeline.admin import ensure_topics
from pipeline.agents.kafka_io import changelog_specs
from pipeline.config import Settings
from pipeline.logs import configure_logging, dump_stacks_on_sigquit, get_logger
from pipeline.metrics import serve_metrics
from pipeline.topics import REGISTRY

log = get_logger(__name__)


def run_worker(app: faust.App, settings: Settings) -> None:
    """Create the registry's topics, then run `app` until SIGTERM or Ctrl-C.

    Topics, the tables' changelogs among them, must exist before the consumer subscribes: a topic created
    later is seen only at the next metadata refresh, minutes away, and the worker would sit idle until then.
    """
    configure_logging(settings)
    dump_stacks_on_sigquit()
    outcomes = asyncio.run(ensure_topics(settings, [*REGISTRY, *changelog_specs(app)]))
    log.info("topics ready", created=[o.name for o in outcomes if o.outcome == "created"])
    serve_metrics(settings.worker_metrics_port, settings.metrics_host)
    # faust would replace the root logger's handlers; ours mask NIKs, so it must leave them alone.
    worker = faust.Worker(app, loglevel=settings.log_level, override_logging=False)
    worker.execute_from_commandline()
