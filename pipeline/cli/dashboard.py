"""`ektp dashboard`: the operators' page on `dashboard_host:dashboard_port` until SIGTERM or Ctrl-C."""

from __future__ import annotations

from pipeline.cli.context import settings
from pipeline.dashboard.server import serve


def dashboard() -> None:
    """Serve the operators' dashboard (loopback by default); actions need the token in dashboard.token."""
    serve(settings())
