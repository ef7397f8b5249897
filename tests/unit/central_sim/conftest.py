"""Fixtures of central_sim's unit tests: a store in a fresh folder, a registry on a fixed clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from central_sim.registry import Registry
from central_sim.server import load_signing_key
from central_sim.store import CentralStore

DECIDED_AT = dt.datetime(2026, 11, 28, 2, 15, tzinfo=dt.UTC)
ISSUER = "central-test"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CentralStore]:
    """Central's sqlite store in a folder of this test's own."""
    central_store = CentralStore(tmp_path / "central")
    yield central_store
    central_store.close()


@pytest.fixture
def registry(store: CentralStore) -> Registry:
    """Central's enrollment desk over the test's store, deciding at a fixed instant."""
    return Registry(store, load_signing_key(store), ISSUER, clock=lambda: DECIDED_AT)
