"""``vrdiplomacy vote``: simulate a vote, verify its board offline, catch a tampered board."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vrdiplomacy.ballot.local import simulate
from vrdiplomacy.cli import main


def test_simulate_then_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "board.json"
    assert main(["vote", "simulate", "--voters", "12", "--seed", "3", "-o", str(out)]) == 0
    assert main(["vote", "verify", str(out)]) == 0
    text = capsys.readouterr().out
    assert "OK: every proof verifies" in text and "ballots accepted: 12" in text
    doc = json.loads(out.read_text())
    counts = doc["result"]["counts"]
    assert sum(counts.values()) == 12 and f"yes {counts['yes']}," in text


def test_a_tampered_board_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    board, choices = simulate(6, 3, 2, seed=9)
    assert board.result is not None and list(board.result.counts) == [choices.count(i) for i in range(3)]
    doc = json.loads(board.to_json())
    i = next(i for i, e in enumerate(doc["entries"]) if e["kind"] == "ballot")
    raw = bytearray.fromhex(doc["entries"][i]["message"])
    raw[-100] ^= 0x20
    doc["entries"][i]["message"] = raw.hex()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert main(["vote", "verify", str(bad)]) == 1
    assert "FAILED: entry" in capsys.readouterr().out


def test_recorded_simulation_lists_each_delegation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rec.json"
    assert main(["vote", "simulate", "--recorded", "--voters", "3", "--seed", "1", "-o", str(out)]) == 0
    assert main(["vote", "verify", str(out)]) == 0
    assert "Delegation 003:" in capsys.readouterr().out


def test_unreadable_or_malformed_board_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vote", "verify", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read")
    junk = tmp_path / "junk.json"
    junk.write_text("{ not json")
    assert main(["vote", "verify", str(junk)]) == 1
    assert capsys.readouterr().out.startswith("FAILED: malformed board")


def test_simulate_reports_progress_on_long_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A long ``vote simulate`` says how far it is on stderr (a line every 2 s); here the clock is
    made to jump 3 s per reading so that every ballot would report."""
    calls: list[tuple[str, int, int]] = []
    board, _ = simulate(5, 2, 1, seed=1, progress=lambda *a: calls.append(a))
    assert calls == [("cast", i, 5) for i in range(1, 6)] + [("tally", 5, 5)]
    assert board.result is not None and board.result.counts and sum(board.result.counts) == 5

    import vrdiplomacy.ballot.local as local
    clock = iter(range(0, 3000, 3))
    monkeypatch.setattr(local.time, "monotonic", lambda: float(next(clock)))
    assert main(["vote", "simulate", "--voters", "4", "--trustees", "2", "--threshold", "1", "--seed", "2",
                 "-o", str(tmp_path / "b.json")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[:4] == [f"ballots cast: {i} of 4 (each checked by the chair, 2 trustees and an observer), {3 * i} s"
                       for i in range(1, 5)]
    assert err[4] == "all 4 ballots cast; closing and tallying, 15 s"
