"""The pipeline's processes beside the broker, as `ektp up` starts them and `ektp down` stops them."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from pipeline.config import Settings
from pipeline.probes import http_ok
from pipeline.processes.supervisor import Service

# Started in this order, stopped in the reverse: the broker starts before and stops after all of them.
ORDER = ("central-sim", "worker", "station", "dashboard")


def central_sim_argv(current: Settings, *extra: str) -> list[str]:
    """The command line that runs central_sim where the settings expect it."""
    public, admin = urlsplit(current.central_url), urlsplit(current.central_admin_url)
    return [
        sys.executable, "-m", "central_sim", "--host", public.hostname or "127.0.0.1",
        "--port", str(public.port or 8600), "--admin-port", str(admin.port or 8601),
        "--data-dir", str(current.run_dir / "central"), *extra,
    ]


def services(current: Settings, *, station: str, central_flags: tuple[str, ...] = ()) -> list[Service]:
    """central-sim, the worker, one printing station and the dashboard, each with its readiness probe."""
    ektp = [sys.executable, "-m", "pipeline"]
    environment = current.as_environment()  # every child sees exactly these settings
    return [
        Service("central-sim", central_sim_argv(current, *central_flags),
                lambda: http_ok(current.central_admin_url + "/health"), environment),
        Service("worker", [*ektp, "worker"],
                lambda: http_ok(f"http://127.0.0.1:{current.worker_metrics_port}/metrics"), environment),
        Service("station", [*ektp, "station", "run", "--station", station,
                            "--metrics-port", str(current.station_metrics_port)],
                lambda: http_ok(f"http://127.0.0.1:{current.station_metrics_port}/metrics"), environment),
        Service("dashboard", [*ektp, "dashboard"],
                lambda: http_ok(f"http://127.0.0.1:{current.dashboard_port}/healthz"), environment),
    ]
