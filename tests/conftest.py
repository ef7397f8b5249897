"""Fixtures every kind of test may use. The broker fixture starts a broker of the tests' own."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.broker import BrokerLauncher
from pipeline.config import Settings
from pipeline.errors import EktpError
from tests.support.env import broker_settings


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings pointing at a real Kafka broker started for this test session, on free ports.

    It never touches a broker a person is running, and it is stopped when the session ends. In CI a
    broker that cannot start fails the run; on a laptop without Java the broker tests are skipped.
    """
    settings = broker_settings(tmp_path_factory.mktemp("broker-run"))
    launcher = BrokerLauncher(settings)
    if shutil.which("java") is None and not _in_ci():
        pytest.skip("no Java on this machine: the broker tests need Java 17+")
    try:
        launcher.start()
    except EktpError as error:
        launcher.stop()
        pytest.fail(f"the test broker did not start: {error}", pytrace=False)
    try:
        yield settings
    finally:
        launcher.stop()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A fresh folder for the pid files, logs and data of one test's processes."""
    path = tmp_path / "run"
    path.mkdir()
    return path
