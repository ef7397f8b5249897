"""The files of a broker `ektp broker start` does not run, and of a Java client: what they say, and who reads them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipeline.broker.certs import ensure_certificates
from pipeline.broker.external import (
    ExportError,
    broker_properties,
    format_arguments,
    jaas_client_section,
    jaas_line,
    java_argfile,
    render_properties,
    write_broker_files,
    write_client_files,
)
from pipeline.config import Settings
from pipeline.kafka.security import Credential, all_roles, ensure_credentials

SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule"


def read_properties(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def argfile_arguments(path: Path) -> list[str]:
    return [line[1:-1] for line in path.read_text().splitlines()]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def tls_settings(tmp_path: Path) -> Settings:
    settings = Settings(run_dir=tmp_path / "run", kafka_tls=True)
    ensure_certificates(settings, hosts=["kafka"])
    return settings


def test_each_scram_listener_logs_in_as_the_broker_and_the_controllers_with_plain() -> None:
    credentials = {"broker": Credential("broker", "b-pass"), "controller": Credential("controller", "c-pass")}
    lines = broker_properties(credentials, ["INTERNAL", "EXTERNAL"], tls_folder=None)
    broker = f'{SCRAM} required username="broker" password="b-pass";'
    assert lines == {
        "listener.name.internal.scram-sha-512.sasl.jaas.config": broker,
        "listener.name.external.scram-sha-512.sasl.jaas.config": broker,
        "listener.name.controller.plain.sasl.jaas.config":
            f'{PLAIN} required username="controller" password="c-pass" user_controller="c-pass";',
    }


def test_with_tls_the_key_store_and_trust_store_are_the_copies_in_the_folder(tmp_path: Path) -> None:
    credentials = {"broker": Credential("broker", "b"), "controller": Credential("controller", "c")}
    lines = broker_properties(credentials, ["CLIENT"], tls_folder=tmp_path)
    assert lines["ssl.keystore.type"] == lines["ssl.truststore.type"] == "PEM"
    assert lines["ssl.keystore.location"] == str(tmp_path / "broker-keystore.pem")
    assert lines["ssl.truststore.location"] == str(tmp_path / "ca.pem")
    assert lines["ssl.endpoint.identification.algorithm"] == "https"


def test_every_user_but_the_controller_is_a_scram_user_of_the_storage() -> None:
    credentials = {role: Credential(role, f"{role}-pass") for role in all_roles()}
    arguments = format_arguments(credentials)
    assert arguments[::2] == ["--add-scram"] * (len(all_roles()) - 1)
    assert arguments[1::2] == [f"SCRAM-SHA-512=[name={role},password={role}-pass]"
                               for role in all_roles() if role != "controller"]


@pytest.mark.parametrize("password", ['with"quote', "back\\slash", "a,b", "a]b", "a=b", "with space", "new\nline", ""])
def test_a_password_that_would_break_a_jaas_line_or_a_scram_entry_is_refused(password: str) -> None:
    with pytest.raises(ExportError, match="make it again"):
        jaas_line(SCRAM, Credential("station", password))
    with pytest.raises(ExportError):
        format_arguments({"station": Credential("station", password)})


def test_properties_and_argfiles_keep_backslashes_quotes_and_spaces() -> None:
    assert render_properties({"a.b": "c:\\dir", "x": "y=z"}) == "a.b=c:\\\\dir\nx=y=z\n"
    assert java_argfile(["format", "a b", 'q"uote', "back\\slash"]) == (
        '"format"\n"a b"\n"q\\"uote"\n"back\\\\slash"\n')


def test_the_client_jaas_file_has_a_kafka_client_section() -> None:
    section = jaas_client_section(Credential("admin", "secret"))
    assert section == f'KafkaClient {{\n  {SCRAM} required username="admin" password="secret";\n}};\n'


def test_broker_files_hold_every_password_the_storage_and_listeners_need(tls_settings: Settings,
                                                                          tmp_path: Path) -> None:
    folder = tmp_path / "kafka"
    written = write_broker_files(tls_settings, folder, ["INTERNAL", "EXTERNAL"])
    assert {path.name for path in written} == {"server.properties", "format.args", "broker-keystore.pem", "ca.pem"}
    credentials = ensure_credentials(tls_settings)
    properties = read_properties(folder / "server.properties")
    broker = credentials["broker"]
    assert properties["listener.name.internal.scram-sha-512.sasl.jaas.config"] == (
        f'{SCRAM} required username="broker" password="{broker.password}";')
    assert properties["ssl.keystore.location"] == str(folder / "broker-keystore.pem")
    assert (folder / "broker-keystore.pem").read_bytes() == (tls_settings.tls_path / "broker-keystore.pem").read_bytes()
    assert (folder / "ca.pem").read_bytes() == (tls_settings.tls_path / "ca.pem").read_bytes()
    arguments = argfile_arguments(folder / "format.args")
    assert arguments == format_arguments(credentials)
    # Only this user reads them, the CA aside.
    assert mode(folder) == 0o700
    for name in ("server.properties", "format.args", "broker-keystore.pem"):
        assert mode(folder / name) == 0o600, name
    assert mode(folder / "ca.pem") == 0o644


def test_without_tls_the_broker_files_have_no_tls(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path / "run")
    written = write_broker_files(settings, tmp_path / "kafka", ["CLIENT"])
    assert {path.name for path in written} == {"server.properties", "format.args"}
    assert not any(key.startswith("ssl.") for key in read_properties(tmp_path / "kafka" / "server.properties"))


def test_a_group_reads_the_files_and_nobody_else(tls_settings: Settings, tmp_path: Path) -> None:
    """Given a group (here this process's own, which any user may give its files to), secrets are 0640 of it."""
    group = os.getgid()
    folder = tmp_path / "kafka"
    write_broker_files(tls_settings, folder, ["INTERNAL"], group=group)
    write_client_files(tls_settings, "admin", folder, group=group)
    assert mode(folder) == 0o750
    assert folder.stat().st_gid == group
    for name in ("server.properties", "format.args", "broker-keystore.pem", "admin.properties", "admin.jaas"):
        assert mode(folder / name) == 0o640, name
        assert (folder / name).stat().st_gid == group, name
    assert mode(folder / "ca.pem") == 0o644


def test_writing_again_changes_nothing_unchanged(tls_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "kafka"
    write_broker_files(tls_settings, folder, ["INTERNAL"])
    before = {path.name: (path.stat().st_ino, path.read_bytes()) for path in folder.iterdir()}
    write_broker_files(tls_settings, folder, ["INTERNAL"])
    assert {path.name: (path.stat().st_ino, path.read_bytes()) for path in folder.iterdir()} == before


def test_broker_files_need_the_tls_files_first(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path / "run", kafka_tls=True)
    with pytest.raises(ExportError, match="ektp broker certs"):
        write_broker_files(settings, tmp_path / "kafka", ["INTERNAL"])


@pytest.mark.parametrize("listener", ["", "IN TERNAL", "a.b", "1ST"])
def test_a_listener_that_is_no_name_is_refused(tmp_path: Path, listener: str) -> None:
    with pytest.raises(ExportError):
        write_broker_files(Settings(run_dir=tmp_path / "run"), tmp_path / "kafka", [listener])


def test_a_client_s_properties_name_its_user_and_trust_the_ca(tls_settings: Settings, tmp_path: Path) -> None:
    ensure_credentials(tls_settings)
    folder = tmp_path / "ui"
    write_client_files(tls_settings, "admin", folder)
    password = ensure_credentials(tls_settings)["admin"].password
    assert read_properties(folder / "admin.properties") == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": f'{SCRAM} required username="admin" password="{password}";',
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(folder / "ca.pem"),
    }
    assert f'password="{password}"' in (folder / "admin.jaas").read_text()
    assert mode(folder / "admin.properties") == mode(folder / "admin.jaas") == 0o600
