"""Striking central-sim's link from a test, through its admin API."""

from __future__ import annotations

import aiohttp

from pipeline.config import Settings


async def outage(settings: Settings, mode: str, **options: float | None) -> None:
    """Put central-sim's link in `mode` (down, hang, flaky, slow, clear)."""
    headers = {"Authorization": f"Bearer {settings.central_admin_token.get_secret_value()}"}
    async with aiohttp.ClientSession() as session, session.post(
        settings.central_admin_url + "/admin/outage", json={"mode": mode, **options}, headers=headers
    ) as response:
        assert response.status == 200, await response.text()
