"""The simulated printer: a KTP-el card as a PNG, written atomically.

The PNG is the card. It is written to a temp file, fsynced, renamed to `<card_serial>.png` and the folder
fsynced: a card either exists whole or not at all, which is what the recovery relies on (a job in
`printing` whose PNG exists was printed). The station writes a batch's cards that way in three passes
(write every temp file, fsync them together, rename each) and fsyncs the folder once before its journal
records them: a file's flush waits on the disk, and the disk takes a batch's flushes together.

File names hold the card serial, never the NIK. The card shows the full NIK, as the physical card does, so
the cards folder is personal data: it is created with mode 0700 and every card with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import stat
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from events.enrollment import MaritalStatus, Religion, Sex
from events.printing import CardData
from pipeline.station.errors import StationError

CARD_SIZE = (1012, 638)  # ID-1 proportions (85.60 x 53.98 mm) at about 300 dpi
BACKGROUND = (196, 226, 244)  # the light blue of the KTP-el
INK = (20, 20, 20)
VALUE_WIDTH = 760 - 250  # from the colon to the photo
PARTIAL_SUFFIX = ".png.partial"
PRIVATE_DIR_MODE = 0o700
CARD_FILE_MODE = 0o600
SYNC_THREADS = 8  # the flushes of a batch's cards in flight at once

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

SEX_LABEL = {Sex.MALE: "LAKI-LAKI", Sex.FEMALE: "PEREMPUAN"}
RELIGION_LABEL = {
    Religion.ISLAM: "ISLAM", Religion.KRISTEN: "KRISTEN", Religion.KATOLIK: "KATOLIK", Religion.HINDU: "HINDU",
    Religion.BUDDHA: "BUDDHA", Religion.KONGHUCU: "KHONGHUCU", Religion.KEPERCAYAAN: "KEPERCAYAAN TERHADAP TUHAN YME",
}
MARITAL_LABEL = {
    MaritalStatus.SINGLE: "BELUM KAWIN", MaritalStatus.MARRIED: "KAWIN",
    MaritalStatus.DIVORCED: "CERAI HIDUP", MaritalStatus.WIDOWED: "CERAI MATI",
}


@cache
def _font(size: int, *, bold: bool = False) -> Font:
    """DejaVu when the system has it (most Linux), else Pillow's own scalable default font."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(name, size)
    except OSError:
        return ImageFont.load_default(size)


def card_fields(card: CardData) -> list[tuple[str, str]]:
    """The card's labelled lines, as printed (docs/architecture.md, "Card fields")."""
    address = card.address
    return [
        ("Nama", card.full_name),
        ("Tempat/Tgl Lahir", f"{card.birth_place}, {card.birth_date:%d-%m-%Y}"),
        ("Jenis Kelamin", SEX_LABEL[card.sex]),
        ("Gol. Darah", card.blood_type.value),
        ("Alamat", address.street),
        ("RT/RW", f"{address.rt}/{address.rw}"),
        ("Kel/Desa", address.kelurahan),
        ("Kecamatan", address.kecamatan),
        ("Agama", RELIGION_LABEL[card.religion]),
        ("Status Perkawinan", MARITAL_LABEL[card.marital_status]),
        ("Pekerjaan", card.occupation),
        ("Kewarganegaraan", card.citizenship),
        ("Berlaku Hingga", card.valid_until),
    ]


def province_heading(province: str) -> str:
    name = province.upper()
    return name if name.startswith("PROVINSI") else f"PROVINSI {name}"


def _centered(draw: ImageDraw.ImageDraw, y: int, text: str, font: Font) -> None:
    width = draw.textlength(text, font=font)
    draw.text(((CARD_SIZE[0] - width) / 2, y), text, font=font, fill=INK)


def _photo(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], face_digest: str) -> None:
    """A stand-in for the photo: a symmetric 8x10 pattern drawn from the face digest, the same every time."""
    left, top, right, bottom = box
    seed = bytes.fromhex(face_digest) + hashlib.sha256(bytes.fromhex(face_digest)).digest()
    draw.rectangle(box, fill=(180, 40, 40))  # the red backdrop of a KTP-el photo
    columns, rows = 8, 10
    cell_w, cell_h = (right - left) // columns, (bottom - top) // rows
    colour = (seed[0] // 2 + 60, seed[1] // 2 + 60, seed[2] // 2 + 60)
    for row in range(rows):
        for column in range(columns // 2):
            if seed[(row * columns + column) % len(seed)] & 1:
                for mirrored in (column, columns - 1 - column):
                    x, y = left + mirrored * cell_w, top + row * cell_h
                    draw.rectangle((x, y, x + cell_w - 1, y + cell_h - 1), fill=colour)
    draw.rectangle(box, outline=INK, width=2)


def _signature(draw: ImageDraw.ImageDraw, origin: tuple[int, int], width: int, signature_digest: str) -> None:
    """A scribble drawn from the signature digest above the signature line."""
    x0, y0 = origin
    digest = bytes.fromhex(signature_digest)
    points = [(x0 + index * width // (len(digest) - 1), y0 - 6 - (byte % 28)) for index, byte in enumerate(digest)]
    draw.line(points, fill=(30, 30, 120), width=2)
    draw.line((x0, y0, x0 + width, y0), fill=INK, width=1)


def render_card(card: CardData, *, card_serial: str, issued_on: dt.date) -> Image.Image:
    """The card's front, as an image."""
    image = Image.new("RGB", CARD_SIZE, BACKGROUND)
    draw = ImageDraw.Draw(image)
    _centered(draw, 18, province_heading(card.address.province), _font(30, bold=True))
    _centered(draw, 56, card.address.city.upper(), _font(30, bold=True))
    label_font = _font(20)
    draw.text((36, 112), "NIK", font=_font(32, bold=True), fill=INK)
    draw.text((250, 112), f": {card.nik}", font=_font(32, bold=True), fill=INK)
    y = 162
    for label, value in card_fields(card):
        draw.text((36, y), label, font=label_font, fill=INK)
        draw.text((250, y), f": {value}", font=_fitted(draw, f": {value}", VALUE_WIDTH, 20), fill=INK)
        y += 33
    _photo(draw, (780, 150, 960, 390), card.face)
    issue_font = _font(18)
    _centered_in(draw, (760, 980), 402, card.issued_in.upper().removeprefix("KOTA ").removeprefix("KABUPATEN "),
                 issue_font)
    _centered_in(draw, (760, 980), 426, f"{issued_on:%d-%m-%Y}", issue_font)
    _signature(draw, (790, 520), 160, card.signature)
    draw.text((36, CARD_SIZE[1] - 30), card_serial, font=_font(14), fill=(90, 90, 90))
    return image


def _fitted(draw: ImageDraw.ImageDraw, text: str, width: int, size: int) -> Font:
    """The bold font at `size`, or smaller until `text` fits in `width` (a long kelurahan, a long name)."""
    while size > 10 and draw.textlength(text, font=_font(size, bold=True)) > width:
        size -= 1
    return _font(size, bold=True)


def _centered_in(draw: ImageDraw.ImageDraw, span: tuple[int, int], y: int, text: str, font: Font) -> None:
    width = draw.textlength(text, font=font)
    draw.text((span[0] + (span[1] - span[0] - width) / 2, y), text, font=font, fill=INK)


def card_png(card: CardData, *, card_serial: str, issued_on: dt.date) -> bytes:
    """The card as PNG bytes."""
    buffer = io.BytesIO()
    render_card(card, card_serial=card_serial, issued_on=issued_on).save(buffer, format="PNG")
    return buffer.getvalue()


@cache
def instant_png() -> bytes:
    """A 1x1 PNG for benchmarks (`ektp station run --instant`): the file exists, so recovery is the same, but
    nothing is drawn. A real station never uses it."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), BACKGROUND).save(buffer, format="PNG")
    return buffer.getvalue()


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and parents) with mode 0700: it holds personal data.

    An existing folder that others may read is refused, not changed: `--out /tmp` must not make /tmp private.
    """
    if not path.exists():
        path.mkdir(parents=True, mode=PRIVATE_DIR_MODE)
        path.chmod(PRIVATE_DIR_MODE)  # mkdir's mode passes through the umask
        return
    if not path.is_dir():
        raise StationError(f"{path} is not a folder")
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise StationError(f"{path} holds personal data but others may open it: `chmod 700 {path}` or choose another")


def card_path(out_dir: Path, card_serial: str) -> Path:
    return out_dir / f"{card_serial}.png"


def write_card(
    out_dir: Path, card_serial: str, png: bytes, *, halfway: Callable[[], None] | None = None, sync_folder: bool = True,
) -> Path:
    """Write one card atomically: temp file, fsync, rename, fsync the folder. `halfway` runs mid-write.

    `sync_folder=False` leaves the folder's fsync to the caller (`fsync_folder`), as the bench's disk probe does.
    """
    partial = write_partial(out_dir, card_serial, png, halfway=halfway)
    sync_files([partial])
    final = place_card(partial)
    if sync_folder:
        fsync_folder(out_dir)
    return final


def write_partial(out_dir: Path, card_serial: str, png: bytes, *, halfway: Callable[[], None] | None = None) -> Path:
    """Write a card's bytes to its temp file, not yet synced: it is no card until `place_card` renames it.

    `halfway` runs mid-write, once the half written so far is synced, so that a hook killing the station
    there leaves half a card on disk.
    """
    partial = out_dir / f"{card_serial}{PARTIAL_SUFFIX}"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, CARD_FILE_MODE)
    try:
        half = len(png) // 2
        _write_all(descriptor, png[:half])
        if halfway is not None:
            os.fsync(descriptor)
            halfway()
        _write_all(descriptor, png[half:])
    finally:
        os.close(descriptor)
    return partial


def sync_files(paths: Sequence[Path]) -> None:
    """Make the files' contents durable, up to `SYNC_THREADS` flushes at once. Blocks: run it off the event loop.

    The paths go to the threads in `SYNC_THREADS` shares, each flushed in turn by one thread: a task per
    share rather than per file, so a batch of cards costs eight hand-offs between threads, not one a card.
    """
    if len(paths) == 1:
        _fsync(paths[0])
    elif paths:
        shares = [paths[start::SYNC_THREADS] for start in range(min(SYNC_THREADS, len(paths)))]
        list(_sync_pool().map(_fsync_each, shares))  # list() raises the first error


def place_card(partial: Path) -> Path:
    """Rename a synced temp file to its card's name: from here the card exists (the folder's fsync makes it last)."""
    final = card_path(partial.parent, partial.name.removesuffix(PARTIAL_SUFFIX))
    partial.replace(final)
    return final


@cache
def _sync_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=SYNC_THREADS, thread_name_prefix="card-sync")


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def remove_partial_cards(out_dir: Path) -> int:
    """Delete the temp files a crash left, half written or not yet renamed (they are not cards); how many."""
    removed = 0
    for partial in out_dir.glob(f"*{PARTIAL_SUFFIX}"):
        partial.unlink(missing_ok=True)
        removed += 1
    if removed:
        fsync_folder(out_dir)
    return removed


def fsync_folder(path: Path) -> None:
    """Make the folder's entries (the renames of the cards written into it) durable."""
    _fsync(path)


def _fsync_each(paths: Sequence[Path]) -> None:
    for path in paths:
        _fsync(path)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
