"""A filter the double-talk keeper has only just come to trust is not yet evidence of a
talker (issue 16, ERLE >= 25 dB). On held-out-2 at a 10 ms / 0 dB echo path, the keeper
first trusted its filter 3.07 s into the call while the filter was still converging (its
foreground took new coefficients every 30-60 ms), and 20 ms later took 18 blocks of echo in
bands it had not learnt for a talker: it put its linear error (as loud as the echo) in place
of AEC3's clean output, and those 180 ms held 99.8 % of the echo left in 8 s (ERLE 21.2 dB).
The keeper now detects double talk only once its filter has stayed trusted through
``LinearSettings.mature_s`` (0.5 s) of far-end sound, and after a changed echo path on a
filter that had matured, only once it has been trusted again through
``LinearSettings.mature_change_s`` (1.5 s): the re-learnt filter still holds the old path in
the bands the far end has not sounded since."""

from __future__ import annotations

import dataclasses

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


def keeper_on_echo_alone(settings: LinearSettings, m: es.Material, delay_ms: float, gain_db: float,
                         seconds: float = 10.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per 10 ms block on echo alone: double talk flagged, the keeper's suspected path changes
    so far, and the far-end sound the filter had been trusted through before the block."""
    far = es.load_voices(m.far, seconds)
    mic = es.echo_of(far, es.room_rir(m.room), delay_ms, gain_db) + es.noise(far.size, 1)
    keeper = NearEndKeeper(settings)
    dt, suspects, active, trusted = [], [], [], []
    for i in range(0, far.size // N * N, N):
        keeper.push(mic[i:i + N], far[i:i + N])
        dt.append(keeper.double_talk)
        suspects.append(keeper.suspects)
        trusted.append(keeper.trusted)
        active.append(keeper.linear.far_active)
    run = trusted_run(np.array(trusted), np.array(active))
    return np.array(dt), np.array(suspects), np.concatenate([[0], run[:-1]])


def test_after_a_changed_path_double_talk_waits_for_mature_change_s() -> None:
    """A residual learnt afresh (the keeper took something for a changed echo path) is trusted
    again within a few hundred milliseconds, while the filter still holds the old path in the
    bands the far end has not sounded since. Held-out-5's voices at a 10 ms / 0 dB echo path,
    echo alone: the keeper suspects a changed path twice while it converges, the second time
    (3.86 s) on a filter it had trusted through 1.2 s of far-end sound. With 0.5 s of trust
    before double talk (main 74f1de2) it then took 16 blocks of echo (4.85 s) for a talker,
    and through AEC3 that burst held most of the echo left (ERLE 24.8 dB). A filter that had
    matured on the old path must now stay trusted through ``LinearSettings.mature_change_s``
    (1.5 s) of far-end sound first; one that had not (the first suspicion, 2.39 s) is held to
    ``mature_s`` as before, so a talker early in a call is kept."""
    assert LinearSettings().mature_change_s == 1.5
    need = int(LinearSettings().mature_s * 100)
    for settings, after_max in ((LinearSettings(), 0), (LinearSettings(mature_change_s=0.5), None)):
        dt, suspects, run = keeper_on_echo_alone(settings, es.HELD_OUT_5, 10.0, 0.0)
        # the suspicions, and whether the filter had matured when each came
        at = np.flatnonzero(np.diff(suspects) > 0) + 1
        mature = [int(k) for k in at if run[k] >= need]
        assert len(at) >= 2 and mature, "the scene no longer has the keeper relearn on a mature filter"
        after = int(dt[mature[0]:].sum())
        if after_max is not None:
            assert after <= after_max, np.flatnonzero(dt[mature[0]:])[:10] / 100 + mature[0] / 100
        else:  # the check can fail: as on main, echo taken for a talker after the change
            assert after >= 10, after


@pytest.mark.skipif(not apm.webrtc_available(), reason="livekit (WebRTC audio processing) is not installed")
def test_a_talker_early_in_a_call_is_kept_after_a_suspicion_on_a_converging_filter() -> None:
    """Held-out-2 at a 100 ms / 0 dB echo path, the near end talking from 4 s: the keeper
    suspects a changed path at 1.2 s, while its filter still converges (never trusted yet).
    That is no changed path, so the longer wait does not apply: 79 % of the near-end frames
    are sent, as on main 74f1de2 (51 % with ``mature_change_s`` after every suspicion)."""
    g = es.measure_gate(es.HELD_OUT_2, "webrtc", 100.0, 0.0, talk_at_s=4.0)
    assert g.near_sent >= 0.7, g.near_sent


def test_mature_change_s_is_checked() -> None:
    with pytest.raises(ConfigError):
        NearEndKeeper(LinearSettings(mature_change_s=-0.1))


@pytest.mark.skipif(not apm.webrtc_available(), reason="livekit (WebRTC audio processing) is not installed")
def test_held_out_5_at_10_ms_and_0_db_keeps_25_db_of_erle() -> None:
    """Issue 16's ERLE >= 25 dB on the fifth held-out set's worst cell, through the chain
    ``join`` runs (AEC3, the keeper, the suppressor). Fails on main 74f1de2 (24.8 dB)."""
    far = es.load_voices(es.HELD_OUT_5.far, 8.0)
    echo = es.echo_of(far, es.room_rir(es.HELD_OUT_5.room), 10.0, 0.0)
    out = es.run_canceller(es.factory("webrtc"), echo + es.noise(far.size, 1), far)
    assert es.erle_db(echo, out) >= 25.0


@pytest.mark.skipif(not apm.webrtc_available(), reason="livekit (WebRTC audio processing) is not installed")
def test_same_delay_room_change_on_held_out_3_recovers_within_a_second() -> None:
    """Held-out-3's voices, the room changes to its room 33 at the same 40 ms delay: every
    250 ms window from 1 s after the change on keeps ERLE >= 25 dB. Fails on main 74f1de2
    (4.25 s: the keeper trusted its re-learnt filter 0.3 s after the change and took a far-end
    vowel in two bins it had not re-learnt for a talker, 4 s later)."""
    room = next(r for r in es.HELD_OUT_3.rooms if r.seed == 33)
    m = dataclasses.replace(es.HELD_OUT_3, other_room=room)
    _, settled = es.measure_path_change(es.factory("webrtc"), m, new_delay_ms=40.0)
    assert settled <= 1.0, settled


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

