"""The pipeline's processes beside the broker, as `ektp up` starts them and `ektp down` stops them."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from pipeline.config import Settings
from pipeline.desk.runner import desk_running, status_path
from pipeline.probes import http_ok
from pipeline.processes.supervisor import Service

# Started in this order, stopped in the reverse: the broker starts before and stops after all of them.
ORDER = ("central-sim", "worker", "desk", "station", "dashboard")

# The recording desk `ektp up` starts: its outbox keeps what `ektp enroll --desk REKAM-01` saves.
DESK = "REKAM-01"


def worker_name(number: int) -> str:
    """`worker` for the first worker, `worker-2`, `worker-3`... for the others."""
    return "worker" if number == 1 else f"worker-{number}"


def stopping_order(names: list[str]) -> list[str]:
    """`names` (of running services) in the order to stop them: the reverse of the start order."""
    def place(name: str) -> tuple[int, str]:
        base = "worker" if name.startswith("worker") else name
        return (ORDER.index(base) if base in ORDER else len(ORDER), name)

    return sorted(set(names), key=place, reverse=True)


def central_sim_argv(current: Settings, *extra: str) -> list[str]:
    """The command line that runs central_sim where the settings expect it."""
    public, admin = urlsplit(current.central_url), urlsplit(current.central_admin_url)
    return [
        sys.executable, "-m", "central_sim", "--host", public.hostname or "127.0.0.1",
        "--port", str(public.port or 8600), "--admin-port", str(admin.port or 8601),
        "--data-dir", str(current.run_dir / "central"), *extra,
    ]


def worker_service(current: Settings, number: int) -> Service:
    """Worker `number` (from 1): its metrics on `worker_metrics_port + number - 1`, the next free one each."""
    port = current.worker_metrics_port + number - 1 if current.worker_metrics_port else 0
    environment = {**current.as_environment(), "EKTP_WORKER_METRICS_PORT": str(port)}
    return Service(worker_name(number), [sys.executable, "-m", "pipeline", "worker"],
                   lambda: http_ok(f"http://127.0.0.1:{port}/metrics"), environment)


def services(
    current: Settings, *, station: str, central_flags: tuple[str, ...] = (), workers: int = 1
) -> list[Service]:
    """central-sim, `workers` workers, the recording desk, one printing station and the dashboard, each with its
    readiness probe."""
    ektp = [sys.executable, "-m", "pipeline"]
    environment = current.as_environment()  # every child sees exactly these settings
    return [
        Service("central-sim", central_sim_argv(current, *central_flags),
                lambda: http_ok(current.central_admin_url + "/health"), environment),
        *(worker_service(current, number) for number in range(1, workers + 1)),
        Service("desk", [*ektp, "desk", "run", "--desk", DESK], lambda: desk_reporting(current, DESK), environment),
        Service("station", [*ektp, "station", "run", "--station", station,
                            "--metrics-port", str(current.station_metrics_port)],
                lambda: http_ok(f"http://127.0.0.1:{current.station_metrics_port}/metrics"), environment),
        Service("dashboard", [*ektp, "dashboard"],
                lambda: http_ok(f"http://127.0.0.1:{current.dashboard_port}/healthz"), environment),
    ]


async def desk_reporting(current: Settings, desk_id: str) -> bool:
    """The desk is ready once it holds its lock and has written its status (broker up or down)."""
    return desk_running(current.run_dir, desk_id) and status_path(current.run_dir, desk_id).exists()
