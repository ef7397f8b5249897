"""`ektp worker`: run the stream processors until SIGTERM or Ctrl-C."""

from __future__ import annotations

from pipeline.agents import build_app
from pipeline.cli.context import settings
from pipeline.worker import run_worker


def worker() -> None:
    """Run the pipeline's stream processors (intake, status tracker) on the configured broker."""
    current = settings()
    run_worker(build_app(current), current)
