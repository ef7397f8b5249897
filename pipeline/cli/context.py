"""What every command needs: the settings, built once, and logging configured from them."""

from __future__ import annotations

import functools

from rich.console import Console

from pipeline.config import Settings
from pipeline.logs import configure_logging

console = Console(highlight=False, soft_wrap=True)  # a long line stays one line in a pipe or a log


@functools.cache
def settings() -> Settings:
    """The settings of this invocation, built on first use; logging is configured with them."""
    built = Settings()
    configure_logging(built)
    return built
