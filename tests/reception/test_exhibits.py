"""Exhibits with narrated audio: the TOML file, and a narration heard near its exhibit (from its
side, through the listening mix's HRTF spatializer) and not from across the hall."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.errors import AssetError, ConfigError
from vrdiplomacy.reception.exhibits import Narration, load_exhibits
from vrdiplomacy.scene.layout import load_layout
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.session.audio import ListenerMix
from vrdiplomacy.voice.devices import write_wav

FS = 48000


def _tone(path: Path, seconds: float = 1.0) -> None:
    t = np.arange(int(seconds * FS)) / FS
    write_wav(path, 0.3 * np.sin(2 * np.pi * 440.0 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2)


def test_narration_is_heard_near_its_exhibit_from_its_side(tmp_path: Path) -> None:
    layout = load_layout("embassy")
    ex = next(e for e in layout.exhibits if e.exhibit_id == "highlands")  # on the west wall, facing east
    _tone(tmp_path / "highlands.wav")
    (tmp_path / "ex.toml").write_text('[[exhibit]]\nid = "highlands"\nnarration = "highlands.wav"\nradius_m = 2.5\n')
    specs = load_exhibits(tmp_path / "ex.toml", layout)
    assert specs[0].caption == ex.caption and specs[0].narration.size == FS

    def listen(at: tuple[float, float, float], yaw: float, seconds: float = 0.8) -> np.ndarray:
        mix = ListenerMix(layout)
        narration = Narration(specs)
        mix.local_sources = narration.sources
        head = Pose.from_yaw(np.array(at, np.float32), yaw)
        n = mix.s.block
        return np.concatenate([mix.render(k * n / FS, head, {}) for k in range(int(round(seconds * FS / n)))])

    x, _y, z = ex.position
    # 1.5 m in front of the picture, facing along the wall (north, -z): the picture is on the left
    near = listen((x + 1.5, 1.6, z), 0.0)
    far = listen((x + 12.0, 1.6, z), 0.0)
    def rms(a: np.ndarray) -> float:
        return float(np.sqrt(np.mean(a.astype(np.float64) ** 2)))

    assert rms(near) > 0.01, "nothing heard near the exhibit"
    assert rms(far) == 0.0, "the narration must not be heard across the hall"
    assert rms(near[:, 0]) > 1.5 * rms(near[:, 1]), "the narration comes from the exhibit's side (left)"
    # once per visit: after its second the narration is silent until the listener comes back
    tail = listen((x + 1.5, 1.6, z), 0.0, seconds=1.6)[int(1.2 * FS):]
    assert rms(tail) < 1e-4


def test_exhibit_file_errors(tmp_path: Path) -> None:
    layout = load_layout("embassy")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[exhibit]]\nid = "no_such"\n')
    with pytest.raises(ConfigError, match="no exhibit 'no_such'"):
        load_exhibits(bad, layout)
    bad.write_text('[[exhibit]]\nid = "highlands"\nnarration = "missing.wav"\n')
    with pytest.raises(AssetError, match="missing.wav"):
        load_exhibits(bad, layout)
    bad.write_text("[[exhibit]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_exhibits(bad, layout)
    bad.write_text('[[exhibit]]\nid = "highlands"\nradius_m = 100\n')
    with pytest.raises(ConfigError, match="radius_m"):
        load_exhibits(bad, layout)
