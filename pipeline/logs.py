"""Logging, configured once per process.

structlog renders JSON when stderr is not a terminal and readable lines when it is; per-message
context is bound with contextvars (`bind_message_context`). The standard library's loggers (faust,
aiokafka) go through the same processors, so every line, ours or a library's, passes `mask_niks`:
no full NIK reaches a log line (UU PDP).
"""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import AsyncGeneratorType, CoroutineType, FrameType, GeneratorType
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


def every_tracked_object() -> list[Any]:
    """Every object the garbage collector tracks, those frozen at startup (`gc.freeze`) included.

    `gc.get_objects` leaves out the frozen ones, and a worker freezes what it holds at startup, its event loops
    among them; they are thawed for the count and frozen again, with what was made since (alive this long, it
    lives on).
    """
    frozen = gc.get_freeze_count()
    if frozen:
        gc.unfreeze()
    try:
        return gc.get_objects()
    finally:
        if frozen:
            gc.freeze()


def dump_stacks_on_sigquit(describe: Callable[[], None] | None = None) -> None:
    """On SIGQUIT, write every thread's stack, then every asyncio task's await chain, to stderr (the log).

    `ektp down` and the tests send it to a process that did not stop on SIGTERM, just before SIGKILL: what
    it was stuck on is then in its log. The threads' stacks come from `faulthandler`, so they are written
    even when the event loop is blocked. A thread's stack shows only the task running at that instant;
    what a stop is waiting for is in the tasks' chains, written as soon as the main thread runs Python,
    followed by whatever `describe` writes (the worker: where its consumer stands).
    """

    def on_sigquit(_signum: int, _frame: FrameType | None) -> None:
        # Every open loop: faust runs its Kafka consumer in a thread with a loop of its own.
        for loop in [obj for obj in every_tracked_object()
                     if isinstance(obj, asyncio.AbstractEventLoop) and not obj.is_closed()]:
            sys.stderr.write(waiting_tasks(loop))
        sys.stderr.flush()
        if describe is not None:
            try:
                describe()
            except Exception:  # a diagnosis must never be what kills the process
                logging.getLogger(__name__).exception("describing the process on SIGQUIT failed")

    signal.signal(signal.SIGQUIT, on_sigquit)
    faulthandler.register(signal.SIGQUIT, all_threads=True, chain=True)  # last: it calls the handler above


def waiting_tasks(loop: asyncio.AbstractEventLoop) -> str:
    """A line per unfinished task of `loop`: its await chain, outermost first, where it is, what it waits on."""
    tasks = sorted(asyncio.all_tasks(loop), key=lambda t: t.get_name())
    lines = ["", f"{len(tasks)} asyncio tasks of {loop!r}, each: its await chain, outermost first; where;"
                 " what it waits on"]
    for task in tasks:
        chain = _await_chain(task.get_coro())
        waits_on = getattr(task, "_fut_waiter", None)  # private, but this is a diagnosis: the future it awaits
        where = f"{'/'.join(Path(chain[-1].f_code.co_filename).parts[-2:])}:{chain[-1].f_lineno}" if chain else "?"
        names = " > ".join(frame.f_code.co_qualname for frame in chain)
        lines.append(f"Task {task.get_name()}: {names} ({where}) on {waits_on!r}")
    return "\n".join([*lines, ""])


def _await_chain(awaitable: Any) -> list[FrameType]:
    """The frames of `awaitable` and of what it awaits in turn, outermost first.

    Followed through coroutines, generators, async generators (an `async for` awaits an `asend` object,
    which shows its generator only to the garbage collector), wrappers such as faust's actors, and tasks.
    """
    frames: list[FrameType] = []
    for _depth in range(200):  # a chain is never this deep; a cycle must not hang the dump
        if awaitable is None:
            break
        if isinstance(awaitable, asyncio.Task):
            awaitable = awaitable.get_coro()
            continue
        frame = next((getattr(awaitable, name) for name in ("cr_frame", "gi_frame", "ag_frame")
                      if getattr(awaitable, name, None) is not None), None)
        if frame is not None:
            frames.append(frame)
            awaitable = next((getattr(awaitable, name) for name in ("cr_await", "gi_yieldfrom", "ag_await")
                              if getattr(awaitable, name, None) is not None), None)
        elif isinstance(awaitable, asyncio.Future):
            break
        else:
            awaitable = next((referent for referent in gc.get_referents(awaitable)
                              if isinstance(referent, _AWAITING)), None)
    return frames


_AWAITING = (CoroutineType, GeneratorType, AsyncGeneratorType, asyncio.Task)


__all__ = [
    "bind_message_context", "configure_logging", "dump_stacks_on_sigquit", "get_logger", "mask_niks", "waiting_tasks",
]

