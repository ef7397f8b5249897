"""`ektp credentials --role ROLE [--json]`: a client's connection options, the password only in JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app, main
from pipeline.cli.context import settings
from pipeline.config import Settings
from pipeline.kafka.security import CredentialsMissing, ensure_credentials

runner = CliRunner()
CONNECTION_KEYS = {"bootstrap_servers", "security_protocol", "sasl_mechanism", "sasl_plain_username",
                   "sasl_plain_password"}


@pytest.fixture(autouse=True)
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A run folder of the test's own, on the loopback; `settings()` is built again from it."""
    folder = tmp_path / "run"
    for name in ("EKTP_CREDENTIALS_DIR", "EKTP_TLS_DIR", "EKTP_KAFKA_TLS", "EKTP_KAFKA_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EKTP_RUN_DIR", str(folder))
    settings.cache_clear()
    yield folder
    settings.cache_clear()


def stored_password(run_dir: Path, role: str) -> str:
    return str(json.loads((run_dir / "credentials" / f"{role}.json").read_text())["password"])


def test_json_is_the_role_s_client_options_with_the_password_from_its_file(run_dir: Path) -> None:
    ensure_credentials(Settings(run_dir=run_dir))
    result = runner.invoke(app, ["credentials", "--role", "station", "--json"])
    assert result.exit_code == 0, result.output
    options = json.loads(result.stdout)
    assert set(options) == set(CONNECTION_KEYS)
    assert options["sasl_plain_username"] == "station"
    assert options["sasl_plain_username"] == "station"
    assert options["sasl_plain_password"] == stored_password(run_dir, "station")
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["bootstrap_servers"] == Settings().bootstrap_servers


def test_with_tls_the_json_names_the_ca_file(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EKTP_KAFKA_TLS", "true")
    ensure_credentials(Settings(run_dir=run_dir))
    result = runner.invoke(app, ["credentials", "--role", "desk", "--json"])
    assert result.exit_code == 0, result.output
    options = json.loads(result.stdout)
    assert set(options) == {*CONNECTION_KEYS, "ssl_cafile"}
    assert options["security_protocol"] == "SASL_SSL"
    assert Path(options["ssl_cafile"]) == (run_dir / "tls" / "ca.pem").resolve()


def test_the_summary_says_where_the_password_is_and_never_prints_it(run_dir: Path) -> None:
    ensure_credentials(Settings(run_dir=run_dir))
    result = runner.invoke(app, ["credentials", "--role", "station"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert stored_password(run_dir, "station") not in result.output
    assert str(run_dir / "credentials" / "station.json") in result.output
    assert "SASL_PLAINTEXT" in result.output
    assert "SCRAM-SHA-512" in result.output


@pytest.mark.parametrize("role", ["nobody", "broker", "controller"])
def test_an_unknown_or_internal_role_is_a_usage_error_naming_the_client_roles(run_dir: Path, role: str) -> None:
    ensure_credentials(Settings(run_dir=run_dir))
    result = runner.invoke(app, ["credentials", "--role", role, "--json"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert result.stdout == ""
    for client in ("worker", "desk", "station", "pickup-desk", "operator", "admin"):
        assert client in result.output
    assert stored_password(run_dir, role if role != "nobody" else "broker") not in result.output


def test_missing_credentials_are_a_clear_error(run_dir: Path) -> None:
    result = runner.invoke(app, ["credentials", "--role", "station", "--json"])
    assert result.exit_code != 0
    assert isinstance(result.exception, CredentialsMissing)
    assert "no Kafka credentials for role 'station'" in str(result.exception)
    assert result.stdout == ""


def test_the_console_script_prints_missing_credentials_as_an_error(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["ektp", "credentials", "--role", "station"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error:" in captured.err
    assert "no Kafka credentials for role 'station'" in captured.err
    assert str(run_dir / "credentials") in captured.err.replace("\n", "")


def test_no_role_and_no_subcommand_is_a_usage_error_naming_the_client_roles(run_dir: Path) -> None:
    result = runner.invoke(app, ["credentials"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--role" in result.output
    assert "worker, desk, station, pickup-desk, operator, admin" in result.output


def test_role_or_json_before_a_subcommand_is_a_usage_error(run_dir: Path) -> None:
    for options in (["--role", "station"], ["--json"]):
        result = runner.invoke(app, ["credentials", *options, "make"], env={"COLUMNS": "300"})
        assert result.exit_code == 2, options
        assert not (run_dir / "credentials").exists()


def test_make_writes_every_role_s_password_once_and_keeps_them(run_dir: Path) -> None:
    result = runner.invoke(app, ["credentials", "make", "--json"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)
    roles = ["worker", "desk", "station", "pickup-desk", "operator", "admin", "broker", "controller"]
    assert first == {"credentials_dir": str(run_dir / "credentials"), "made": roles, "kept": []}
    passwords = {role: stored_password(run_dir, role) for role in roles}
    again = json.loads(runner.invoke(app, ["credentials", "make", "--json"]).stdout)
    assert again["made"] == []
    assert again["kept"] == roles
    assert {role: stored_password(run_dir, role) for role in roles} == passwords


def test_make_makes_only_the_missing_ones_and_prints_no_password(run_dir: Path) -> None:
    ensure_credentials(Settings(run_dir=run_dir))
    kept = stored_password(run_dir, "admin")
    (run_dir / "credentials" / "station.json").unlink()
    result = runner.invoke(app, ["credentials", "make"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "made station;" in result.output
    assert stored_password(run_dir, "admin") == kept
    assert (run_dir / "credentials" / "station.json").stat().st_mode & 0o777 == 0o600
    for role in ("station", "admin", "broker", "controller"):
        assert stored_password(run_dir, role) not in result.output


def test_broker_files_are_written_where_asked_and_named_not_shown(run_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("EKTP_KAFKA_TLS", "true")
    assert runner.invoke(app, ["broker", "certs", "--host", "kafka"]).exit_code == 0
    folder = tmp_path / "kafka"
    result = runner.invoke(app, ["credentials", "broker-files", str(folder), "--listener", "INTERNAL",
                                 "--listener", "EXTERNAL"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert set(result.stdout.split()) == {str(folder / name) for name in (
        "broker-keystore.pem", "ca.pem", "server.properties", "format.args")}
    properties = (folder / "server.properties").read_text()
    broker = stored_password(run_dir, "broker")
    assert f'listener.name.internal.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.' \
           f'ScramLoginModule required username="broker" password="{broker}";' in properties
    assert "listener.name.external.scram-sha-512.sasl.jaas.config=" in properties
    assert "listener.name.controller.plain.sasl.jaas.config=" in properties
    assert f"password={stored_password(run_dir, 'station')}]" in (folder / "format.args").read_text()
    assert broker not in result.output


def test_broker_files_need_a_listener(run_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["credentials", "broker-files", str(tmp_path / "kafka")])
    assert result.exit_code == 2
    assert not (tmp_path / "kafka").exists()


def test_broker_files_without_the_tls_files_say_how_to_make_them(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EKTP_KAFKA_TLS", "true")
    monkeypatch.setattr("sys.argv", ["ektp", "credentials", "broker-files", str(tmp_path / "kafka"),
                                     "--listener", "INTERNAL"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    assert "ektp broker certs" in capsys.readouterr().err.replace("\n", "")


def test_client_files_are_a_java_client_s_properties_and_jaas_file(run_dir: Path, tmp_path: Path) -> None:
    ensure_credentials(Settings(run_dir=run_dir))
    folder = tmp_path / "ui"
    result = runner.invoke(app, ["credentials", "client-files", str(folder), "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert set(result.stdout.split()) == {str(folder / "admin.properties"), str(folder / "admin.jaas")}
    password = stored_password(run_dir, "admin")
    assert "security.protocol=SASL_PLAINTEXT\n" in (folder / "admin.properties").read_text()
    assert (folder / "admin.jaas").read_text().startswith("KafkaClient {")
    assert f'password="{password}"' in (folder / "admin.jaas").read_text()
    assert password not in result.output


@pytest.mark.parametrize("role", ["broker", "controller", "nobody"])
def test_client_files_are_for_client_roles_only(run_dir: Path, tmp_path: Path, role: str) -> None:
    ensure_credentials(Settings(run_dir=run_dir))
    result = runner.invoke(app, ["credentials", "client-files", str(tmp_path / "x"), "--role", role])
    assert result.exit_code == 2
    assert not (tmp_path / "x").exists()


def test_client_files_need_the_role_s_credentials(run_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["credentials", "client-files", str(tmp_path / "x"), "--role", "station"])
    assert isinstance(result.exception, CredentialsMissing)
