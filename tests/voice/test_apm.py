"""WebRTC audio processing (AEC3, noise suppression) and the echo-aware transmit gate (issue 16).

The echo material is :mod:`vrdiplomacy.voice.echosim`'s held-out set (other recordings in each
role and another room than the one the gate was tuned on)."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from vrdiplomacy.errors import AudioError, ConfigError
from vrdiplomacy.voice import apm
from vrdiplomacy.voice import echosim as es
from vrdiplomacy.voice.aec import AecSettings, EchoCanceller
from vrdiplomacy.voice.vad import VoiceActivity

FS, F = 48000, 960
needs_webrtc = pytest.mark.skipif(not apm.webrtc_available(), reason="livekit (WebRTC audio processing) is not installed")


@needs_webrtc
@pytest.mark.parametrize("delay_ms,gain_db", [(10, -10), (200, -10), (10, 0), (200, 0)])
def test_erle_over_long_delays_and_a_laptop_echo_path(delay_ms: int, gain_db: int) -> None:
    """ERLE >= 25 dB from 10 to 200 ms of echo delay, also with a 0 dB echo path, in the
    tuning room (T60 0.25 s) and in the held-out room (T60 0.45 s, 15 % direct energy).
    Fails on main 3e2635d (our canceller: 16 dB at 10 ms, 0 dB at 140 ms, none at 0 dB); the
    held-out 10 ms / -10 dB cell fails on d7a55a9 (AEC3 alone, no residual gate: 23.9 dB)."""
    make = es.factory("webrtc")
    assert es.measure_erle(make, es.TUNING, delay_ms, gain_db) >= 25.0
    assert es.measure_erle(make, es.HELD_OUT, delay_ms, gain_db) >= 25.0


@needs_webrtc
def test_double_talk_keeps_the_near_end() -> None:
    """Measured: the near end keeps its level (-0.2 dB) through AEC3 and the keeper beside
    it while the far end talks (band-envelope correlation 0.77, PESQ-WB 1.24; AEC3 alone
    -2.5 dB, 0.60 and 1.12; the microphone with the echo 0.84 and 1.17)."""
    dt = es.measure_double_talk(es.factory("webrtc"), es.HELD_OUT)
    assert dt.level_db > -6.0  # the local talker is not suppressed while the far end talks
    assert dt.env_out > 0.5
    if dt.pesq_out is not None and dt.pesq_mic is not None:
        assert dt.pesq_out > dt.pesq_mic - 0.2
    assert dt.erle_after >= 10.0  # and the canceller did not lose the echo path


@needs_webrtc
def test_sender_does_not_send_the_far_end_back() -> None:
    """Through the real sender on loudspeakers (0 dB path, 60 ms): far-end-only frames are
    not sent (< 5 %), the local talker is; fails on main 3e2635d (420 of 625 frames sent).
    Every near-end frame that AEC3 let through during double talk is sent (the rest AEC3
    muted at word onsets: nothing left to send)."""
    g = es.measure_gate(es.HELD_OUT, "webrtc", gain_db=0.0)
    assert g.far_only_frames > 200 and g.far_only_sent < 0.05
    assert g.near_sent > 0.3
    assert g.near_kept_frames > 20 and g.near_kept_sent >= 0.95


@needs_webrtc
@pytest.mark.parametrize("gain_db,near_sent", [(-10.0, 0.8), (0.0, 0.85)])
def test_double_talk_near_end_is_sent_and_kept_clean(gain_db: float, near_sent: float) -> None:
    """A delegate who interrupts is heard, whole and clean: through the real sender on
    loudspeakers (held-out material, 60 ms echo delay), the near-end speech frames sent
    while the far end talks (84 % at -10 dB, 90 % at 0 dB; AEC3 alone 48 % and 38 %), and
    what was sent is the talker's waveform (segmental SNR against the clean near speech 14
    and 16 dB; AEC3 alone 1 dB: its suppressor distorts the near end while the far end
    talks; PESQ-WB 1.22 and 1.09, AEC3 alone 1.09 and 1.07). Fails on main 94bf7c4 (76 %
    and 69 % sent, segmental SNR 2.0 and 0.7 dB). Nothing sent is lost afterwards, and
    far-end-only frames stay unsent."""
    g = es.measure_gate(es.HELD_OUT, "webrtc", delay_ms=60.0, gain_db=gain_db)
    assert g.near_frames > 60 and g.near_sent >= near_sent
    assert g.sent_snr >= 10.0
    assert g.sent_env >= 0.55
    assert g.lost_gate + g.lost_echo_flag + g.lost_vad <= 3
    assert g.far_only_frames > 200 and g.far_only_sent < 0.05


@needs_webrtc
def test_double_talk_nine_in_ten_near_end_frames_on_the_tuning_material() -> None:
    """On the material the keeper was tuned on (100 ms, 0 dB echo path: the near end a few dB
    under the echo) at least 90 % of the near-end speech frames are sent during double
    talk (92 %; AEC3 alone 39 %; fails on main 94bf7c4: 61 %)."""
    g = es.measure_gate(es.TUNING, "webrtc", delay_ms=100.0, gain_db=0.0)
    assert g.near_frames > 60 and g.near_sent >= 0.9
    assert g.far_only_sent < 0.05


@needs_webrtc
@pytest.mark.parametrize("new_delay_ms", [40.0, 120.0])
def test_echo_path_change_recovers_within_a_second(new_delay_ms: float) -> None:
    """Someone moves the laptop (another room, 40 ms -> ``new_delay_ms``, -6 -> -3 dB): every
    250 ms window from 1 s after the change on keeps ERLE >= 25 dB, on both materials.
    Fails on d7a55a9 (AEC3 alone: 3.5 s at 40 ms and 2.5 s at 120 ms, tuning; 2.25 s at
    120 ms, held-out)."""
    for m in (es.TUNING, es.HELD_OUT):
        _, settled = es.measure_path_change(es.factory("webrtc"), m, new_delay_ms=new_delay_ms)
        assert settled <= 1.0, m.name


@needs_webrtc
def test_same_delay_room_change_recovers_within_a_second_with_the_keeper() -> None:
    """The laptop moves to another room at the same delay (40 ms, -6 -> -3 dB; tuning voices,
    rooms seeded 5 and 6): the new echo looks like a talker to the keeper's error, yet every
    250 ms window from 1 s after the change on keeps ERLE >= 25 dB (0.75 s for both; AEC3
    alone 0.00 s). Fails on main 94bf7c4 (room 6: 1.50 s) and on 8c9c411 (2.25 s for both),
    before the background filter's lead over a stale foreground suspended double talk."""
    for seed, t60, direct in ((5, 0.35, 0.25), (6, 0.3, 0.15)):
        m = dataclasses.replace(es.TUNING, other_room=es.Room(seed, t60, direct=direct))
        _, settled = es.measure_path_change(es.factory("webrtc"), m, new_delay_ms=40.0)
        assert settled <= 1.0, seed


@needs_webrtc
def test_gate_stops_sending_the_far_end_soon_after_a_path_change() -> None:
    """Through the real sender (0 dB path, the room changes at 6 s and the delay goes from
    80 to 140 ms): from 1 s after the change < 2 % of far-end-only frames are sent. Fails on
    d7a55a9 (5.4 % held-out, 16.4 % tuning)."""
    g = es.measure_gate(es.HELD_OUT, "webrtc", gain_db=0.0, change_at_s=6.0)
    assert g.far_only_frames > 200 and g.settled_sent < 0.02


@needs_webrtc
def test_residual_gate_leaves_double_talk_alone() -> None:
    """The residual gate after AEC3 costs the near end nothing measurable during double talk
    (held-out material): level and band-envelope correlation as with AEC3 alone."""
    on = es.measure_double_talk(es.factory("webrtc"), es.HELD_OUT)
    off = es.measure_double_talk(es.factory("webrtc", residual_db=0.0), es.HELD_OUT)
    assert abs(on.level_db - off.level_db) < 0.5
    assert on.env_out > off.env_out - 0.03


def test_residual_gate_attenuates_echo_and_passes_the_near_end() -> None:
    """Unit: a block AEC3 cut by 10 dB is echo and is brought to 35 dB below the microphone;
    a block it passed (near-end speech) is untouched, and so are the next 500 ms (word
    endings); without far-end sound nothing is touched."""
    s = AecSettings()
    rng = np.random.default_rng(1)
    mic = 0.1 * rng.standard_normal(480)
    far = 0.1 * rng.standard_normal(480)

    def energy_db(x: np.ndarray) -> float:
        return 10 * float(np.log10(np.sum(np.asarray(x, np.float64) ** 2)))

    g = apm.ResidualGate(s)
    out = (mic * 10 ** (-10 / 20)).astype(np.float32)
    g.block(mic, far, out)  # the gain ramps down over the first block
    out = (mic * 10 ** (-10 / 20)).astype(np.float32)
    g.block(mic, far, out)
    assert energy_db(mic) - energy_db(out) == pytest.approx(35.0, abs=0.1)

    g = apm.ResidualGate(s)
    near = mic.astype(np.float32)
    g.block(mic, far, near.copy())
    for _ in range(50):  # the hold, 500 ms: an echo-like block passes too
        out = (mic * 10 ** (-10 / 20)).astype(np.float32)
        ref = out.copy()
        g.block(mic, far, out)
        assert np.array_equal(out, ref)
    out = (mic * 10 ** (-10 / 20)).astype(np.float32)
    g.block(mic, far, out)
    assert energy_db(mic) - energy_db(out) > 10.5  # the hold is over

    g = apm.ResidualGate(s)
    out = (mic * 10 ** (-10 / 20)).astype(np.float32)
    ref = out.copy()
    g.block(mic, np.zeros(480), out)
    assert np.array_equal(out, ref) and g.attenuated == 0


@needs_webrtc
def test_noise_suppression_on_headphones_too() -> None:
    """With echo=False (headphones) WebRTC still removes steady noise and keeps speech."""
    p = apm.make_canceller(AecSettings(), echo=False)
    assert isinstance(p, apm.WebRtcProcessor)
    rng = np.random.default_rng(0)
    noise = 0.01 * rng.standard_normal(FS * 3)
    out = p.process(noise, np.zeros_like(noise))
    assert 10 * np.log10(np.mean(noise[FS:] ** 2) / np.mean(out[FS:].astype(np.float64) ** 2)) > 10.0


def test_missing_binding_warns_and_falls_back(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def missing() -> None:
        raise AudioError("WebRTC audio processing is not installed (No module named 'livekit'): " + apm.INSTALL_HELP)

    monkeypatch.setattr(apm, "load_webrtc", missing)
    monkeypatch.setattr(apm, "_warned", False)
    with caplog.at_level(logging.WARNING, logger="vrdiplomacy.voice.apm"):
        c = apm.make_canceller(AecSettings())
    assert isinstance(c, EchoCanceller)
    assert "pip install livekit" in caplog.text and "built-in echo canceller" in caplog.text
    assert apm.make_canceller(AecSettings(), echo=False) is None  # nothing our own code would do
    with pytest.raises(AudioError, match="pip install livekit"):
        apm.make_canceller(AecSettings(backend="webrtc"))
    with pytest.raises(ConfigError):
        apm.make_canceller(AecSettings(backend="speex"))


def test_vad_does_not_gate_speech_at_the_start(speech: np.ndarray) -> None:
    """Speech from the very first frame is sent from its first loud frame; fails on main
    3e2635d (the floor started at the first frame's level: 120-300 ms gated)."""
    loud = [i for i in range(50) if np.sqrt(np.mean(speech[i * F:(i + 1) * F] ** 2)) > 0.02]
    start = loud[0]
    x = speech[start * F:]
    vad = VoiceActivity()
    decisions = [vad.update(x[i * F:(i + 1) * F]) for i in range(25)]
    assert all(decisions[:10])
    assert sum(decisions) >= 20


def test_echo_frames_are_not_speech_and_end_the_hangover(speech: np.ndarray) -> None:
    vad = VoiceActivity()
    f = max((speech[i:i + F] for i in range(0, FS * 2, F)), key=lambda x: float(np.mean(x ** 2)))
    assert vad.update(f)
    assert not vad.update(f, echo=True)
    assert not vad.update(np.zeros(F, np.float32))  # no hangover after an echo frame


def test_delay_aligner_finds_and_follows_the_echo_delay() -> None:
    """GCC-PHAT on 10 ms blocks: the reference is delayed by the echo delay less the margin
    within half a second, follows a jump from 123 to 60 ms within a second, and does not move
    while the microphone hears only someone else (no correlation with the far end)."""
    s = AecSettings()
    rng = np.random.default_rng(2)
    far = 0.1 * rng.standard_normal(FS * 4)

    def delayed(x: np.ndarray, ms: float) -> np.ndarray:
        d = int(ms * FS / 1000)
        return np.concatenate([np.zeros(d), x[:-d]])

    mic = np.concatenate([0.5 * delayed(far, 123.0)[: FS * 2], 0.5 * delayed(far, 60.0)[FS * 2:]])
    al = apm.DelayAligner(s)
    shifts = []
    for i in range(0, far.size, 480):
        ref = al.push(mic[i:i + 480], far[i:i + 480])
        assert ref.shape == (480,)
        shifts.append(al.shift)
    assert shifts[50] == pytest.approx((123.0 - s.align_margin_ms) * 48, abs=48)
    assert shifts[300] == pytest.approx((60.0 - s.align_margin_ms) * 48, abs=48)
    assert al.delay_ms == pytest.approx(60.0, abs=1.0)
    # the block handed on is the far end delayed by the shift
    assert np.array_equal(ref, far[far.size - 480 - al.shift: far.size - al.shift])

    al = apm.DelayAligner(s)
    other = 0.1 * rng.standard_normal(far.size)
    for i in range(0, far.size, 480):
        al.push(other[i:i + 480], far[i:i + 480])
    assert al.shift == 0 and al.delay_ms is None


def test_residual_gate_takes_the_linear_cancellers_word_over_aec3s() -> None:
    """Unit: AEC3 passes a loud block whole while the far end talks. Alone, the gate takes
    it for the near end and holds open; when the linear canceller beside AEC3 took 10 dB
    off that microphone block and what it left is the residual it leaves of echo alone,
    the block is echo: brought to 35 dB below the microphone, and no hold. When it took
    10 dB off but left 15 dB more than that residual (a talker under a loud echo), or left
    half, the near end may be there: AEC3's word stands. Fails on main 452f8cc (the gate had
    no word from the linear canceller)."""
    s = AecSettings()
    rng = np.random.default_rng(2)
    mic = 0.1 * rng.standard_normal(480)
    far = 0.1 * rng.standard_normal(480)
    e_mic = float(np.sum(mic**2))

    g = apm.ResidualGate(s)
    out = mic.astype(np.float32)
    g.block(mic, far, out, False, None)
    assert np.array_equal(out, mic.astype(np.float32)) and g._hold > 0

    g = apm.ResidualGate(s)
    for _ in range(2):  # the gain ramps over the first block
        out = mic.astype(np.float32)
        g.block(mic, far, out, False, 0.1, 1.0)
    assert 10 * np.log10(e_mic / float(np.sum(out.astype(np.float64) ** 2))) == pytest.approx(35.0, abs=0.1)
    assert g._hold == 0
    out = mic.astype(np.float32)  # the linear canceller left half: the near end may be there
    g.block(mic, far, out, False, 0.6, 1.0)
    assert g._hold > 0

    g = apm.ResidualGate(s)  # it took 10 dB off, but left far more than its residual
    out = mic.astype(np.float32)
    g.block(mic, far, out, False, 0.1, 10 ** 1.5)
    assert np.array_equal(out, mic.astype(np.float32)) and g._hold > 0
    g = apm.ResidualGate(s)  # its residual is not learnt yet: no evidence
    out = mic.astype(np.float32)
    g.block(mic, far, out, False, 0.1, np.inf)
    assert np.array_equal(out, mic.astype(np.float32)) and g._hold > 0
    g = apm.ResidualGate(dataclasses.replace(s, residual_explained_db=0.0))  # the share alone
    out = mic.astype(np.float32)
    g.block(mic, far, out, False, 0.1, np.inf)
    assert g._hold == 0 and g.attenuated == 1
