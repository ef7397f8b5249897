"""central_sim's settings: the EKTP_CENTRAL_ environment, the command line on top, derived defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from central_sim.__main__ import parse_args
from central_sim.config import DEV_ADMIN_TOKEN, CentralSettings


def test_defaults_match_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    """127.0.0.1:8600, the admin port next to it, a dev admin token, a small latency."""
    for name in ("HOST", "PORT", "ADMIN_PORT", "ADMIN_TOKEN", "LATENCY_MS"):
        monkeypatch.delenv(f"EKTP_CENTRAL_{name}", raising=False)
    settings = CentralSettings()
    assert (settings.host, settings.port, settings.resolved_admin_port) == ("127.0.0.1", 8600, 8601)
    assert settings.admin_token.get_secret_value() == DEV_ADMIN_TOKEN
    assert settings.latency_ms == 20
    assert settings.jitter_ms == 10


def test_environment_is_read_with_the_central_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """EKTP_CENTRAL_* variables set the settings; the token stays secret in its repr."""
    monkeypatch.setenv("EKTP_CENTRAL_PORT", "9600")
    monkeypatch.setenv("EKTP_CENTRAL_ADMIN_TOKEN", "s3cret-token")
    monkeypatch.setenv("EKTP_CENTRAL_RATE_PER_SECOND", "25")
    settings = CentralSettings()
    assert (settings.port, settings.resolved_admin_port, settings.rate_per_second) == (9600, 9601, 25)
    assert "s3cret-token" not in repr(settings)


def test_command_line_overrides_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A flag wins over the environment; a flag not given leaves the environment's value."""
    monkeypatch.setenv("EKTP_CENTRAL_PORT", "9600")
    monkeypatch.setenv("EKTP_CENTRAL_BURST", "7")
    overrides = parse_args(["--port", "9700", "--admin-port", "9800", "--data-dir", str(tmp_path), "--latency-ms", "0"])
    settings = CentralSettings(**overrides)
    assert (settings.port, settings.resolved_admin_port, settings.burst) == (9700, 9800, 7)
    assert settings.data_dir == tmp_path
    assert settings.latency_ms == 0
