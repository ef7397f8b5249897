"""The one settings object of the pipeline.

Built once at start-up (`Settings()`), from `EKTP_`-prefixed environment variables, and passed down;
nothing deeper in the code reads the environment.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_CITIZEN_KEY_SECRET = "dev-only-citizen-key-secret-change-me"  # noqa: S105 (a known, public dev value)
DEV_ADMIN_TOKEN = "dev-only-central-admin-token-change-me"  # noqa: S105 (a known, public dev value)


# What `ektp broker start` writes into the broker's data folder: how many nodes the cluster there has.
CLUSTER_FILE = "cluster.json"


def project_root() -> Path:
    """The checkout this package runs from, or the working directory for an installed package."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


def replication_for(nodes: int) -> int:
    """The replication factor of topics on a cluster of `nodes`: 3 copies once there are 3 nodes to hold them."""
    return min(nodes, 3)


def min_insync_for(replication: int) -> int:
    """`min.insync.replicas` for `replication` copies: 2 of 3, so a write survives one node and goes on without it."""
    return 2 if replication >= 3 else 1


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine's loopback interface, where no other machine can listen in."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def remembered_nodes(broker_data: Path) -> int | None:
    """The node count of the cluster whose data is in `broker_data`, as `ektp broker start` wrote it; None if none."""
    try:
        nodes = json.loads((broker_data / CLUSTER_FILE).read_text())["nodes"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return nodes if isinstance(nodes, int) and nodes >= 1 else None


EventLoop = Literal["uvloop", "asyncio"]  # the kinds of event loop a process may run on (processes/event_loop.py)

class Settings(BaseSettings):
    """Every knob of ektp-pipeline; each is `EKTP_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="EKTP_", frozen=True, extra="ignore")

    # -- Kafka, as the clients see it
    kafka_host: str = Field("127.0.0.1", description="Host of the Kafka listener")
    kafka_port: int = Field(9092, description="Port of the Kafka listener; node i of a cluster listens on it + i - 1")
    kafka_bootstrap: str | None = Field(
        None, description="Bootstrap servers for clients; default `kafka_host:kafka_port`, one per node"
    )
    # Unless set, the next three follow the cluster (`_cluster_defaults`); the defaults are a single node's.
    broker_nodes: int = Field(
        1, ge=1, description="Nodes of the broker cluster, each a broker and a controller; unset: the count "
        "`ektp broker start --nodes` remembered in `<data>/cluster.json`, else 1",
    )
    topic_partitions: int = Field(6, ge=1, description="Partitions of each citizen-keyed topic")
    topic_replication: int = Field(
        1, ge=1, description="Replication factor of the topics and the broker's own; unset: 3 with 3 nodes or more, "
        "else 1",
    )
    topic_min_insync: int = Field(
        1, ge=1, description="`min.insync.replicas` of the topics and the broker's own; unset: 2 with 3 replicas or "
        "more, else 1",
    )

    # -- who the clients are (pipeline/kafka/security.py)
    kafka_tls: bool | None = Field(
        None, description="TLS on every Kafka listener, besides SASL/SCRAM; unset: on unless `kafka_host` is a "
        "loopback address, and off is refused for any other"
    )
    credentials_dir: Path | None = Field(
        None, description="Each role's Kafka password, one 0600 file per role; default `<run_dir>/credentials`"
    )
    tls_dir: Path | None = Field(
        None, description="The private CA and the broker's certificate (`ektp broker certs`); default `<run_dir>/tls`"
    )

    # -- the broker the project starts itself (`ektp broker ...`)
    broker_controller_port: int = Field(
        9193, description="Port of the KRaft controller listener; node i listens on it + i - 1"
    )
    broker_heap: str = Field("512m", description="JVM heap of each broker node (-Xms and -Xmx)")
    broker_data_dir: Path | None = Field(None, description="Broker data; default `<run_dir>/kafka`")
    broker_libs_dir: Path | None = Field(
        None, description="Broker jars fetched from Maven Central; default `<root>/.kafka/libs`"
    )
    broker_start_timeout: float = Field(60.0, description="Seconds `broker start` waits for the broker")
    broker_stop_timeout: float = Field(30.0, description="Seconds `broker stop` waits before SIGKILL")

    # -- the stream processors
    app_id: str = Field(
        "ektp-pipeline", description="The workers' faust app id: their consumer group and table topics"
    )
    intake_max_bytes: int = Field(64 * 1024, ge=1024, description="Largest submission the intake accepts")
    approval_batch_size: int = Field(200, ge=1, description="Records the approval step takes per batch")
    approval_batch_within: float = Field(0.05, gt=0, description="Seconds the approval step waits to fill a batch")

    # -- the link to central (pipeline/central/)
    central_url: str = Field("http://127.0.0.1:8600", description="Base URL of the central server")
    central_admin_url: str = Field(
        "http://127.0.0.1:8601", description="central-sim's admin API (outages); stays up when `down`"
    )
    central_admin_token: SecretStr = Field(
        SecretStr(DEV_ADMIN_TOKEN), description="Bearer token of central-sim's admin API"
    )
    central_timeout: float = Field(5.0, gt=0, description="Seconds one call to central may take in all")
    central_connect_timeout: float = Field(2.0, gt=0, description="Seconds to open a connection to central")
    central_max_attempts: int = Field(3, ge=1, description="Tries per call before it counts as unavailable")
    central_backoff_base: float = Field(0.2, ge=0, description="First retry delay (s), doubled per try, jittered")
    central_backoff_max: float = Field(5.0, ge=0, description="Longest retry delay (s), Retry-After included")
    central_concurrency: int = Field(32, ge=1, description="Calls to central in flight at once")
    central_breaker_failures: int = Field(5, ge=1, description="Failures in a row that open the breaker")
    central_breaker_cooldown: float = Field(10.0, gt=0, description="Seconds the breaker stays open")

    dlq_max_attempts: int = Field(5, ge=1, description="Tries before a dead-lettered record is parked")
    dlq_auto_replay: bool = Field(True, description="Replay the dead-letter stream by itself once central is back")
    dlq_replay_rate: float = Field(500.0, gt=0, description="Records per second an automatic replay sends")
    dlq_check_interval: float = Field(5.0, gt=0, description="Seconds between the worker's looks at the link")
    metrics_host: str = Field("127.0.0.1", description="Address the worker's and station's /metrics listen on")
    worker_stop_timeout: float = Field(
        20.0, gt=0, description="Seconds a stopping worker may take before it writes its stacks to its log and exits"
    )
    worker_metrics_port: int = Field(8701, ge=0, description="Port of the worker's Prometheus /metrics (0: off)")
    worker_standby_replicas: int = Field(
        1, ge=0, description="Warm copies of each table partition on other workers: a takeover then replays only "
        "what its copy had not reached, for the CPU of following the changelog"
    )
    station_metrics_port: int = Field(
        8710, ge=0, description="Port of the printing station's /metrics that `ektp up` starts (0: off)"
    )
    station_instant: bool = Field(
        False, description="Benchmarks only: stations write a 1x1 placeholder instead of drawing each card"
    )

    # -- the other services (later steps)
    dashboard_host: str = Field("127.0.0.1", description="Address the operators' dashboard listens on")
    dashboard_port: int = Field(8700, description="Port of the operators' dashboard")
    dashboard_metrics_port: int = Field(
        8720, ge=0, description="Port of the dashboard's Prometheus /metrics: consumer lag, desks' outboxes (0: off)"
    )
    dashboard_token: SecretStr | None = Field(
        None, description="Token of the dashboard's actions (replay); unset: generated into `<run_dir>/dashboard.token`"
    )
    dashboard_stuck_after: float = Field(
        900.0, gt=0, description="Seconds a request may wait at one step before the dashboard calls it stuck"
    )
    dashboard_refresh: float = Field(1.0, gt=0, description="Seconds between the dashboard's samples and live updates")
    dashboard_worker_metrics_url: str | None = Field(
        None, description="The worker's /metrics the dashboard reads the breaker from; default on this host"
    )

    # -- identity and privacy
    citizen_key_secret: SecretStr = Field(
        SecretStr(DEV_CITIZEN_KEY_SECRET), description="HMAC secret that turns a NIK into a citizen key"
    )

    # -- where things live
    run_dir: Path = Field(
        default_factory=lambda: project_root() / ".ektp",
        description="Pid files, logs and data of the processes `ektp` starts",
    )

    # -- every process
    event_loop: EventLoop = Field(
        "uvloop", description="The event loop of every process `ektp` starts: `uvloop` (libuv, in C), or Python's "
        "own `asyncio`"
    )

    # -- logging
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level")
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="`auto`: readable on a terminal, JSON otherwise"
    )

    @model_validator(mode="before")
    @classmethod
    def _cluster_defaults(cls, values: Any) -> Any:
        """The node count the broker's data folder remembers, and the replication that follows, unless set.

        A cluster started with `ektp broker start --nodes 3` is then used with three nodes' bootstrap and
        replication by every later command on the same run dir, without repeating it; a variable wins.
        """
        if not isinstance(values, dict):
            return values
        values = dict(values)
        if values.get("broker_nodes") is None:
            run_dir = Path(values.get("run_dir") or project_root() / ".ektp")
            data = Path(values.get("broker_data_dir") or run_dir / "kafka")
            values["broker_nodes"] = remembered_nodes(data) or 1
        if values.get("topic_replication") is None:
            values["topic_replication"] = replication_for(int(values["broker_nodes"]))
        if values.get("topic_min_insync") is None:
            values["topic_min_insync"] = min_insync_for(int(values["topic_replication"]))
        return values

    @model_validator(mode="after")
    def _tls_off_the_loopback(self) -> Settings:
        if self.kafka_tls is False and not is_loopback(self.kafka_host):
            raise ValueError(
                f"EKTP_KAFKA_TLS=false with EKTP_KAFKA_HOST={self.kafka_host}: a Kafka listener off the loopback "
                "carries citizens' records across a network and must use TLS"
            )
        return self

    def as_environment(self) -> dict[str, str]:
        """These settings as `EKTP_` variables, for a child process that must see exactly them."""
        environment = {}
        for name, value in self.model_dump(exclude_none=True).items():
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            environment[f"EKTP_{name.upper()}"] = str(raw)
        return environment

    @property
    def bootstrap_servers(self) -> str:
        """Where Kafka clients connect: every node's listener, so a client starts while any one of them is up."""
        return self.kafka_bootstrap or ",".join(f"{self.kafka_host}:{port}" for port in self.broker_client_ports)

    @property
    def broker_client_ports(self) -> list[int]:
        """The client port of each node of the project's own broker, node 1 first."""
        return [self.kafka_port + index for index in range(self.broker_nodes)]

    @property
    def broker_controller_ports(self) -> list[int]:
        """The KRaft controller port of each node of the project's own broker, node 1 first."""
        return [self.broker_controller_port + index for index in range(self.broker_nodes)]

    @property
    def kafka_url(self) -> str:
        """The broker URL in faust's form."""
        return ";".join(f"kafka://{server}" for server in self.bootstrap_servers.split(","))

    @property
    def kafka_uses_tls(self) -> bool:
        """Whether the Kafka listeners use TLS: when asked, and always off the loopback."""
        return self.kafka_tls if self.kafka_tls is not None else not is_loopback(self.kafka_host)

    @property
    def credentials_path(self) -> Path:
        return self.credentials_dir or self.run_dir / "credentials"

    @property
    def tls_path(self) -> Path:
        return self.tls_dir or self.run_dir / "tls"

    @property
    def broker_data_path(self) -> Path:
        return self.broker_data_dir or self.run_dir / "kafka"

    @property
    def broker_libs_path(self) -> Path:
        return self.broker_libs_dir or project_root() / ".kafka" / "libs"
