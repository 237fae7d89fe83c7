"""Live room tests: delegates through a real relay on loopback with file devices and distinct
recorded speech (Debian alsa-utils' announcements)."""

from __future__ import annotations

import asyncio
import itertools
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np

from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.scene.layout import Layout
from vrdiplomacy.session.rooms import RoomsSettings
from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings
from vrdiplomacy.voice.devices import WavOutput, write_wav

FS = 48000


def talk_file(tmp: Path, name: str, parts: list[np.ndarray | float]) -> Path:
    """A microphone file: arrays of speech and floats (seconds of silence) in order."""
    out = [p if isinstance(p, np.ndarray) else np.zeros(int(p * FS), np.float32) for p in parts]
    path = tmp / f"{name}.wav"
    write_wav(path, np.concatenate(out).astype(np.float32))
    return path


def read_stereo(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2).astype(np.float32) / 32768.0


def energy_db(x: np.ndarray) -> float:
    e = float(np.mean(np.asarray(x, np.float64) ** 2)) if x.size else 0.0
    return 10.0 * np.log10(max(e, 1e-20))


def envelope(x: np.ndarray, hop: int = 960) -> np.ndarray:
    n = x.size // hop
    return np.sqrt(np.mean(np.asarray(x[: n * hop], np.float64).reshape(n, hop) ** 2, axis=1))


def best_correlation(src: np.ndarray, out: np.ndarray, min_lag_s: float = 0.0, max_lag_s: float = 1.0) -> tuple[float, float]:
    """(highest correlation of 20 ms envelopes of ``src`` and ``out`` over lags min_lag_s..max_lag_s, lag s)."""
    hop = 960
    e_src = envelope(src, hop)
    e_out = envelope(out, hop)
    best, best_lag = -1.0, 0
    for lag in range(int(min_lag_s * FS / hop), min(int(max_lag_s * FS / hop), e_out.size - e_src.size) + 1):
        seg = e_out[lag : lag + e_src.size]
        if seg.std() == 0 or e_src.std() == 0:
            continue
        c = float(np.corrcoef(e_src, seg)[0, 1])
        if c > best:
            best, best_lag = c, lag
    return best, best_lag * hop / FS


class Delegate:
    """One delegate's session with its file devices and where it sits."""

    def __init__(self, relay: EmbeddedRelay, layout: Layout, tmp: Path, name: str, seat: str,
                 mic: Path | None = None, hear: bool = True, rooms: RoomsSettings | None = None) -> None:
        from vrdiplomacy.voice.devices import WavInput

        st = layout.seat(seat)
        self.name, self.seat = name, st
        self.out_path = tmp / f"{name}_heard.wav" if hear else None
        settings = SessionSettings(name, seat, layout.scene, hear=hear, rooms=rooms or RoomsSettings())
        self.session = DelegateSession(relay.host, relay.port, relay.fingerprint, settings, layout,
                                       HeldPose(st.eye_pose()), WavInput(mic) if mic else None,
                                       WavOutput(self.out_path) if self.out_path else None)

    @property
    def cid(self) -> int:
        assert self.session.client is not None
        return self.session.client.client_id

    def heard(self) -> np.ndarray:
        assert self.out_path is not None
        return read_stereo(self.out_path)


async def run_room(layout: Layout, body: Callable[[EmbeddedRelay], Awaitable[Any]]) -> Any:
    async with EmbeddedRelay(layouts={layout.scene: layout}, default_layout=layout) as relay:
        return await body(relay)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


def _bands(x: np.ndarray, hop: int = 480, n_bands: int = 24) -> np.ndarray:
    """Band amplitudes (frames, bands) of 20 ms Hann frames every 10 ms, bands log-spaced 100 Hz-8 kHz."""
    x = np.asarray(x, np.float64)
    n = (x.size - 2 * hop) // hop
    if n <= 0:
        return np.zeros((0, n_bands))
    idx = np.arange(2 * hop)[None, :] + hop * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(2 * hop), axis=1)) ** 2
    freqs = np.fft.rfftfreq(2 * hop, 1 / FS)
    edges = np.geomspace(100.0, 8000.0, n_bands + 1)
    out = np.stack([spec[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) for lo, hi in itertools.pairwise(edges)], axis=1)
    return np.sqrt(out)


def spectral_correlation(src: np.ndarray, out: np.ndarray, min_lag_s: float, max_lag_s: float) -> tuple[float, float]:
    """(correlation of the band amplitudes of ``src`` and of ``out``, lag s): a time-frequency match,
    which tells two utterances of one voice apart better than broadband envelopes; linear
    amplitudes, so a voice 18 dB down weighs little. The best lag over min_lag_s..max_lag_s for the
    whole of ``src``, then each 0.5 s window of it at its own best lag within 80 ms of that (the
    jitter buffer stretches and shrinks time under load), averaged weighted by the window's energy."""
    hop = 480
    a, b = _bands(src, hop), _bands(out, hop)

    def corr(x: np.ndarray, y: np.ndarray) -> float:
        # each band's mean removed: what is compared is how the spectrum moves, not the voice's
        # long-term spectrum (the same speaker's utterances share it)
        x, y = x - x.mean(axis=0), y - y.mean(axis=0)
        if x.std() == 0 or y.std() == 0:
            return 0.0
        return float(np.corrcoef(x.ravel(), y.ravel())[0, 1])

    best, best_lag = -1.0, 0
    for lag in range(int(min_lag_s * FS / hop), min(int(max_lag_s * FS / hop), b.shape[0] - a.shape[0]) + 1):
        c = corr(a, b[lag : lag + a.shape[0]])
        if c > best:
            best, best_lag = c, lag
    win, slack = 50, 8  # 0.5 s windows, 80 ms
    total = weight = 0.0
    for start in range(0, a.shape[0] - win + 1, win):
        w = float(np.sum(a[start : start + win] ** 2))
        lo, hi = max(0, best_lag + start - slack), min(b.shape[0] - win, best_lag + start + slack)
        c = max((corr(a[start : start + win], b[k : k + win]) for k in range(lo, hi + 1)), default=0.0)
        total += w * c
        weight += w
    return (total / weight if weight else best), best_lag * hop / FS
