"""`python -m central_sim`: run the simulated central server until SIGTERM or SIGINT.

Flags override the `EKTP_CENTRAL_*` environment. One JSON line on stdout says when both ports listen;
logs are JSON lines on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import structlog

from central_sim.config import CentralSettings
from central_sim.errors import CentralSimError
from central_sim.logs import configure_logging
from central_sim.server import CentralServer

log = structlog.get_logger("central_sim")

READY_EVENT = "central-sim ready"


def parse_args(argv: list[str] | None = None) -> dict[str, Any]:
    """The flags given, as settings overrides (flags not given leave the environment's value)."""
    parser = argparse.ArgumentParser(
        prog="python -m central_sim", description="The simulated central server of Ditjen Dukcapil.",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument("--host", help="address both ports listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, help="public port (8600)")
    parser.add_argument("--admin-port", type=int, help="admin port, never taken down (public port + 1)")
    parser.add_argument("--data-dir", type=Path, help="folder of central's store (<checkout>/.ektp/central)")
    parser.add_argument("--admin-token", help="bearer token of the admin API (prefer EKTP_CENTRAL_ADMIN_TOKEN)")
    parser.add_argument("--rate-per-second", type=float, help="enrollments per second; 0 = no limit (1000)")
    parser.add_argument("--burst", type=int, help="token-bucket size (2000)")
    parser.add_argument("--latency-ms", type=float, help="base latency of a call, ms (20)")
    parser.add_argument("--jitter-ms", type=float, help="latency jitter, +/- ms (10)")
    parser.add_argument("--max-batch", type=int, help="most enrollments in one batch call (500)")
    parser.add_argument("--issuer", help="`iss` of the decision tokens (ditjen-dukcapil-central-sim)")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"], help="log level (info)")
    return dict(vars(parser.parse_args(argv)))


async def serve(settings: CentralSettings) -> None:
    """Start, say so on stdout, run until a stop signal, stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = CentralServer(settings)
    try:
        await server.start()
    except BaseException:
        await server.stop()
        raise
    ready = {
        "event": READY_EVENT, "host": settings.host, "port": server.public_port.port,
        "admin_port": server.admin_port, "kid": server.signing_key.kid, "data_dir": str(settings.data_dir),
        "pid": os.getpid(),
    }
    print(json.dumps(ready), flush=True)  # the ready line: this program's one output
    log.info("central-sim listening", port=server.public_port.port, admin_port=server.admin_port)
    await stop.wait()
    log.info("central-sim stopping")
    await server.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; the exit status."""
    overrides = parse_args(argv)
    settings = CentralSettings(**overrides)
    configure_logging(settings.log_level)
    try:
        asyncio.run(serve(settings))
    except (OSError, CentralSimError) as error:
        log.error("central-sim cannot start", error=str(error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
