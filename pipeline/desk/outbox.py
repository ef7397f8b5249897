"""A recording desk's durable outbox: every submission is saved here first, then sent when the broker answers.

One SQLite file per desk (`<run_dir>/desks/<desk>/outbox.sqlite3`, mode 0600: it holds personal data until
sent), in WAL mode with `synchronous=FULL`, so that a submission the desk said it saved survives a SIGKILL or
a power cut. Rows keep the recording order (`seq`); the sender takes them oldest first. A row is deleted once
the broker acknowledged it, so the desk keeps no citizen's data longer than the link is down; only counters
stay. `ektp enroll --desk` and the desk process (`ektp desk run`) may write and read the file at the same
time: each transaction takes SQLite's write lock, waiting up to `_BUSY_TIMEOUT_MS`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import EktpError

SCHEMA_VERSION = 1
_BUSY_TIMEOUT_MS = 10_000
_DESK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key BLOB,
    value BLOB NOT NULL,
    saved_at TEXT NOT NULL
);
"""


class DeskError(EktpError):
    """A desk's outbox cannot be used as asked (a bad desk id, a file of another desk)."""


@dataclass(frozen=True, slots=True)
class Waiting:
    """One saved submission not yet acknowledged by the broker, in recording order."""

    seq: int
    key: bytes | None
    value: bytes
    saved_at: dt.datetime


@dataclass(frozen=True, slots=True)
class OutboxState:
    """What a desk reports: how many wait, since when, and how many the broker acknowledged in all."""

    pending: int
    oldest_pending_at: dt.datetime | None
    sent: int
    saved: int


def valid_desk_id(desk_id: str) -> str:
    """The desk id, checked: it names a folder and a topic key, so letters, digits, `_`, `.` and `-` only."""
    if not _DESK_ID.match(desk_id):
        raise DeskError(f"a desk id is 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit: "
                        f"{desk_id!r}")
    return desk_id


def outbox_path(run_dir: Path, desk_id: str) -> Path:
    """Where desk `desk_id` keeps its outbox under the run folder."""
    return run_dir / "desks" / valid_desk_id(desk_id) / "outbox.sqlite3"


class Outbox:
    """The outbox of one desk. Open it, use it, `close()` it; several processes may hold it at once."""

    def __init__(self, path: Path, desk_id: str) -> None:
        self.path = path
        self.desk_id = valid_desk_id(desk_id)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            # Submissions are personal data: the file (and the WAL files SQLite gives the same mode) is 0600.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                   timeout=_BUSY_TIMEOUT_MS / 1000)
        self._db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a submission the desk said it saved is on disk, even when the machine loses power afterwards.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        with self._tx():
            owner = self._meta("desk_id")
            if owner is None:
                self._set_meta("desk_id", self.desk_id)
                self._set_meta("schema_version", str(SCHEMA_VERSION))
                self._set_meta("sent", "0")
            elif owner != self.desk_id:
                raise DeskError(f"{path} is the outbox of desk {owner}, not {self.desk_id}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def save(self, submissions: Iterable[tuple[bytes | None, bytes]], now: dt.datetime | None = None) -> int:
        """Save submissions (key, raw bytes) in the order given, in one synced transaction; return how many."""
        saved_at = (now or dt.datetime.now(dt.UTC)).isoformat()
        rows = [(key, value, saved_at) for key, value in submissions]
        with self._tx() as db:
            db.executemany("INSERT INTO outbox (key, value, saved_at) VALUES (?, ?, ?)", rows)
        return len(rows)

    def waiting(self, limit: int) -> list[Waiting]:
        """The oldest `limit` submissions not yet acknowledged, oldest first."""
        rows = self._db.execute("SELECT seq, key, value, saved_at FROM outbox ORDER BY seq LIMIT ?", (limit,))
        return [Waiting(seq, key, value, dt.datetime.fromisoformat(saved_at)) for seq, key, value, saved_at in rows]

    def mark_sent(self, sent: Sequence[Waiting]) -> None:
        """The broker acknowledged `sent`: forget their data, count them, in one synced transaction."""
        if not sent:
            return
        with self._tx() as db:
            db.executemany("DELETE FROM outbox WHERE seq = ?", [(item.seq,) for item in sent])
            total = int(self._meta("sent") or 0) + len(sent)
            self._set_meta("sent", str(total))

    def state(self) -> OutboxState:
        """Pending count, the oldest pending submission's save time, and the acknowledged total."""
        with self._tx():  # one snapshot of both tables
            pending, oldest = self._db.execute("SELECT COUNT(*), MIN(saved_at) FROM outbox").fetchone()
            sent = int(self._meta("sent") or 0)
        return OutboxState(
            pending=int(pending),
            oldest_pending_at=None if oldest is None else dt.datetime.fromisoformat(oldest),
            sent=sent,
            saved=sent + int(pending),
        )
