"""The event loop of every process the project starts: uvloop, unless the settings say `asyncio`.

A step of the pipeline is Kafka I/O around short pieces of work, and much of what a worker spends beyond the
steps' own work is the event loop's: its callbacks and sockets, and faust's hand-over between its consumer's
thread and the agents. uvloop runs the same asyncio programs on libuv, in C.

The choice is made once, first thing in a process (`ektp`'s `main`, the bench's faust relay), as the event
loop policy: every loop made after it is of that kind, `asyncio.run`'s, faust's worker's and the loop of
faust's consumer thread among them. `EKTP_EVENT_LOOP=asyncio` goes back to Python's own loop.
"""

from __future__ import annotations

import asyncio

import uvloop

from pipeline.config import EventLoop


def use_event_loop(kind: EventLoop) -> None:
    """Make every event loop this process creates from now on of `kind`."""
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy() if kind == "uvloop" else None)


def event_loop_in_use() -> EventLoop:
    """The kind of loop this process makes (`uvloop` or `asyncio`): what the logs and the bench report."""
    return "uvloop" if isinstance(asyncio.get_event_loop_policy(), uvloop.EventLoopPolicy) else "asyncio"
