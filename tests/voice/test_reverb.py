"""The shared room reverb: distance by direct-to-reverberant ratio, decorrelated ears, its decay."""

from __future__ import annotations

import numpy as np
import pytest

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.voice.hrtf import load_kemar
from vrdiplomacy.voice.reverb import RoomReverb
from vrdiplomacy.voice.spatial import SpatialSettings, Spatializer

FS, F = 48000, 960


def render(x: np.ndarray, distance: float, reverb: float) -> np.ndarray:
    sp = Spatializer(load_kemar(), SpatialSettings(block=F, reverb=reverb))
    return np.concatenate([sp.render(Pose(), {1: ((0.0, 0.0, -distance), x[i:i + F])}) for i in range(0, x.size - F + 1, F)])


def test_direct_to_reverberant_ratio_falls_with_distance(speech: np.ndarray) -> None:
    x = speech[: FS * 3].astype(np.float32)
    drr = []
    for d in (1.0, 2.0, 4.0):
        dry, wet = render(x, d, 0.0), render(x, d, SpatialSettings().reverb)
        room = wet - dry
        drr.append(10 * np.log10(np.sum(dry ** 2) / np.sum(room ** 2)))
        assert abs(np.corrcoef(room[:, 0], room[:, 1])[0, 1]) < 0.4  # the ears hear different reflections
    assert 9.0 < drr[0] < 16.0  # a light reverb close by
    assert drr[0] - drr[1] == pytest.approx(6.0, abs=0.5) and drr[1] - drr[2] == pytest.approx(6.0, abs=0.5)


def test_reverb_decays_at_its_reverberation_time() -> None:
    r = RoomReverb(F, t60_s=0.4)
    imp = np.zeros(F, np.float32)
    imp[0] = 1.0
    y = np.concatenate([r.process(imp)] + [r.process(np.zeros(F, np.float32)) for _ in range(60)])[:, 0]
    assert np.argmax(np.abs(y) > 0) == r.lengths.min()  # nothing before the shortest line: a pre-delay
    edc = np.cumsum((y ** 2)[::-1])[::-1]
    edc_db = 10 * np.log10(edc / edc[0])
    t60 = 3 * (np.argmax(edc_db < -25) - np.argmax(edc_db < -5)) / FS
    assert 0.3 < t60 < 0.55


def test_tail_rings_on_after_the_voices_stop_and_off_means_dry() -> None:
    sp = Spatializer(load_kemar(), SpatialSettings(block=F))
    noise = np.random.default_rng(0).standard_normal(F).astype(np.float32) * 0.1
    for _ in range(10):
        sp.render(Pose(), {1: ((0.0, 0.0, -2.0), noise)})
    after = [float(np.mean(sp.render(Pose(), {}) ** 2)) for _ in range(40)]
    assert after[1] > 1e-7 and after[-1] < after[1] * 1e-3
    dry = Spatializer(load_kemar(), SpatialSettings(block=F, reverb=0.0))
    dry.render(Pose(), {1: ((0.0, 0.0, -2.0), noise)})
    assert not np.any(dry.render(Pose(), {})[F // 2:])
    with pytest.raises(ConfigError):
        RoomReverb(F).process(np.zeros(10, np.float32))
