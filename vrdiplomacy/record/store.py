"""The record on disk: an SQLite database, one row per entry, durable when :meth:`RecordStore.append` returns.

Schema (``PRAGMA application_id`` = 0x56524452 "VRDR", ``user_version`` = 1)::

    header(id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB NOT NULL)   -- RecordHeader bytes
    entries(seq INTEGER PRIMARY KEY, data BLOB NOT NULL)                -- Entry bytes

Durability: write-ahead logging (``journal_mode=WAL``) with ``synchronous=FULL``: SQLite fsyncs
the log before COMMIT returns, so an entry whose :meth:`~RecordStore.append` returned survives a
``kill -9`` or a power cut; a transaction torn half-way is rolled back when the file is next
opened (SQLite checks every log frame's checksum). Each append is its own transaction
(``BEGIN IMMEDIATE`` ... ``COMMIT``): the node acknowledges an entry only after that.

Any SQLite failure (not a database, a damaged page, a full disk) becomes a one-line
:class:`~vrdiplomacy.record.entry.RecordError` naming the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.record.entry import Entry, RecordError, RecordHeader

APPLICATION_ID = 0x56524452  # "VRDR"
SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE header (id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB NOT NULL)",
    "CREATE TABLE entries (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)",
)


def _damaged(path: Path, e: Exception) -> RecordError:
    return RecordError(f"{path}: not a readable vrdiplomacy record ({e})")


class RecordStore:
    """An open record file. :meth:`create` a new one, :meth:`open` an existing one (``readonly``
    for verify and export). Rows are read back as raw bytes (:meth:`rows`) so a verifier sees
    exactly what is stored."""

    def __init__(self, path: Path, db: sqlite3.Connection, header: RecordHeader) -> None:
        self.path = path
        self._db = db
        self.header = header

    # ------------------------------------------------------------ opening

    @classmethod
    def create(cls, path: Path, header: RecordHeader) -> RecordStore:
        """A new record file at ``path`` (refused when one exists)."""
        if path.exists():
            raise RecordError(f"{path} already exists")
        try:
            db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as e:
            raise RecordError(f"cannot create {path}: {e}") from None
        try:
            cls._pragmas(db)
            db.execute("BEGIN IMMEDIATE")
            for stmt in _SCHEMA:
                db.execute(stmt)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("INSERT INTO header (id, data) VALUES (1, ?)", (bytes(header),))
            db.execute("COMMIT")
        except sqlite3.Error as e:
            db.close()
            raise RecordError(f"cannot create {path}: {e}") from None
        return cls(path, db, header)

    @classmethod
    def open(cls, path: Path, readonly: bool = False) -> RecordStore:
        """An existing record file (its header read and checked)."""
        if not path.exists():
            raise RecordError(f"{path}: no such record file")
        if not path.is_file():
            raise RecordError(f"{path} is not a file")
        if path.stat().st_size == 0:
            raise RecordError(f"{path} is empty: not a vrdiplomacy record")
        try:
            if readonly:
                try:
                    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
                    db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                except sqlite3.OperationalError:
                    # a log left by a crash needs write access to be read: open normally (SQLite recovers it)
                    db = sqlite3.connect(path, isolation_level=None)
            else:
                db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as e:
            raise _damaged(path, e) from None
        try:
            if not readonly:
                cls._pragmas(db)
            app = db.execute("PRAGMA application_id").fetchone()[0]
            if app != APPLICATION_ID:
                raise RecordError(f"{path} is an SQLite database but not a vrdiplomacy record")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise RecordError(f"{path}: record format {version} is not supported (this version reads {SCHEMA_VERSION})")
            row = db.execute("SELECT data FROM header WHERE id = 1").fetchone()
            if row is None or not isinstance(row[0], bytes):
                raise RecordError(f"{path}: the record has no header")
            header = RecordHeader.parse(row[0])
        except (sqlite3.Error, ProtocolError) as e:
            db.close()
            raise _damaged(path, e) from None
        except RecordError:
            db.close()
            raise
        return cls(path, db, header)

    @staticmethod
    def _pragmas(db: sqlite3.Connection) -> None:
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            db.execute("PRAGMA journal_mode = DELETE")  # a file system without shared memory: rollback journal
        db.execute("PRAGMA synchronous = FULL")

    # ------------------------------------------------------------ reading

    def rows(self) -> Iterator[tuple[int, bytes]]:
        """(seq column, stored entry bytes) in seq order."""
        try:
            for seq, data in self._db.execute("SELECT seq, data FROM entries ORDER BY seq"):
                yield int(seq), bytes(data) if isinstance(data, (bytes, memoryview)) else str(data).encode()
        except sqlite3.Error as e:
            raise _damaged(self.path, e) from None

    def last(self) -> Entry | None:
        """The last stored entry (None in an empty record)."""
        try:
            row = self._db.execute("SELECT data FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        except sqlite3.Error as e:
            raise _damaged(self.path, e) from None
        if row is None:
            return None
        try:
            return Entry.parse(bytes(row[0]))
        except ProtocolError as e:
            raise RecordError(f"{self.path}: the last entry is damaged ({e})") from None

    def count(self) -> int:
        try:
            return int(self._db.execute("SELECT count(*) FROM entries").fetchone()[0])
        except sqlite3.Error as e:
            raise _damaged(self.path, e) from None

    # ------------------------------------------------------------ writing

    def append(self, entry: Entry) -> None:
        """Store ``entry``; when this returns, COMMIT returned (the entry is on stable storage)."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT INTO entries (seq, data) VALUES (?, ?)", (entry.seq, bytes(entry)))
            self._db.execute("COMMIT")
        except sqlite3.Error as e:
            if self._db.in_transaction:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise RecordError(f"cannot write entry {entry.seq} to {self.path}: {e}") from None

    def close(self) -> None:
        try:
            self._db.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
