"""A filter the double-talk keeper has only just come to trust is not yet evidence of a
talker (issue 16, ERLE >= 25 dB). On held-out-2 at a 10 ms / 0 dB echo path, the keeper
first trusted its filter 3.07 s into the call while the filter was still converging (its
foreground took new coefficients every 30-60 ms), and 20 ms later took 18 blocks of echo in
bands it had not learnt for a talker: it put its linear error (as loud as the echo) in place
of AEC3's clean output, and those 180 ms held 99.8 % of the echo left in 8 s (ERLE 21.2 dB).
The keeper now detects double talk only once its filter has stayed trusted through
``LinearSettings.mature_s`` (0.5 s) of far-end sound."""

from __future__ import annotations

import numpy as np
import pytest

from vrdiplomacy.voice import apm
from vrdiplomacy.voice import echosim as es
from vrdiplomacy.voice.doubletalk import LinearSettings, NearEndKeeper
from vrdiplomacy.voice.shoebox import shoebox_rir
from vrdiplomacy.errors import ConfigError

N = 480


def trust_and_double_talk(settings: LinearSettings, mic: np.ndarray, far: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keeper = NearEndKeeper(settings)
    trusted, dt, active = [], [], []
    for i in range(0, far.size // N * N, N):
        keeper.push(mic[i:i + N], far[i:i + N])
        trusted.append(keeper.trusted)
        dt.append(keeper.double_talk)
        active.append(keeper.linear.far_active)
    return np.array(trusted), np.array(dt), np.array(active)


def trusted_run(trusted: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Per block: the blocks with far-end sound the filter has been trusted through."""
    run = np.zeros(trusted.size, dtype=int)
    for i in range(trusted.size):
        run[i] = (run[i - 1] if i else 0) + int(active[i]) if trusted[i] else 0
    return run


def test_no_double_talk_before_the_filter_has_been_trusted_for_mature_s() -> None:
    # a talker who interrupts now and then from the second second on: the keeper steps in only
    # where its filter has been trusted through half a second of far-end sound
    far = es.load_voices(es.TUNING.far, 10.0)
    echo = es.echo_of(far, es.room_rir(es.TUNING.room), 20.0, 0.0)
    near = np.zeros_like(far)
    talker = es.load_voices(es.TUNING.near, 8.0, peak=0.35)
    for a, b in ((2.0, 2.6), (3.4, 4.0), (5.0, 5.8), (7.0, 8.0), (9.0, 9.8)):
        i, j = int(a * es.FS), int(b * es.FS)
        near[i:j] = talker[i - 2 * es.FS:j - 2 * es.FS]
    mic = echo + near + es.noise(far.size, 2)
    mature = LinearSettings().mature_s
    assert mature == 0.5
    need = int(mature * 100) - 1  # blocks of 10 ms (the flag is set on the block that completes it)
    trusted, dt, active = trust_and_double_talk(LinearSettings(), mic, far)
    assert dt.sum() >= 20, "the keeper hardly detected the talker"
    run = trusted_run(trusted, active)
    # the flag holds dt_hold_ms (60 ms) after the last detection: look at onsets of double talk
    onsets = np.flatnonzero(dt & ~np.concatenate([[False], dt[:-1]]))
    assert all(run[k] >= need for k in onsets), [(int(k), int(run[k])) for k in onsets]
    # without the rule the keeper steps in on a filter it has only just come to trust
    trusted0, dt0, active0 = trust_and_double_talk(LinearSettings(mature_s=0.0), mic, far)
    run0 = trusted_run(trusted0, active0)
    onsets0 = np.flatnonzero(dt0 & ~np.concatenate([[False], dt0[:-1]]))
    assert any(run0[k] < need for k in onsets0), [(int(k), int(run0[k])) for k in onsets0]


@pytest.mark.skipif(not apm.webrtc_available(), reason="livekit (WebRTC audio processing) is not installed")
def test_held_out_2_at_10_ms_keeps_25_db_of_erle() -> None:
    far = es.load_voices(es.HELD_OUT_2.far, 8.0)
    echo = es.echo_of(far, es.room_rir(es.HELD_OUT_2.room), 10.0, 0.0)
    out = es.run_canceller(es.factory("webrtc"), echo + es.noise(far.size, 1), far)
    assert es.erle_db(echo, out) >= 25.0


def test_shoebox_room_response() -> None:
    fs = 48000
    h = shoebox_rir((5.0, 4.0, 3.0), (1.0, 1.0, 1.0), (1.5, 1.2, 1.1), 0.4, 0.4, fs)
    assert h.size == int(0.4 * fs)
    assert abs(float(np.sum(h**2)) - 1.0) < 1e-9
    assert int(np.argmax(np.abs(h))) == 0  # the direct path comes first and is the loudest
    # the floor (z = 0) reflection: the loudspeaker mirrored to z = -1 m
    direct = np.linalg.norm([0.5, 0.2, 0.1])
    floor = np.linalg.norm([0.5, 0.2, 2.1])
    k = (floor - direct) / 343.0 * fs
    assert np.abs(h[int(k) - 1:int(k) + 3]).max() > 0.05 * abs(h[0])
    # Schroeder decay: about 60 dB per reverberation time (15 dB in the first 0.1 s after 20 ms)
    e = np.cumsum(h[::-1] ** 2)[::-1]
    slope_db = 10 * np.log10(e[int(0.02 * fs)] / e[int(0.12 * fs)])
    assert 10.0 < slope_db < 22.0, slope_db
    with pytest.raises(ConfigError):
        shoebox_rir((5.0, 4.0, 3.0), (6.0, 1.0, 1.0), (1.5, 1.2, 1.1), 0.4, 0.4, fs)

