"""`ektp worker`: run the stream processors until SIGTERM or Ctrl-C."""

from __future__ import annotations

from pipeline.cli.context import settings
from pipeline.worker.build import build_app
from pipeline.worker.run import run_worker


def worker() -> None:
    """Run one worker of the pipeline's stream processors; any number may join its group and share the partitions."""
    current = settings()
    run_worker(build_app(current), current)
