"""Each role's credentials and the options its clients connect with, without a broker."""

from __future__ import annotations

import json
import ssl
import stat
from pathlib import Path

import pytest

from pipeline.broker.certs import ensure_certificates
from pipeline.config import Settings
from pipeline.kafka.security import (
    ADMIN_ROLE,
    CredentialsMissing,
    all_roles,
    client_options,
    connection_options,
    credential,
    ensure_credentials,
    portable_options,
)
from pipeline.topology.acls import roles


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_role_gets_a_random_password_in_a_file_only_its_user_reads(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path)
    made = ensure_credentials(settings)
    assert set(made) == set(all_roles()) >= {*roles(), ADMIN_ROLE, "broker", "controller"}
    assert mode_of(settings.credentials_path) == 0o700
    for role, user in made.items():
        path = settings.credentials_path / f"{role}.json"
        assert mode_of(path) == 0o600, role
        assert json.loads(path.read_text()) == {"username": role, "password": user.password}
        assert len(user.password) >= 32, role
    assert len({user.password for user in made.values()}) == len(made)


def test_existing_credentials_are_kept_so_the_broker_formatted_with_them_still_agrees(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path)
    first = ensure_credentials(settings)
    (settings.credentials_path / "station.json").unlink()
    again = ensure_credentials(settings)
    assert {role: user for role, user in again.items() if role != "station"} == {
        role: user for role, user in first.items() if role != "station"
    }
    assert again["station"].password != first["station"].password


def test_a_credential_in_a_log_shows_whose_it_is_never_the_password(tmp_path: Path) -> None:
    user = ensure_credentials(Settings(run_dir=tmp_path))["desk"]
    assert user.password not in repr(user)
    assert "desk" in repr(user)


def test_a_missing_credential_says_where_it_was_looked_for_and_how_it_is_made(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path)
    with pytest.raises(CredentialsMissing, match="ektp broker start") as missing:
        credential(settings, "operator")
    assert str(settings.credentials_path) in str(missing.value)


def test_on_the_loopback_a_client_uses_scram_without_tls(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path, kafka_port=29092)
    ensure_credentials(settings)
    options = client_options(settings, "station")
    assert options == {
        "bootstrap_servers": "127.0.0.1:29092", "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "station",
        "sasl_plain_password": credential(settings, "station").password,
    }
    assert connection_options(settings, "station") == {
        key: value for key, value in options.items() if key != "bootstrap_servers"
    }
    assert portable_options(settings, "station") == options


def test_off_the_loopback_a_client_trusts_the_projects_ca_and_checks_the_brokers_name(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path, kafka_host="10.1.2.3")
    ensure_credentials(settings)
    with pytest.raises(CredentialsMissing, match="ektp broker certs"):
        client_options(settings, "worker")
    files = ensure_certificates(settings)
    options = client_options(settings, "worker")
    assert options["security_protocol"] == "SASL_SSL"
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    portable = portable_options(settings, "worker")
    assert Path(portable["ssl_cafile"]) == files.ca.resolve()
    assert "ssl_context" not in portable
