"""Waiting for a fact instead of sleeping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


def wait_until(fact: Callable[[], bool], *, timeout: float, what: str, every: float = 0.1) -> None:
    """Return as soon as `fact()` holds; fail with `what` when it has not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not fact():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting until {what}")
        time.sleep(every)


async def wait_until_async(
    fact: Callable[[], Awaitable[bool]], *, timeout: float, what: str, every: float = 0.1
) -> None:
    """`wait_until` for a fact that must be awaited."""
    deadline = time.monotonic() + timeout
    while not await fact():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting until {what}")
        await asyncio.sleep(every)
