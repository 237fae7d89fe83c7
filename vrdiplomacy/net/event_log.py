"""The relay's room event journal: a file in its state directory (an :class:`~vrdiplomacy.net.relay_events.EventStore`).

The relay core reports every change of its room logs (a room's log created, an event stored, a
log dropped) without waiting; they are encoded into a buffer. The adapter takes the buffer
(:meth:`FileEventStore.take`, on the event loop) and writes and ``fsync``-s it
(:meth:`FileEventStore.write`, in a worker thread) before it releases the control bytes the core
produced after those changes: acknowledgements and fan-out go out only once the events are on disk.

File: ``VRDEVLG1`` then records ``u32 length | u32 CRC-32 | body``; bodies are ``u8 kind | u16
key length | room key (UTF-8) | fields``:

======  ==========  ===============================================================
kind    name        fields
======  ==========  ===============================================================
1       created     ``u32 log_id | u32 seq`` (seq: the log's numbers continue after it)
2       event       ``u32 room_seq | u32 sender | u32 client_seq | payload``
3       dropped     (none)
4       client_seq  ``u32 client_id | u32 client_seq`` (written when compacting)
======  ==========  ===============================================================

A crash can leave a torn record at the end: loading stops at the first record whose length or
CRC does not hold, truncates the file there and counts the bytes (:attr:`FileEventStore.torn_bytes`);
those changes were never synced, so nothing acknowledged is lost. The file is only ever appended
to, so a bad record with good ones *after* it is damage, not a torn write (a bad sector, a stray
write): loading then skips to the next record whose length and CRC hold and reads on, counts what
it skipped (:attr:`FileEventStore.damaged_bytes`), keeps the damaged file as it was beside the
journal (``<name>.damaged``, ``.damaged-2`` ...) and rewrites the journal from what it read, so the
acknowledged events after the damage stay (the damaged records themselves are gone, and with a
damaged ``created`` record the events of that room log). When the file grows past
``compact_bytes`` (and twice its live content) it is rewritten from the live logs (kept
history and client sequence numbers) into a temporary file, synced and renamed over it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import zlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.net.relay_events import RoomLog, StoredEvent

log = logging.getLogger("vrdiplomacy.relay")

MAGIC = b"VRDEVLG1"
CREATED, EVENT, DROPPED, CLIENT_SEQ = 1, 2, 3, 4
_HEAD = struct.Struct("!II")
_U32x2 = struct.Struct("!II")
_U32x3 = struct.Struct("!III")
MAX_RECORD = 1 << 20


def _record(kind: int, key: str, fields: bytes) -> bytes:
    k = key.encode("utf-8")
    body = bytes((kind,)) + len(k).to_bytes(2, "big") + k + fields
    return _HEAD.pack(len(body), zlib.crc32(body)) + body


@dataclass
class Batch:
    """What one sync writes: appended records, or (``compact``) the whole file's new content."""

    data: bytes
    compact: bool
    events: int


class FileEventStore:
    """Room event logs in a journal file (see the module docstring); ``compact_bytes``: the file
    size past which it is rewritten from the live logs."""

    def __init__(self, path: Path, compact_bytes: int = 8 << 20) -> None:
        self.path = path
        self.compact_bytes = compact_bytes
        self.torn_bytes = 0
        self.damaged_bytes = 0  # bytes skipped inside the file (damage, not a torn tail); see load
        self.damaged_copy: Path | None = None  # where the damaged file was kept
        self.records_skipped = 0
        self.syncs = 0
        self.compactions = 0
        self.size = 0
        self._buf = bytearray()
        self._events = 0  # event records in the buffer
        self._logs: dict[str, RoomLog] = {}
        self._live = 0  # bytes of the last compaction (or load)
        self._fd = -1
        self._force_compact = False

    # ------------------------------------------------------------ EventStore (event loop)

    def load(self, history: int) -> dict[str, RoomLog]:
        """Read the journal (creating it, mode 0600, when there is none); truncate a torn tail."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            data = b""
        except OSError as e:
            raise ConfigError(f"{self.path}: cannot read the relay's event journal ({e.strerror})") from None
        if data and not data.startswith(MAGIC):
            raise ConfigError(f"{self.path}: not a relay event journal (remove it to start with empty room logs)")
        logs, good = self._parse(data, history)
        try:
            if not data:
                self._write_new(MAGIC)
                good = len(MAGIC)
            elif self.damaged_bytes:
                self.damaged_copy = self._keep_damaged(data)
                self._logs = dict(logs)
                content = self._snapshot()
                self._write_new(content)
                data, good = content, len(content)
                log.error("%s: %d damaged bytes inside the journal skipped; the events after them were kept, the "
                          "damaged file saved as %s", self.path, self.damaged_bytes, self.damaged_copy)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            if good < len(data):
                self.torn_bytes = len(data) - good
                log.warning("%s: dropped a torn record of %d bytes at the end (never acknowledged)", self.path,
                            self.torn_bytes)
                os.ftruncate(self._fd, good)
                os.fsync(self._fd)
        except OSError as e:
            raise ConfigError(f"{self.path}: cannot open the relay's event journal ({e.strerror})") from None
        self.size = self._live = good
        self._logs = dict(logs)
        return logs

    def created(self, rl: RoomLog) -> None:
        self._logs[rl.key] = rl
        self._buf += _record(CREATED, rl.key, _U32x2.pack(rl.log_id, rl.seq))

    def appended(self, rl: RoomLog, ev: StoredEvent) -> None:
        self._buf += _record(EVENT, rl.key, _U32x3.pack(ev.room_seq, ev.sender, ev.client_seq) + ev.payload)
        self._events += 1

    def dropped(self, key: str) -> None:
        self._logs.pop(key, None)
        self._buf += _record(DROPPED, key, b"")

    # ------------------------------------------------------------ syncing

    @property
    def unsynced(self) -> bool:
        """Changes not yet taken for a sync."""
        return bool(self._buf) or self._force_compact

    def take(self) -> Batch | None:
        """The changes since the last take (on the event loop), or the compacted file."""
        if not self.unsynced:
            return None
        n, self._events = self._events, 0
        grown = self.size + len(self._buf)
        if self._force_compact or (grown > self.compact_bytes and grown > 2 * self._live):
            self._force_compact = False
            self._buf.clear()
            return Batch(self._snapshot(), True, n)
        data = bytes(self._buf)
        self._buf.clear()
        return Batch(data, False, n)

    def write(self, batch: Batch) -> None:
        """Write and fsync ``batch`` (in a worker thread; one at a time). Raises OSError."""
        if batch.compact:
            self._write_new(batch.data)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            old, self._fd = self._fd, fd
            if old >= 0:
                os.close(old)
            self.size = self._live = len(batch.data)
            self.compactions += 1
        else:
            try:
                view = memoryview(batch.data)
                while view:
                    view = view[os.write(self._fd, view):]
                os.fsync(self._fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self.size)  # no half record before the retry
                raise
            self.size += len(batch.data)
        self.syncs += 1

    def requeue(self, batch: Batch) -> None:
        """A failed :meth:`write`: its changes go into the next batch again (first)."""
        if batch.compact:
            self._force_compact = True
        else:
            self._buf[0:0] = batch.data
        self._events += batch.events

    def sync(self) -> None:
        """Take and write what is pending, here and now (tests; closing)."""
        batch = self.take()
        if batch is not None:
            self.write(batch)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # ------------------------------------------------------------ file content

    def _write_new(self, content: bytes) -> None:
        """Replace the file with ``content``, durably (temporary file, fsync, rename, fsync dir)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        _write_synced(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), content)
        os.replace(tmp, self.path)
        with contextlib.suppress(OSError):  # the rename's own durability; Windows cannot open a folder
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def _keep_damaged(self, data: bytes) -> Path:
        """Save the damaged journal as it was, next to it, under a name not yet taken."""
        n = 1
        while True:
            copy = self.path.with_name(f"{self.path.name}.damaged" + (f"-{n}" if n > 1 else ""))
            try:
                fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                n += 1
                continue
            _write_synced(fd, data)
            return copy

    def _snapshot(self) -> bytes:
        out = bytearray(MAGIC)
        for key, rl in self._logs.items():
            base = rl.history[0].room_seq - 1 if rl.history else rl.seq
            out += _record(CREATED, key, _U32x2.pack(rl.log_id, base))
            for cid, cseq in rl.client_seqs.items():
                out += _record(CLIENT_SEQ, key, _U32x2.pack(cid, cseq))
            for ev in rl.history:
                out += _record(EVENT, key, _U32x3.pack(ev.room_seq, ev.sender, ev.client_seq) + ev.payload)
        return bytes(out)

    def _parse(self, data: bytes, history: int) -> tuple[dict[str, RoomLog], int]:
        """The logs in ``data`` and the length of its valid prefix."""
        logs: dict[str, RoomLog] = {}
        pos = good = len(MAGIC) if data else 0
        n = len(data)
        while pos + _HEAD.size <= n:
            if not _valid_at(data, pos):
                nxt = _next_valid(data, pos + 1)
                if nxt is None:  # nothing good after it: a torn tail
                    break
                self.damaged_bytes += nxt - pos  # good records follow: damage inside the file
                pos = nxt
            ln, _ = _HEAD.unpack_from(data, pos)
            end = pos + _HEAD.size + ln
            body = data[pos + _HEAD.size:end]
            pos = good = end
            kind, kl = body[0], int.from_bytes(body[1:3], "big")
            try:
                key = body[3:3 + kl].decode("utf-8")
            except UnicodeDecodeError:
                self.records_skipped += 1
                continue
            f = body[3 + kl:]
            if kind == CREATED and len(f) == 8:
                log_id, seq = _U32x2.unpack(f)
                logs[key] = RoomLog(key, log_id, seq, deque(maxlen=history))
            elif kind == EVENT and len(f) >= 12 and key in logs:
                rs, sender, cseq = _U32x3.unpack_from(f)
                logs[key].add(StoredEvent(rs, sender, cseq, bytes(f[12:])))
            elif kind == DROPPED:
                logs.pop(key, None)
            elif kind == CLIENT_SEQ and len(f) == 8 and key in logs:
                cid, cseq = _U32x2.unpack(f)
                rl = logs[key]
                rl.client_seqs[cid] = max(rl.client_seqs.get(cid, 0), cseq)
            else:
                self.records_skipped += 1
        return logs, good


def _write_synced(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the open file ``fd``, fsync and close it."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _valid_at(data: bytes, pos: int) -> bool:
    """Whether a whole record whose length and CRC hold starts at ``pos``."""
    if pos + _HEAD.size > len(data):
        return False
    ln, crc = _HEAD.unpack_from(data, pos)
    end = pos + _HEAD.size + ln
    if ln < 3 or ln > MAX_RECORD or end > len(data) or data[pos + _HEAD.size] not in (CREATED, EVENT, DROPPED, CLIENT_SEQ):
        return False
    return zlib.crc32(data[pos + _HEAD.size:end]) == crc


def _next_valid(data: bytes, start: int) -> int | None:
    """The first offset from ``start`` on where a valid record starts (None: none), so a damaged
    record is skipped rather than everything after it. A false match needs a length that fits, a
    known kind and a matching CRC-32 at once."""
    for q in range(start, len(data) - _HEAD.size):
        if _valid_at(data, q):
            return q
    return None
