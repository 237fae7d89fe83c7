from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, correlate, resample_poly, sosfilt

from vrdiplomacy.scene.layout import Layout, Zone
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.voice.hrtf import HrtfSet, head_direction, load_kemar, parametric_hrtf
from vrdiplomacy.voice.spatial import SpatialSettings, Spatializer

FS, B = 48000, 960


@pytest.fixture(scope="module")
def kemar() -> HrtfSet:
    return load_kemar()


@pytest.fixture(scope="module")
def model() -> HrtfSet:
    return parametric_hrtf()


def render(sp: Spatializer, x: np.ndarray, pos_fn, listener_fn=lambda k: Pose()) -> np.ndarray:
    out = []
    for k in range(x.size // B):
        out.append(sp.render(listener_fn(k), {"a": (pos_fn(k), x[k * B:(k + 1) * B])}))
    return np.concatenate(out)


def itd_ild(h: HrtfSet, azimuth: float) -> tuple[float, float]:
    """ITD (s, left minus right arrival: positive when the source is on the right) from the
    interaural cross-correlation below 1.5 kHz; ILD (dB, right minus left) in the 8 kHz
    third-octave band. Broadband noise, 2 m away."""
    rng = np.random.default_rng(1)
    x = (0.1 * rng.standard_normal(FS)).astype(np.float32)
    y = render(Spatializer(h), x, lambda k: head_direction(azimuth) * 2.0)[4800:]
    lp = butter(4, 1500, "low", fs=FS, output="sos")
    up = 8
    left, right = (resample_poly(sosfilt(lp, y[:, i]), up, 1) for i in (0, 1))
    c = correlate(left, right, "full", method="fft")
    lags = np.arange(-right.size + 1, left.size)
    m = np.abs(lags) < up * 96
    itd = lags[m][np.argmax(c[m])] / (up * FS)
    bp = butter(4, [8000 / 2 ** (1 / 6), 8000 * 2 ** (1 / 6)], "band", fs=FS, output="sos")
    ild = 10 * np.log10(np.mean(sosfilt(bp, y[:, 1]) ** 2) / np.mean(sosfilt(bp, y[:, 0]) ** 2))
    return float(itd), float(ild)


@pytest.mark.parametrize("which", ["kemar", "model"])
def test_itd_at_sides_and_front(which: str, request: pytest.FixtureRequest) -> None:
    h = request.getfixturevalue(which)
    right, ild_right = itd_ild(h, 90.0)
    left, ild_left = itd_ild(h, -90.0)
    assert 0.6e-3 <= right <= 0.75e-3
    assert -0.75e-3 <= left <= -0.6e-3
    assert ild_right >= 12.0 and ild_left <= -12.0
    front, ild_front = itd_ild(h, 0.0)
    assert abs(front) < 20e-6 and abs(ild_front) < 0.5


def test_doubling_distance_is_minus_6_db(kemar: HrtfSet) -> None:
    rng = np.random.default_rng(2)
    x = (0.1 * rng.standard_normal(FS // 2)).astype(np.float32)

    def level(d: float) -> float:  # the direct sound (the room reverb is the same at every distance)
        y = render(Spatializer(kemar, SpatialSettings(reverb=0.0)), x, lambda k: head_direction(30.0) * d)[4800:]
        return 10 * np.log10(np.mean(y ** 2))

    assert abs((level(4.0) - level(2.0)) - (-6.0)) <= 0.3


def click_level_dbfs(h: HrtfSet, crossfade: bool) -> float:
    """A 1 kHz tone (-6 dBFS) whose source stays put while the listener turns at 360 deg/s.
    Any discontinuity shows up as broadband energy: high-pass the output at 5 kHz (8th order;
    the tone and its smooth modulation sidebands fall over 100 dB below) and report the loudest
    5 ms RMS of the residual, in dBFS."""
    t = np.arange(2 * FS) / FS
    x = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    sp = Spatializer(h, SpatialSettings(crossfade=crossfade))
    y = render(sp, x, lambda k: np.array([0.0, 0.0, -2.0]), lambda k: Pose.from_yaw([0, 0, 0], k * 360.0 * B / FS))
    hp = butter(8, 5000, "high", fs=FS, output="sos")
    r = sosfilt(hp, y, axis=0)[4800:]
    w = 240
    frames = r[: r.shape[0] // w * w].reshape(-1, w, 2)
    rms = np.sqrt(np.mean(frames ** 2, axis=1)).max()
    return float(20 * np.log10(rms + 1e-12))


def test_fast_head_turn_makes_no_click(kemar: HrtfSet) -> None:
    assert click_level_dbfs(kemar, crossfade=True) < -40.0


def test_click_measure_detects_hard_filter_switches(kemar: HrtfSet) -> None:
    # The same sweep with filters switched at block edges (no crossfade) clicks audibly,
    # and the measure sees it: the residual rises by far more than 30 dB.
    smooth = click_level_dbfs(kemar, crossfade=True)
    hard = click_level_dbfs(kemar, crossfade=False)
    assert hard > smooth + 30.0


def test_head_pose_is_applied(kemar: HrtfSet) -> None:
    rng = np.random.default_rng(3)
    x = (0.1 * rng.standard_normal(FS // 2)).astype(np.float32)
    src = lambda k: np.array([3.0, 0.0, 0.0])  # noqa: E731  world +X
    ahead = render(Spatializer(kemar), x, src)
    turned = render(Spatializer(kemar), x, src, lambda k: Pose.from_yaw([0, 0, 0], 180.0))
    e = lambda y, i: float(np.mean(y[4800:, i] ** 2))  # noqa: E731
    assert e(ahead, 1) > 4 * e(ahead, 0)  # facing -Z, +X is on the right
    assert e(turned, 0) > 4 * e(turned, 1)  # turned around, it is on the left


def test_isolated_zones_block_sound(kemar: HrtfSet) -> None:
    lounge = Zone("lounge", "lounge", (5.0, 0.0, 5.0), (9.0, 3.0, 9.0), isolated=True)
    hall = Zone("hall", "hall", (-20.0, 0.0, -20.0), (20.0, 5.0, 20.0))
    layout = Layout(scene="t", glb="", zones=[lounge, hall])
    sp = Spatializer(kemar, layout=layout)
    inside, inside2, outside = (6.0, 1.2, 6.0), (8.0, 1.2, 8.0), (0.0, 1.2, 0.0)
    assert sp.gain(Pose(np.array(outside, np.float32)), inside) == 0.0
    assert sp.gain(Pose(np.array(inside, np.float32)), outside) == 0.0
    assert sp.gain(Pose(np.array(inside, np.float32)), inside2) > 0.0
    assert sp.gain(Pose(np.array(outside, np.float32)), (3.0, 1.2, 0.0)) > 0.0
    x = (0.1 * np.ones(B * 3)).astype(np.float32)
    y = render(sp, x, lambda k: np.array(inside), lambda k: Pose(np.array(outside, np.float32)))
    assert np.max(np.abs(y)) == 0.0


def test_many_sources_sum_linearly(kemar: HrtfSet) -> None:
    rng = np.random.default_rng(4)
    a, b = (rng.standard_normal(B * 4).astype(np.float32) * 0.1 for _ in range(2))
    pa, pb = np.array([2.0, 0, -1.0]), np.array([-1.0, 0.5, 2.0])
    both = Spatializer(kemar)
    one, two = Spatializer(kemar), Spatializer(kemar)
    for k in range(4):
        s = slice(k * B, (k + 1) * B)
        y = both.render(Pose(), {1: (pa, a[s]), 2: (pb, b[s])})
        y1 = one.render(Pose(), {1: (pa, a[s])})
        y2 = two.render(Pose(), {2: (pb, b[s])})
        assert np.allclose(y, y1 + y2, atol=1e-5)
