"""`ektp nik check` prints the NIK rules' verdict as JSON and exits 0 only for a valid NIK."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def test_a_valid_nik_is_described_and_exits_zero() -> None:
    """A valid NIK: exit 0, region, sex and birth date in JSON, the NIK itself only masked."""
    result = runner.invoke(app, ["nik", "check", "2172014503010012", "--today", "2026-11-28"])
    assert result.exit_code == 0
    verdict = json.loads(result.stdout)
    assert verdict["valid"] is True
    assert (verdict["kecamatan"], verdict["sex"], verdict["birth_date"]) == (
        "Tanjung Pinang Barat", "female", "2001-03-05",
    )
    assert "2172014503010012" not in result.stdout
    assert verdict["nik_masked"] == "217201******0012"


def test_an_invalid_nik_lists_coded_errors_in_both_languages_and_exits_one() -> None:
    """An invalid NIK: exit 1, each error with a code and Indonesian and English messages."""
    result = runner.invoke(app, ["nik", "check", "2172041713900000"])
    assert result.exit_code == 1
    verdict = json.loads(result.stdout)
    assert verdict["valid"] is False
    assert {error["code"] for error in verdict["errors"]} == {"NIK_MONTH", "NIK_SERIAL_ZERO"}
    assert all(error["message_id"] and error["message_en"] for error in verdict["errors"])
