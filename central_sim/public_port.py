"""The public port as the outage sees it: a listener that `down` really closes, and the hang gate.

Closing means closing the listening socket (clients get ECONNREFUSED) and asking every open keep-alive
connection to close once its current answer is sent; reopening binds the same port again.
"""

from __future__ import annotations

import asyncio

import structlog
from aiohttp import web

from central_sim.faults import OutageWindow

log = structlog.get_logger("central_sim.public_port")


class PublicPort:
    """The listening socket of the public app, opened and closed on demand."""

    def __init__(self, runner: web.AppRunner, host: str, port: int) -> None:
        self._runner = runner
        self._host = host
        self.port = port  # 0 until the first bind when an ephemeral port was asked for
        self._site: web.TCPSite | None = None

    @property
    def is_open(self) -> bool:
        return self._site is not None

    async def open(self) -> None:
        """Listen (again); raises OSError when the port is taken."""
        if self._site is not None:
            return
        site = web.TCPSite(self._runner, self._host, self.port)
        await site.start()
        self._site = site
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        """Stop listening, and close the connections already open once their answers are sent."""
        if self._site is None:
            return
        site, self._site = self._site, None
        await site.stop()
        server = self._runner.server
        if server is not None:
            for connection in server.connections:
                connection.close()


class HangGate:
    """Holds the requests that arrive during a `hang` window until that window is no longer in force."""

    def __init__(self) -> None:
        self._window: OutageWindow | None = None
        self._released = asyncio.Event()

    def gate(self, window: OutageWindow) -> asyncio.Event:
        """The event that is set when `window` (a hang) ends."""
        if self._window != window:
            self.release()
            self._window = window
            self._released = asyncio.Event()
        return self._released

    def follow(self, in_force: OutageWindow) -> None:
        """Release the held requests when the hang that holds them is no longer in force."""
        if self._window is not None and self._window != in_force:
            self.release()

    def release(self) -> None:
        """Let every held request go (each is answered 503)."""
        if self._window is not None:
            log.info("hang released")
        self._window = None
        self._released.set()
