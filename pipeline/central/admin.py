"""central-sim's admin API (outages), as `ektp central` and `ektp bench dlq` call it."""

from __future__ import annotations

from typing import Any

import aiohttp

from pipeline.config import Settings
from pipeline.errors import EktpError


async def call_outage_admin(settings: Settings, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """`GET` or `POST /admin/outage` on central-sim's admin port; its answer as JSON."""
    url = settings.central_admin_url.rstrip("/") + "/admin/outage"
    headers = {"Authorization": f"Bearer {settings.central_admin_token.get_secret_value()}"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
                session.request(method, url, json=body, headers=headers) as response:
            payload = await response.json(content_type=None)
            if response.status != 200:
                raise EktpError(f"central-sim's admin API answered {response.status}: {payload}")
            result: dict[str, Any] = payload
            return result
    except aiohttp.ClientError as error:
        raise EktpError(f"cannot reach central-sim's admin API at {url}: {error}") from error
