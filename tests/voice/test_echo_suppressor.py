"""The per-band residual echo suppressor after AEC3 (vrdiplomacy.voice.residual, issue 16:
ERLE in long reverberation, far-end-only frames sent). Beside the keeper's linear filter
and a worst-case AEC3 that removes nothing (its output is the microphone), so no WebRTC is
needed; the wiring through the WebRTC chain is checked where livekit loads."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve
from speechlike import long_room, talk

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.voice import apm
from vrdiplomacy.voice.aec import AecSettings
from vrdiplomacy.voice.doubletalk import LinearSettings, NearEndKeeper
from vrdiplomacy.voice.residual import (
    EchoSuppressor,
    SuppressorSettings,
    suppressor_for,
)

FS, N = 48000, 480
T60_S = 0.7  # tuning-2's room: a tail far beyond the keeper's 250 ms filter


def run(mic: np.ndarray, far: np.ndarray, suppress: bool) -> np.ndarray:
    """The keeper and (``suppress``) the suppressor around an AEC3 that passes everything,
    wired as :class:`~vrdiplomacy.voice.apm.WebRtcProcessor` wires them."""
    keeper = NearEndKeeper(LinearSettings())
    sup = EchoSuppressor(SuppressorSettings(), FS, N, lag=0) if suppress else None
    out = np.zeros(far.size)
    for i in range(0, far.size, N):
        keeper.push(mic[i:i + N], far[i:i + N])
        if sup is not None:
            sup.observe(keeper)
        blk = mic[i:i + N].astype(np.float32)  # the worst-case AEC3: nothing removed
        keeper.mix(blk)
        if sup is not None:
            sup.apply(blk, skip=keeper.replaced or keeper.flagged)
        out[i:i + N] = blk
    return out


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """6 s of far-end speech into a 0.7 s reverberation at a 0 dB echo path: (far, echo, mic)."""
    far = talk(6.0, 31, rms=0.1)
    echo = fftconvolve(far, long_room(3, T60_S, 0.0))[: far.size]
    return far, echo, echo + 1e-5 * np.random.default_rng(2).standard_normal(far.size)


def erle(echo: np.ndarray, out: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(echo**2) / np.sum(out**2)))


def test_echo_that_aec3_lets_through_in_a_long_room_dies(scene: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """Echo alone, after 3 s: what the keeper's chain gives out is at least 20 dB under the
    echo with the suppressor (about 24 dB), where the chain as on main c54bfe1 (the keeper's
    clamp to its linear error, no suppressor) leaves it at about 12 dB. Fails on main
    c54bfe1 (no suppressor there)."""
    far, echo, mic = scene
    late = slice(3 * FS, None)
    with_sup = erle(echo[late], run(mic, far, True)[late])
    without = erle(echo[late], run(mic, far, False)[late])
    assert with_sup > 20.0
    assert with_sup > without + 6.0


def test_a_talker_in_double_talk_still_passes(scene: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """A talker as loud as the echo from 4 s on: the suppressor gives the talker out at its
    own level (within 2 dB) and shape (correlation above 0.85, at the chain's delay)."""
    far, echo, mic = scene
    near = np.zeros_like(far)
    k = 4 * FS
    near[k:] = talk(2.0, 32, rms=float(np.std(echo)))
    out = run(mic + near, far, True)
    lag = max(range(0, 1200, 24), key=lambda d: float(np.dot(out[k + d:k + d + FS], near[k:k + FS])))
    o, ns = out[k + lag:], near[k:far.size - lag]
    assert abs(10 * np.log10(np.sum(o**2) / np.sum(ns**2))) < 2.0
    assert np.corrcoef(o, ns)[0, 1] > 0.85


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError):
        EchoSuppressor(SuppressorSettings(floor_db=3.0))
    with pytest.raises(ConfigError):
        EchoSuppressor(SuppressorSettings(smooth_bins=0))


@pytest.mark.skipif(not apm.webrtc_available(), reason="livekit (WebRTC audio processing) is not installed")
def test_the_webrtc_chain_runs_the_suppressor_by_default() -> None:
    """The chain the sender builds (make_canceller with default settings) has the suppressor
    after the keeper, and it acts on echo AEC3 and the keeper leave."""
    c = apm.make_canceller(AecSettings(backend="webrtc"))
    assert isinstance(c, apm.WebRtcProcessor) and c.suppressor is not None
    assert suppressor_for(SuppressorSettings(enabled=False), c.keeper, FS, N) is None
    far = talk(3.0, 31, rms=0.1)
    echo = fftconvolve(far, long_room(3, T60_S, 0.0))[: far.size]
    c.process(echo, far)
    assert c.suppressor.suppressed > 0
