"""The settings of the central server simulator, its own (it may import nothing of the pipeline).

Built once at start-up from `EKTP_CENTRAL_`-prefixed environment variables, then overridden by the
command-line flags of `python -m central_sim`; nothing deeper in the code reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_ADMIN_TOKEN = "dev-only-central-admin-token-change-me"  # noqa: S105 (a known, public dev value)
DEFAULT_PORT = 8600


def default_data_dir() -> Path:
    """`<checkout>/.ektp/central` when run from a checkout, else `./.ektp/central`."""
    here = Path(__file__).resolve().parent.parent
    root = here if (here / "pyproject.toml").is_file() else Path.cwd()
    return root / ".ektp" / "central"


class CentralSettings(BaseSettings):
    """Every knob of central_sim; each is `EKTP_CENTRAL_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="EKTP_CENTRAL_", frozen=True, extra="ignore")

    host: str = Field("127.0.0.1", description="Address both ports listen on")
    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="Public port: enrollments, JWKS, health, admin")
    admin_port: int | None = Field(
        None, ge=0, le=65535, description="Admin port, never taken down by a fault; default `port + 1`"
    )
    data_dir: Path = Field(default_factory=default_data_dir, description="Folder of central's sqlite store")
    admin_token: SecretStr = Field(
        SecretStr(DEV_ADMIN_TOKEN), description="Bearer token the admin API (/admin/...) requires"
    )
    issuer: str = Field("ditjen-dukcapil-central-sim", description="`iss` of every decision token")
    rate_per_second: float = Field(
        1000.0, ge=0, description="Token-bucket refill rate for enrollments; 0 turns the rate limit off"
    )
    burst: int = Field(2000, ge=1, description="Token-bucket size: enrollments accepted at once after a pause")
    latency_ms: float = Field(20.0, ge=0, description="Base latency of one enrollment call (or one batch)")
    jitter_ms: float = Field(10.0, ge=0, description="Uniform jitter around the base latency, +/-")
    max_batch: int = Field(500, ge=1, le=10_000, description="Most enrollments one batch call may carry")
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level")

    @property
    def resolved_admin_port(self) -> int:
        """The admin port: as configured, else the public port + 1."""
        if self.admin_port is not None:
            return self.admin_port
        return self.port + 1 if self.port else 0
