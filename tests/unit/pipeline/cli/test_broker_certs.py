"""`ektp broker certs [--host NAME ...] [--force] [--json]`: where the TLS files are, the CA's fingerprint, hosts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from typer.testing import CliRunner

from pipeline.cli import app, main
from pipeline.cli.context import settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A run folder of the test's own, on the loopback; `settings()` is built again from it."""
    folder = tmp_path / "run"
    for name in ("EKTP_TLS_DIR", "EKTP_KAFKA_TLS", "EKTP_KAFKA_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EKTP_RUN_DIR", str(folder))
    settings.cache_clear()
    yield folder
    settings.cache_clear()


def certs_json(*arguments: str) -> dict[str, Any]:
    result = runner.invoke(app, ["broker", "certs", "--json", *arguments])
    assert result.exit_code == 0, result.output
    printed: dict[str, Any] = json.loads(result.stdout)
    return printed


def test_json_names_the_files_the_ca_fingerprint_and_the_hosts(run_dir: Path) -> None:
    printed = certs_json("--host", "broker.example.org", "--host", "10.0.0.5")
    tls = run_dir / "tls"
    assert printed["tls_dir"] == str(tls)
    assert {key: Path(printed[key]).name for key in ("ca", "ca_key", "broker_cert", "broker_key", "keystore")} == {
        "ca": "ca.pem", "ca_key": "ca.key", "broker_cert": "broker.pem", "broker_key": "broker.key",
        "keystore": "broker-keystore.pem"}
    assert all(Path(printed[key]).is_file() for key in ("ca", "ca_key", "broker_cert", "broker_key", "keystore"))
    ca = x509.load_pem_x509_certificate((tls / "ca.pem").read_bytes())
    assert printed["ca_sha256"] == ca.fingerprint(hashes.SHA256()).hex(":").upper()
    assert {"127.0.0.1", "localhost", "::1", "broker.example.org", "10.0.0.5"} <= set(printed["covered_hosts"])
    assert printed["ca_made"] is True
    assert printed["broker_cert_issued"] is True
    assert printed["tls"] is False


def test_a_second_run_keeps_the_ca_and_the_certificate(run_dir: Path) -> None:
    first = certs_json("--host", "broker.example.org")
    second = certs_json()
    assert second["ca_sha256"] == first["ca_sha256"]
    assert second["covered_hosts"] == first["covered_hosts"]
    assert (second["ca_made"], second["broker_cert_issued"]) == (False, False)


def test_a_new_host_or_force_issues_the_certificate_again_under_the_same_ca(run_dir: Path) -> None:
    first = certs_json()
    added = certs_json("--host", "new.example.org")
    assert (added["ca_made"], added["broker_cert_issued"]) == (False, True)
    assert "new.example.org" in added["covered_hosts"]
    forced = certs_json("--force")
    assert (forced["ca_made"], forced["broker_cert_issued"]) == (False, True)
    assert "new.example.org" not in forced["covered_hosts"]
    assert first["ca_sha256"] == added["ca_sha256"] == forced["ca_sha256"]


def test_with_tls_on_the_json_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EKTP_KAFKA_HOST", "kafka.internal")
    printed = certs_json()
    assert printed["tls"] is True
    assert printed["covered_hosts"][0] == "kafka.internal"


def test_the_summary_shows_the_paths_the_fingerprint_and_the_hosts(run_dir: Path) -> None:
    result = runner.invoke(app, ["broker", "certs", "--host", "broker.example.org"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    printed = certs_json()
    for path in ("ca", "broker_cert", "keystore"):
        assert printed[path] in result.output
    assert printed["ca_sha256"] in result.output
    assert ", ".join(printed["covered_hosts"]) in result.output
    assert "EKTP_KAFKA_TLS" in result.output  # TLS is off on the loopback: it says when the broker uses them


def test_the_help_says_when_the_broker_uses_the_files() -> None:
    result = runner.invoke(app, ["broker", "certs", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert "EKTP_KAFKA_TLS" in result.output
    assert "loopback" in result.output


def test_a_host_that_is_no_name_is_a_usage_error_and_makes_nothing(run_dir: Path) -> None:
    result = runner.invoke(app, ["broker", "certs", "--host", "bad name"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "neither an IP address nor a DNS name" in result.output
    assert not (run_dir / "tls").exists()


def test_the_console_script_prints_a_lost_ca_key_as_an_error(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    certs_json()
    (run_dir / "tls" / "ca.key").unlink()
    monkeypatch.setattr("sys.argv", ["ektp", "broker", "certs", "--host", "new.example.org"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error:" in captured.err
    assert "ca.key" in captured.err.replace("\n", "")
