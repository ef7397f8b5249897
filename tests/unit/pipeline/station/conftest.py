"""Fixtures of the station's unit tests: a station config in a temp folder, central's key, a JWKS server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from joserfc.jwk import OKPKey

from pipeline.config import Settings
from pipeline.station.config import StationConfig
from tests.unit.pipeline.station.fakes import JwksServer, central_key


@pytest.fixture
def station_config(tmp_path: Path) -> StationConfig:
    """A station TPI-01 of office 2172 whose folders are in the test's temp folder."""
    station_dir = tmp_path / "station-TPI-01"
    return StationConfig(
        station_id="TPI-01", office_code="2172", settings=Settings(run_dir=tmp_path), central_url="http://127.0.0.1:1",
        station_dir=station_dir, out_dir=station_dir / "cards", metrics_port=0, initial_blanks=10,
    )


@pytest.fixture
def signing_key() -> OKPKey:
    """Central's current signing key."""
    return central_key("central-key-1")


@pytest.fixture
async def jwks_server(signing_key: OKPKey) -> AsyncIterator[JwksServer]:
    """Central's JWK Set, served on a free loopback port."""
    server = await JwksServer(signing_key).start()
    try:
        yield server
    finally:
        await server.stop()
