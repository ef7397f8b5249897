"""The simulated printer: a KTP-el card as a PNG, written atomically, named by card serial."""

from __future__ import annotations

import datetime as dt
import io
import stat
from pathlib import Path

import pytest
from PIL import Image

from pipeline.station import render as render_module
from pipeline.station.errors import StationError
from pipeline.station.render import (
    CARD_SIZE,
    SYNC_THREADS,
    card_fields,
    card_png,
    ensure_private_dir,
    remove_partial_cards,
    render_card,
    sync_files,
    write_card,
)
from tests.unit.pipeline.station.fakes import unsigned_job

ISSUED = dt.date(2026, 11, 28)


def test_a_card_is_a_landscape_png_of_id1_proportions_named_without_the_nik(tmp_path: Path) -> None:
    """1012x638 PNG, file `<card_serial>.png`: the NIK is on the card, never in its file name."""
    card = unsigned_job().card
    out = tmp_path / "cards"
    ensure_private_dir(out)
    path = write_card(out, "TPI-01-00000001", card_png(card, card_serial="TPI-01-00000001", issued_on=ISSUED))
    assert path.name == "TPI-01-00000001.png"
    assert card.nik not in str(path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == CARD_SIZE
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert CARD_SIZE[0] / CARD_SIZE[1] == pytest.approx(85.60 / 53.98, rel=0.01)


def test_the_card_carries_every_field_of_a_ktp_el() -> None:
    """The labels of the card fields (docs/architecture.md), in Indonesian, with the card's values."""
    fields = dict(card_fields(unsigned_job().card))
    assert list(fields) == [
        "Nama", "Tempat/Tgl Lahir", "Jenis Kelamin", "Gol. Darah", "Alamat", "RT/RW", "Kel/Desa", "Kecamatan",
        "Agama", "Status Perkawinan", "Pekerjaan", "Kewarganegaraan", "Berlaku Hingga",
    ]
    assert fields["Tempat/Tgl Lahir"] == "TANJUNG PINANG, 17-08-1990"
    assert fields["Jenis Kelamin"] == "LAKI-LAKI"
    assert fields["Status Perkawinan"] == "KAWIN"
    assert fields["Berlaku Hingga"] == "SEUMUR HIDUP"


def test_the_same_card_renders_the_same_image() -> None:
    """Photo and signature patterns come from the digests: a reprint after a crash is the same card."""
    card = unsigned_job().card
    first = render_card(card, card_serial="TPI-01-00000001", issued_on=ISSUED)
    second = render_card(card, card_serial="TPI-01-00000001", issued_on=ISSUED)
    assert first.tobytes() == second.tobytes()
    assert first.getpixel((5, 5)) == (196, 226, 244)  # light blue background


def test_a_card_killed_mid_write_leaves_only_a_partial_file_that_recovery_removes(tmp_path: Path) -> None:
    """Half a card is not a card: no `<serial>.png` exists until the whole file is renamed into place."""

    class Killed(BaseException):
        pass

    def kill() -> None:
        raise Killed

    ensure_private_dir(tmp_path)
    png = card_png(unsigned_job().card, card_serial="TPI-01-00000002", issued_on=ISSUED)
    with pytest.raises(Killed):
        write_card(tmp_path, "TPI-01-00000002", png, halfway=kill)
    assert not (tmp_path / "TPI-01-00000002.png").exists()
    assert remove_partial_cards(tmp_path) == 1
    assert list(tmp_path.iterdir()) == []
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == CARD_SIZE


@pytest.mark.parametrize("count", [1, 3, SYNC_THREADS, 3 * SYNC_THREADS + 5])
def test_a_batch_sync_flushes_every_card_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """However the batch is shared among the sync threads, each of its files is flushed, once."""
    flushed: list[Path] = []
    monkeypatch.setattr(render_module, "_fsync", flushed.append)  # list.append is atomic across threads
    paths = [tmp_path / f"TPI-01-{index:08d}.png.partial" for index in range(count)]
    sync_files(paths)
    assert sorted(flushed) == paths


def test_a_batch_sync_fails_when_a_file_cannot_be_flushed(tmp_path: Path) -> None:
    """A file that cannot be flushed fails the batch: its cards are not placed, so recovery writes them again."""
    present = tmp_path / "TPI-01-00000001.png.partial"
    present.write_bytes(b"card")
    with pytest.raises(FileNotFoundError):
        sync_files([present, tmp_path / "TPI-01-00000002.png.partial"])


def test_an_existing_folder_others_can_read_is_refused_not_changed(tmp_path: Path) -> None:
    """`--out` pointing at a shared folder is an error; the folder's mode is left as it was."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    with pytest.raises(StationError, match="personal data"):
        ensure_private_dir(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
