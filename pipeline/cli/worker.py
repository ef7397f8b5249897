"""`ektp worker`: run the stream processors until SIGTERM or Ctrl-C."""

from __future__ import annotations

from pipeline.cli.context import settings
from pipeline.worker.build import build_app
from pipeline.worker.run import run_worker


def worker() -> None:
    """Run the pipeline's stream processors (intake, status tracker) on the configured broker."""
    current = settings()
    run_worker(build_app(current), current)
