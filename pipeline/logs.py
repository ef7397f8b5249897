"""Logging, configured once per process.

structlog renders JSON when stderr is not a terminal and readable lines when it is; per-message
context is bound with contextvars (`bind_message_context`). The standard library's loggers (faust,
aiokafka) go through the same processors, so every line, ours or a library's, passes `mask_niks`:
no full NIK reaches a log line (UU PDP).
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from events.masking import mask_everywhere
from pipeline.config import Settings

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def mask_niks(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask every 16-digit number in every field, however deeply nested.

    Runs after exception formatting, so a NIK inside an exception message or traceback is masked too.
    """
    return {key: mask_everywhere(value) for key, value in event_dict.items()}


def _renderer(settings: Settings) -> Processor:
    console = settings.log_format == "console" or (settings.log_format == "auto" and sys.stderr.isatty())
    if console:
        return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    return structlog.processors.JSONRenderer()


def shared_processors() -> list[Processor]:
    """The processors every line passes, ours or a library's, before it is rendered."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_niks,
    ]


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    """Configure structlog and the standard library's logging once for this process."""
    level = _LEVELS[settings.log_level]
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared_processors(),
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _renderer(settings)],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka narrates every rebalance and retry at INFO; its warnings are what an operator needs.
    logging.getLogger("aiokafka").setLevel(max(level, logging.WARNING))
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def bind_message_context(**context: Any) -> None:
    """Bind context (request_id, topic, partition, offset...) to every line logged for this message."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**context)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A logger named after its module."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def dump_stacks_on_sigquit() -> None:
    """On SIGQUIT, write every thread's stack to stderr, the process's log.

    `ektp down` and the tests send it to a process that did not stop on SIGTERM, just before SIGKILL: what
    it was stuck on is then in its log. It works even when the event loop is blocked.
    """
    faulthandler.register(signal.SIGQUIT, all_threads=True)


__all__ = ["bind_message_context", "configure_logging", "dump_stacks_on_sigquit", "get_logger", "mask_niks"]

