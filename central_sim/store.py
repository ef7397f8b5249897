"""Central's memory, in sqlite (WAL): the people on file with their finger digests, every decision by
request_id, and the signing key. A restart forgets nothing: same key (same kid), same decisions.

A person is kept as a keyed hash of the NIK (`person_id`), with a random secret made once per store:
equality is all deduplication needs, and the store file alone gives no NIK away.

The gallery (which person holds which finger digest) is one row per person in the file, its ten digests in
one column, and an index by digest in memory, read from the file at open. An index of the digests in the
file would cost every person filed ten writes to random pages of a B-tree: most of central's work, while the
lookups it serves are one dictionary read each. A store written with that index (`finger_digests`) is read
as it stands and filed on in the new way.

Not thread-safe: one connection, used from the event loop only. Each call is short, and doing them
without awaiting in between is what makes "look up, decide, record" atomic for one request_id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from central_sim.errors import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS people (
    person_id TEXT PRIMARY KEY,
    first_request_id TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    digests TEXT
);
-- The index by digest of stores written before `people.digests`: read at open, no longer written.
CREATE TABLE IF NOT EXISTS finger_digests (
    digest TEXT NOT NULL,
    person_id TEXT NOT NULL,
    PRIMARY KEY (digest, person_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS decisions (
    request_id TEXT PRIMARY KEY,
    body_digest TEXT NOT NULL,
    person_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    token TEXT NOT NULL
);
"""

_SIGNING_KEY = "signing_key_pem"
_DIGEST_SEPARATOR = " "  # between the digests of `people.digests` (a digest is 64 hex digits, `events.common.Digest`)
_PERSON_SECRET = "person_secret"  # noqa: S105 (the name of a meta row, not a secret)


@dataclass(frozen=True)
class StoredDecision:
    """A decision as central recorded it; a repeat of its request_id gets exactly this back."""

    request_id: str
    body_digest: str
    person_id: str
    decision: str
    reason: str
    decided_at: str
    token: str


class CentralStore:
    """The sqlite file `<data_dir>/central.sqlite3`."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = data_dir / "central.sqlite3"
        try:
            # Created owner-only before sqlite opens it: the file holds the signing key (its WAL and
            # shared-memory files get the same mode from sqlite).
            self.path.touch(mode=0o600, exist_ok=True)
            # Autocommit mode: transactions are begun explicitly (`transaction()`), never implicitly.
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL loses at most the last commits on power loss, never consistency.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open central's store {self.path}: {error}") from error
        self._depth = 0
        self._person_secret = self._meta_or_create(_PERSON_SECRET, lambda: secrets.token_bytes(32))
        self._gallery = Gallery()
        self._pending = Gallery()  # filed in the open transaction: joins `_gallery` when it commits
        try:
            self._read_gallery()
        except sqlite3.Error as error:
            raise StoreError(f"cannot read the gallery of central's store {self.path}: {error}") from error

    def _read_gallery(self) -> None:
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(people)")}
        if "digests" not in columns:  # a store written before the column
            self._db.execute("ALTER TABLE people ADD COLUMN digests TEXT")
        for person_id, digests in self._db.execute("SELECT person_id, digests FROM people WHERE digests IS NOT NULL"):
            self._gallery.add(person_id, digests.split(_DIGEST_SEPARATOR))
        for digest, person_id in self._db.execute("SELECT digest, person_id FROM finger_digests"):
            self._gallery.add(person_id, (digest,))

    def close(self) -> None:
        """Close the database; the WAL is checkpointed."""
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit (nestable: only the outermost commits)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
            self._gallery.update(self._pending)
        finally:
            self._depth = 0
            self._pending = Gallery()

    # -- meta: the signing key and the person secret

    def _meta_or_create(self, name: str, create: Callable[[], bytes]) -> bytes:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return bytes(row[0])
        value = create()
        self._db.execute("INSERT INTO meta (name, value) VALUES (?, ?)", (name, value))
        return value

    def signing_key_pem(self) -> bytes | None:
        """The stored signing key, or None before the first start."""
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (_SIGNING_KEY,)).fetchone()
        return None if row is None else bytes(row[0])

    def save_signing_key_pem(self, pem: bytes) -> None:
        """Keep the signing key; it is never replaced once stored."""
        self._db.execute("INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)", (_SIGNING_KEY, pem))

    # -- people

    def person_id(self, nik: str) -> str:
        """The store's name for the person with this NIK."""
        return hmac.new(self._person_secret, nik.encode("ascii"), hashlib.sha256).hexdigest()

    def digests_held_by_others(self, digests: Collection[str], person_id: str) -> set[str]:
        """Those of `digests` that some person other than `person_id` has on file."""
        return self._gallery.held_by_others(digests, person_id) | self._pending.held_by_others(digests, person_id)

    def file_person(self, person_id: str, request_id: str, digests: Collection[str], filed_at: str) -> bool:
        """Put a person on file with their finger digests, unless they are already: the first record wins.

        Call it inside `transaction()`: the digests join the gallery when that transaction commits.
        """
        if not self._depth:
            raise StoreError("file_person outside a transaction")
        unique = sorted(set(digests))
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO people (person_id, first_request_id, filed_at, digests) VALUES (?, ?, ?, ?)",
            (person_id, request_id, filed_at, _DIGEST_SEPARATOR.join(unique)),
        )
        if cursor.rowcount == 0:
            return False
        self._pending.add(person_id, unique)
        return True

    def count_people(self) -> int:
        """How many people central has on file."""
        return int(self._db.execute("SELECT COUNT(*) FROM people").fetchone()[0])

    # -- decisions

    def find_decision(self, request_id: str) -> StoredDecision | None:
        """The decision already made for `request_id`, if any."""
        row = self._db.execute(
            "SELECT request_id, body_digest, person_id, decision, reason, decided_at, token "
            "FROM decisions WHERE request_id = ?",
            (request_id,),
        ).fetchone()
        return None if row is None else StoredDecision(*row)

    def save_decision(self, decision: StoredDecision) -> None:
        """Record a new decision (request_ids are unique: a second save of one is a bug)."""
        self._db.execute(
            "INSERT INTO decisions (request_id, body_digest, person_id, decision, reason, decided_at, token) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                decision.request_id, decision.body_digest, decision.person_id, decision.decision,
                decision.reason, decision.decided_at, decision.token,
            ),
        )

    def count_decisions(self) -> dict[str, int]:
        """How many decisions of each kind central has made."""
        rows = self._db.execute("SELECT decision, COUNT(*) FROM decisions GROUP BY decision").fetchall()
        return {str(decision): int(count) for decision, count in rows}


class Gallery:
    """Who holds each finger digest: a digest maps to its one holder, or to the set of them when several NIKs
    share it (a duplicate record is kept on file too)."""

    def __init__(self) -> None:
        self._holders: dict[str, str | frozenset[str]] = {}

    def add(self, person_id: str, digests: Collection[str]) -> None:
        for digest in digests:
            held = self._holders.get(digest)
            if held is None:
                self._holders[digest] = person_id
            elif isinstance(held, str):
                if held != person_id:
                    self._holders[digest] = frozenset((held, person_id))
            else:
                self._holders[digest] = held | {person_id}

    def update(self, other: Gallery) -> None:
        """Take in everyone `other` holds."""
        for digest, holders in other._holders.items():
            for person_id in (holders,) if isinstance(holders, str) else holders:
                self.add(person_id, (digest,))

    def held_by_others(self, digests: Collection[str], person_id: str) -> set[str]:
        """Those of `digests` that some person other than `person_id` holds."""
        held: set[str] = set()
        for digest in digests:
            holders = self._holders.get(digest)
            if holders is None:
                continue
            if isinstance(holders, str):
                if holders != person_id:
                    held.add(digest)
            elif holders - {person_id}:
                held.add(digest)
        return held
