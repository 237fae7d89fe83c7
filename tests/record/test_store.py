"""The record file after a crash: everything committed is there, a write torn half-way is rolled
back cleanly, and the chain goes on from the last whole entry."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from recordkit import Pki, cli

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.record.entry import (
    NOBODY,
    Chain,
    Note,
    Party,
    RecordError,
    RecordHeader,
)
from vrdiplomacy.record.store import RecordStore
from vrdiplomacy.record.verify import verify_rows


def _open_writer(path: Path, n: int) -> tuple[RecordStore, Chain]:
    me = Pki().identity("Secretariat", "observer")
    header = RecordHeader(os.urandom(16), "chamber", "127.0.0.1:1", time.time_ns() // 1000, ident.cert_der(me.certificate))
    store = RecordStore.create(path, header)
    chain = Chain(header, me.signing_key)
    for i in range(n):
        store.append(chain.next(Note(time.time_ns() // 1000, "gesture", Party(f"D{i}"), NOBODY, f"D{i} nods")))
    return store, chain


def _crash_image(src: Path, dst: Path) -> None:
    """The files as a crash leaves them: the database and its write-ahead log, never closed."""
    for suffix in ("", "-wal"):
        if Path(f"{src}{suffix}").exists():
            shutil.copyfile(f"{src}{suffix}", f"{dst}{suffix}")


def test_crash_keeps_every_committed_entry_and_the_chain_continues(tmp_path: Path) -> None:
    store, chain = _open_writer(tmp_path / "live.db", 25)
    assert Path(f"{tmp_path / 'live.db'}-wal").stat().st_size > 0  # the entries sit in the log, not checkpointed
    crash = tmp_path / "crash.db"
    _crash_image(tmp_path / "live.db", crash)
    store.close()
    with RecordStore.open(crash) as again:
        v = verify_rows(again.header, again.rows())
        assert len(v.entries) == 25 and v.head == chain.head
        more = Chain(again.header, chain.key, v.entries[-1])
        again.append(more.next(Note(time.time_ns() // 1000, "record_resumed", Party("Secretariat"), NOBODY, "resumed")))
    r = cli("record", "verify", crash)
    assert r.rc == 0 and r.out.startswith("26 entries, chain and signatures OK"), r.err


@pytest.mark.parametrize("cut", [1, 100, 4000])
def test_a_torn_last_write_is_rolled_back_and_the_rest_verifies(tmp_path: Path, cut: int) -> None:
    """The last transaction's log frames cut short (a write torn by a power cut before its fsync
    returned, so before it was acknowledged): SQLite's frame checksums drop that transaction; the
    24 entries before it are intact and the chain continues from entry 24."""
    store, chain = _open_writer(tmp_path / "live.db", 25)
    crash = tmp_path / "torn.db"
    _crash_image(tmp_path / "live.db", crash)
    store.close()
    wal = Path(f"{crash}-wal")
    wal.write_bytes(wal.read_bytes()[:-cut])
    with RecordStore.open(crash) as again:
        v = verify_rows(again.header, again.rows())
        assert len(v.entries) == 24
        more = Chain(again.header, chain.key, v.entries[-1])
        e = more.next(Note(time.time_ns() // 1000, "record_resumed", Party("Secretariat"), NOBODY, "resumed"))
        assert e.seq == 25
        again.append(e)
    assert cli("record", "verify", crash).out.startswith("25 entries, chain and signatures OK")


def test_create_refuses_an_existing_file_and_writes_fail_cleanly(tmp_path: Path) -> None:
    store, _ = _open_writer(tmp_path / "a.db", 1)
    with pytest.raises(RecordError, match="already exists"):
        RecordStore.create(tmp_path / "a.db", store.header)
    store.close()
    with pytest.raises(RecordError, match="no such record file"):
        RecordStore.open(tmp_path / "missing.db")
