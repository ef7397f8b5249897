"""Settings come from `EKTP_` variables, once, and derive the addresses the clients use."""

from __future__ import annotations

import pydantic
import pytest

from pipeline.config import Settings


def test_environment_variables_with_the_ektp_prefix_set_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """`EKTP_KAFKA_PORT` and friends reach the settings object."""
    monkeypatch.setenv("EKTP_KAFKA_PORT", "19092")
    monkeypatch.setenv("EKTP_BROKER_HEAP", "1g")
    settings = Settings()
    assert settings.kafka_port == 19092
    assert settings.broker_heap == "1g"
    assert settings.bootstrap_servers == "127.0.0.1:19092"


def test_an_explicit_bootstrap_list_wins_and_becomes_faust_urls() -> None:
    """A cluster's bootstrap list is used as given, and faust gets one kafka:// URL per server."""
    settings = Settings(kafka_bootstrap="k1:9092,k2:9092")
    assert settings.bootstrap_servers == "k1:9092,k2:9092"
    assert settings.kafka_url == "kafka://k1:9092;kafka://k2:9092"


def test_settings_are_frozen() -> None:
    """Settings are built once and passed down; nobody changes them on the way."""
    settings = Settings()
    with pytest.raises(pydantic.ValidationError):
        settings.kafka_port = 1  # type: ignore[misc]


def test_the_citizen_key_secret_is_never_printed() -> None:
    """The HMAC secret is a SecretStr: its repr and dump hide it."""
    settings = Settings(citizen_key_secret="very-secret-value")
    assert "very-secret-value" not in repr(settings)
    assert "very-secret-value" not in str(settings.model_dump())


def test_broker_folders_default_under_the_run_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Without an explicit data folder the broker keeps its data in `<run_dir>/kafka`."""
    settings = Settings(run_dir=tmp_path)
    assert settings.broker_data_path == tmp_path / "kafka"
