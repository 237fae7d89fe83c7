"""``vrdiplomacy record verify`` and ``export`` as a user runs them, on intact and tampered files.

Tampering is done on the SQLite file's bytes (one byte of one stored entry, in every field and in
the signature), and with SQL (rows reordered, removed, renumbered): every change is reported as
exit 1 with the first bad entry named on one line, never a traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from recordkit import EVENTS, Pki, cli, make_record

from vrdiplomacy.record.entry import Entry


# offsets of the fields of a stored entry (see vrdiplomacy.record.entry): name -> offset from its start
def _field_offsets(raw: bytes) -> dict[str, int]:
    e = Entry.parse(raw)
    kind = 17
    actor = kind + 1 + len(e.kind.encode())
    subject = actor + 2 + len(e.actor.name.encode()) + len(e.actor.delegation.encode())
    text = subject + 2 + len(e.subject.name.encode()) + len(e.subject.delegation.encode())
    data = text + 2 + len(e.text.encode())
    return {"version": 0, "seq": 8, "time": 15, "kind": kind + 2, "actor": actor + 2, "subject": subject + 1,
            "text": text + 4, "data": data + 3, "prev_hash": len(raw) - 64 - 20, "signature": len(raw) - 7}


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


@pytest.fixture()
def record(tmp_path: Path, pki: Pki) -> tuple[Path, list[bytes], Path]:
    me = pki.identity("Secretariat", "observer")
    path = tmp_path / "meeting.db"
    entries = make_record(path, me, 6)
    return path, entries, pki.write_root(tmp_path / "root.crt")


def test_verify_ok_summary_and_export_lists_events_in_order(record: tuple[Path, list[bytes], Path]) -> None:
    path, entries, root = record
    r = cli("record", "verify", path, "--root", root)
    assert r.rc == 0, r.err
    first = r.out.splitlines()[0]
    assert first.startswith("6 entries, chain and signatures OK, signed by Secretariat (")
    assert "Conference Secretariat" in first
    assert Entry.parse(entries[-1]).hash().hex() in r.out
    out = path.parent / "minutes.md"
    r = cli("record", "export", path, "--format", "md", "--out", out, "--root", root)
    assert r.rc == 0, r.err
    md = out.read_text()
    assert md.startswith("# Minutes of the meeting in room chamber")
    assert "- Date: " in md and "- Room: chamber" in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| #")]
    assert [row.split(" | ")[0] for row in rows] == [f"| {i}" for i in range(1, 7)]
    assert [row.split(" | ")[3].rstrip(" |") for row in rows] == [e[3] for e in EVENTS]
    assert rows[0].split(" | ")[2] == "France (FR)"
    r = cli("record", "export", path, "--format", "json")
    assert r.rc == 0 and '"kind": "floor_granted"' in r.out


@pytest.mark.parametrize("field", ["version", "seq", "time", "kind", "actor", "subject", "text", "data", "prev_hash",
                                   "signature"])
def test_one_changed_byte_in_the_file_is_caught_naming_the_entry(record: tuple[Path, list[bytes], Path],
                                                                 field: str) -> None:
    path, entries, root = record
    target = 4  # the fourth entry: "Chair gave the floor to Japan" (every field filled)
    raw = entries[target - 1]
    data = bytearray(path.read_bytes())
    at = data.find(raw)
    assert at >= 0 and data.find(raw, at + 1) < 0, "the entry is stored once, contiguously"
    pos = at + _field_offsets(raw)[field]
    data[pos] ^= 0x01
    path.write_bytes(bytes(data))
    r = cli("record", "verify", path, "--root", root)
    assert r.rc == 1, r.out
    line = r.err.strip()
    assert line.startswith(f"error: entry {target}: "), line
    assert len(line.splitlines()) == 1 and "Traceback" not in r.err
    if field in ("text", "signature", "actor", "subject"):
        assert line == f"error: entry {target}: signature does not verify"
    if field == "prev_hash":
        assert line == f"error: entry {target}: hash chain broken"
    r = cli("record", "export", path)
    assert r.rc == 1 and f"entry {target}: " in r.err and not r.out  # no minutes from a broken record


def test_changed_header_breaks_the_chain_at_entry_1(record: tuple[Path, list[bytes], Path]) -> None:
    path, _, _ = record
    with sqlite3.connect(path) as db:
        (h,) = db.execute("SELECT data FROM header").fetchone()
        h = bytearray(h)
        h[20] ^= 0x01  # a letter of the room's name
        db.execute("UPDATE header SET data = ? WHERE id = 1", (bytes(h),))
    db.close()
    r = cli("record", "verify", path)
    assert r.rc == 1 and r.err.strip() == "error: entry 1: hash chain broken", r.err


def _sql(path: Path, *statements: str) -> None:
    db = sqlite3.connect(path)
    with db:
        for s in statements:
            db.execute(s)
    db.close()


@pytest.mark.parametrize("how, statements, named", [
    ("swap 2 and 3", ["UPDATE entries SET seq = -2 WHERE seq = 2", "UPDATE entries SET seq = 2 WHERE seq = 3",
                      "UPDATE entries SET seq = 3 WHERE seq = -2"], "entry 2: sequence number 3, expected 2"),
    ("delete 4", ["DELETE FROM entries WHERE seq = 4"], "entry 4: sequence number 5, expected 4"),
    ("delete 4 and renumber", ["DELETE FROM entries WHERE seq = 4", "UPDATE entries SET seq = seq - 1 WHERE seq > 4"],
     "entry 4: sequence number 5, expected 4"),
    ("delete 1", ["DELETE FROM entries WHERE seq = 1"], "entry 1: sequence number 2, expected 1"),
    ("duplicate 2 as 7", ["INSERT INTO entries SELECT 7, data FROM entries WHERE seq = 2"],
     "entry 7: sequence number 2, expected 7"),
])
def test_reordered_removed_or_inserted_entries_are_caught(record: tuple[Path, list[bytes], Path], how: str,
                                                          statements: list[str], named: str) -> None:
    path, _, _ = record
    _sql(path, *statements)
    r = cli("record", "verify", path)
    assert r.rc == 1 and r.err.strip() == f"error: {named} (an entry was removed, inserted or moved)", (how, r.err)


def test_a_wrong_root_is_refused(record: tuple[Path, list[bytes], Path], tmp_path: Path) -> None:
    path, _, _ = record
    other = Pki("Another Ministry").write_root(tmp_path / "other.crt")
    r = cli("record", "verify", path, "--root", other)
    assert r.rc == 1
    assert r.err.startswith("error: header: the signer's certificate is not trusted: 'Secretariat' was issued by")
    assert "Traceback" not in r.err


def test_a_record_resigned_by_someone_else_is_refused_by_the_root(tmp_path: Path, pki: Pki) -> None:
    """A forger rewrites the whole record with their own key and certificate: every signature and
    the chain check out, but their certificate does not chain to the trusted root."""
    forger = Pki("Forgers Inc").identity("Secretariat", "observer")
    path = tmp_path / "forged.db"
    make_record(path, forger, 4)
    assert cli("record", "verify", path).rc == 0  # self-consistent...
    r = cli("record", "verify", path, "--root", pki.write_root(tmp_path / "root.crt"))
    assert r.rc == 1 and "not trusted" in r.err  # ...but not signed by anyone the root vouches for


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "missing", "other sqlite", "bad entry blob"])
def test_damaged_files_give_one_clear_line(record: tuple[Path, list[bytes], Path], tmp_path: Path, damage: str) -> None:
    path, _, _ = record
    if damage == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2 + 100])
    elif damage == "garbage":
        path.write_bytes(b"minutes of the meeting\n" * 200)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "missing":
        path = tmp_path / "nothing.db"
    elif damage == "other sqlite":
        path = tmp_path / "other.db"
        _sql(path, "CREATE TABLE t (x)")
    else:
        _sql(path, "UPDATE entries SET data = x'0102' WHERE seq = 5")
    for args in (("verify", path), ("export", path, "--format", "md")):
        r = cli("record", *args)
        assert r.rc == 1, (damage, r.out)
        assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1, r.err
        assert r.err.startswith("error: ")
    if damage == "bad entry blob":
        assert "entry 5: malformed" in r.err


def test_keep_refuses_to_continue_a_damaged_or_foreign_record(record: tuple[Path, list[bytes], Path],
                                                               tmp_path: Path, pki: Pki) -> None:
    """The node checks a record before continuing it (no relay is needed to find out)."""
    from recordkit import write_identity

    path, _, _ = record
    fp = "00" * 32
    mine = write_identity(pki.identity("Secretariat", "observer"), tmp_path / "me")
    r = cli("record", "keep", "--relay", "127.0.0.1:9", "--fingerprint", fp, "--dir", mine, "--out", path)
    assert r.rc == 1 and r.err.strip() == f"error: {path} is kept with another certificate: record into a new file"
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00" * 5000)
    r = cli("record", "keep", "--relay", "127.0.0.1:9", "--fingerprint", fp, "--dir", mine, "--out", garbage)
    assert r.rc == 1 and r.err.startswith(f"error: {garbage}") and "Traceback" not in r.err, r.err
    r = cli("record", "keep", "--relay", "127.0.0.1:9", "--fingerprint", fp, "--dir", tmp_path / "nobody", "--out",
            tmp_path / "new.db")
    assert r.rc != 0 and r.err.startswith("error: cannot read certificate") and not (tmp_path / "new.db").exists()
    # a relay that cannot be reached: one line, and no empty record file left behind
    r = cli("record", "keep", "--relay", "127.0.0.1:9", "--fingerprint", fp, "--dir", mine, "--out", tmp_path / "n.db")
    assert r.rc == 1 and r.err.startswith("error: no session with relay 127.0.0.1:9"), r.err
    assert not list(tmp_path.glob("n.db*"))
