"""``vrdiplomacy gestures classify`` on recorded files."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from vrdiplomacy import cli
from vrdiplomacy.gestures.record import Recorder, read_recording
from vrdiplomacy.input.frame import InputFrame
from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "gestures"


def record_nod_and_key(path: Path) -> None:
    """3 s: a nod (head pitch dips at 2 Hz) from 0.5 s, then the desktop 'wave' key 2.0-2.5 s."""
    with Recorder(path, 30) as rec:
        for i in range(90):
            t = i / 30
            pitch = -12 * (0.5 - 0.5 * math.cos(2 * math.pi * 2 * (t - 0.5))) if 0.5 <= t < 1.75 else 0.0
            f = InputFrame(t, Pose(np.array([0, 1.2, 0], np.float32), quat_from_yaw_pitch_roll(0.0, math.radians(pitch))))
            f.keys = frozenset({"wave"}) if 2.0 <= t < 2.5 else frozenset()
            rec.write(f)


def test_classify_prints_a_table(tmp_path, capsys) -> None:
    path = tmp_path / "s.jsonl"
    record_nod_and_key(path)
    assert cli.main(["gestures", "classify", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{path}: 90 frames, 3.0 s")
    rows = [line.split() for line in out[2:]]
    assert [r[2:4] for r in rows] == [["nod", "none"], ["wave", "right"]]
    assert 0.4 <= float(rows[0][0]) <= 0.7 and float(rows[1][0]) == 2.0 and rows[1][5] == "-"


def test_classify_json_on_a_recorded_dataset_file_in_a_subprocess() -> None:
    f = DATA / "perf_08_controller.jsonl.gz"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "vrdiplomacy", "gestures", "classify", "--json", str(f)],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    rec = read_recording(f)
    assert out["frames"] == len(rec.frames) and out["dropped_lines"] == 0
    kinds = {d["gesture"] for d in out["detections"]}
    assert kinds >= {lab["gesture"] for lab in rec.labels}  # every labelled kind shows up
    point = [d for d in out["detections"] if d["gesture"] == "point"]
    assert point and all(set(d) == {"gesture", "hand", "onset", "offset", "confidence", "target"} for d in point)
    assert all(d["target"] for d in point)


def test_errors_are_one_line(tmp_path, capsys) -> None:
    assert cli.main(["gestures", "classify", str(tmp_path / "none.jsonl")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read recording") and err.count("\n") == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t": 0}\n{"t": "x"}\n{"t": 1}\n')
    assert cli.main(["gestures", "classify", str(bad)]) == 1
    assert capsys.readouterr().err == f"error: {bad}:2: t must be a finite number\n"
    good = tmp_path / "g.jsonl"
    record_nod_and_key(good)
    tfile = tmp_path / "t.json"
    tfile.write_text('[{"name": "FRA"}]')
    assert cli.main(["gestures", "classify", str(good), "--targets", str(tfile)]) == 2
    assert "bad target" in capsys.readouterr().err
    tfile.write_text('[{"name": "FRA", "position": [0, 1.2, -2], "radius": 0.4}]')
    assert cli.main(["gestures", "classify", str(good), "--targets", str(tfile), "--mapping", str(tmp_path / "no.toml")]) == 2
    assert "cannot read mapping" in capsys.readouterr().err
