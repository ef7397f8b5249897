"""The station's configuration: the pipeline's `Settings` plus what `ektp station run` is told.

`Settings` does not carry the station's own knobs: they come from CLI options with the defaults below;
`StationConfig.from_settings` is the one place both meet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Settings
from pipeline.station.crash import CrashHook
from pipeline.station.errors import StationError
from pipeline.topology.routes import PRINTING_STATIONS

# A station id becomes part of file names (card serials) and of the consumer's instance id: keep it plain.
STATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
OFFICE_CODE = re.compile(r"^[0-9]{4}$")

# A station's Kafka principal: it reads the print jobs (in its office's group) and the inventory, writes the
# printed cards, the inventory and its status notes.
STATION_ROLE = PRINTING_STATIONS.role

DEFAULT_OFFICE = "2172"
DEFAULT_METRICS_PORT = 8710


@dataclass(frozen=True)
class StationConfig:
    """Everything one printing station needs to run."""

    station_id: str
    office_code: str
    settings: Settings  # the pipeline's: the broker, and the credentials the station connects with
    central_url: str
    station_dir: Path
    out_dir: Path
    metrics_port: int = DEFAULT_METRICS_PORT  # 0: no /metrics
    metrics_host: str = "127.0.0.1"
    initial_blanks: int = 0  # stock of a new journal when the inventory topic knows nothing of the station
    misprint_rate: float = 0.0
    misprint_seed: int = 0
    jwks_timeout: float = 5.0
    jwks_refresh_interval: float = 1.0  # at most one JWK Set fetch per interval, unknown kids included
    jwks_max_age: float = 3600.0  # seconds a fetched JWK Set is used before it is fetched again
    verify_retry: float = 2.0  # seconds before a job whose approval could not be checked is tried again
    session_timeout_ms: int = 10_000
    crash_hook: CrashHook = field(default_factory=CrashHook)
    # Benchmarks only: a 1x1 placeholder instead of the drawn card (written, fsynced and journaled the same).
    instant: bool = False
    # Group commit (engine.py): the most jobs one step takes, each of its durable changes one transaction.
    batch_size: int = 100
    # Seconds a print batch may run before it records the cards printed so far (bounds a card's wait).
    batch_record_after: float = 0.5

    def __post_init__(self) -> None:
        if not STATION_ID.match(self.station_id):
            raise StationError(f"station id {self.station_id!r}: letters, digits, '-' and '_', at most 32")
        if not OFFICE_CODE.match(self.office_code):
            raise StationError(f"office code {self.office_code!r}: four digits, e.g. 2172")
        if not 0.0 <= self.misprint_rate < 1.0:
            raise StationError(f"misprint rate {self.misprint_rate}: from 0 up to (not including) 1")
        if self.batch_size < 1:
            raise StationError(f"batch size {self.batch_size}: at least 1")
        if self.batch_record_after < 0:
            raise StationError(f"batch record interval {self.batch_record_after}: not negative")

    @classmethod
    def from_settings(
        cls, settings: Settings, *, station_id: str, office_code: str = DEFAULT_OFFICE, out_dir: Path | None = None
    ) -> StationConfig:
        """The station's config from the pipeline's settings, every other knob at its default.

        Change the others with `dataclasses.replace`, as the CLI does with its options.
        """
        station_dir = settings.run_dir / f"station-{station_id}"
        return cls(
            station_id=station_id, office_code=office_code, settings=settings,
            central_url=settings.central_url, station_dir=station_dir, out_dir=out_dir or station_dir / "cards",
            metrics_host=settings.metrics_host,
        )

    @property
    def group_id(self) -> str:
        """The consumer group: one per office, shared by all its stations (one active, the rest on standby)."""
        return f"ektp-station-{self.office_code}"

    @property
    def jwks_url(self) -> str:
        return f"{self.central_url.rstrip('/')}/v1/jwks"

    @property
    def journal_path(self) -> Path:
        return self.station_dir / "journal.sqlite3"

    @property
    def lock_path(self) -> Path:
        return self.station_dir / "station.lock"
