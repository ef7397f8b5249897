"""Is a service answering? The readiness probe of `ektp up`, and the worker's and dashboard's look at central."""

from __future__ import annotations

import aiohttp


async def http_ok(url: str) -> bool:
    """True when `url` answers 200 within a second."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as session, \
                session.get(url) as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False
