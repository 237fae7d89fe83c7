"""Per-band residual echo suppression after AEC3 (issue 16, long reverberation).

Measured first (``tools/bench/voice_echo.py``, tuning-2: 0.5-0.7 s tails, a loud echo):
in the far-end-only blocks that carry the residual (about a tenth of the blocks with echo,
97 % of the residual energy), AEC3 lets the echo through in whole bands at about its own
level (0 to -4 dB in 250-2000 Hz), and the linear canceller beside it is not better there
(1-7 dB: bands its filter has hardly learnt, and the tail beyond its 250 ms); the keeper
replaced AEC3's output in only a few of them, and the residual gate took none (an output
that close to the microphone looks like a talker to it, and holds it open 500 ms).

:class:`EchoSuppressor` therefore does not rely on what the linear filter cancels but on
how loud it says the echo is: per bin, the echo power expected from the far end's recent
spectrum through the foreground filter's power response (``sum_j |W_j|^2 |X_j|^2``, the
response smoothed across ``smooth_bins`` so that bins the far end has not excited yet take
their neighbours' gain), plus the tail beyond the filter (its last partition's echo, decaying
at the rate the filter's own partitions decay), calibrated on the keeper's echo estimate.
Outside double talk, each bin of AEC3's output that is not ``pass_db`` above ``margin_db``
times that expectation is brought down towards ``floor_db`` (in dB between the two); gains
fall at once and rise slowly (``release``, against musical noise) except in bins far above
the expectation (a talker's onset). They are applied by a short minimum-phase filter
(``fir_ms``; its length also smooths them across frequency): no added latency, and with all
gains at 1 the output is AEC3's, sample for sample. A near-end talker's bands are far above
the echo they compete with once AEC3 removed it, and pass; echo that AEC3 let through is at
or under its estimate, and dies.

The suppressor stands aside while the keeper detects double talk (it lifts its gains within
``onset_ms``) and for ``hold_ms`` after a double talk in which the output stood above the
expected echo (a talker's word ending; a false double talk on echo alone does not hold it).
It stands aside, too, while the keeper relearns after taking a long "double talk" for
a changed echo path (:attr:`NearEndKeeper.relearning`): its filter may then have learnt
the talker, and without the keeper's detection the talker was suppressed (found on
held-out-4 at a -6 dB path after its one measurement: near-end frames sent 88 -> 69 %).
It also acts while the linear filter still adds energy (right after the delay alignment
moved and the filter restarted, AEC3 restarted too: on tuning-2 at 50 ms that 0.2 s held 99 %
of what was left of the echo once the rest was suppressed); its power response is a fair
estimate of the echo's level well before its phase is right.

Tried and dropped (tuning material): suppressing during double talk too, against the
keeper's expected residual plus the tail (near-end frames sent on tuning-2 at 10 ms / +2 dB:
81 % -> 66-74 %, even with a -6 dB floor); the tail added to the keeper's expected residual,
so that its detector takes a long room's tail for echo (81 % -> 66 %); a linear-phase filter
(1-2.5 ms of delay: 95 % -> 92 % near-end frames sent on tuning at 100 ms / -10 dB, word
onsets moved into the next frame). What is not solved: in a long room with the tuning
(alsa-utils) voices, nearly all the echo left (36 of 696 blocks, 99.8 % of the energy) is
in blocks the keeper takes for double talk and replaces with its linear error (ERLE 16 ->
19 dB there with the suppressor; 46 dB outside those blocks). The same leak limits the 10 ms
delay in long rooms: tuning-2 voices in room 43 (T60 0.55 s) at 10 ms / 0 dB, ERLE 24.5 dB,
99 % of what is left in 39 such blocks (AEC3's output 30-55 dB under the echo there, the
linear error 4-17 dB). In them the background filter leads the foreground by 1.3-1.7 dB
(median; a talker's double talk: 0, 95 % under 0.6 dB) and the error is 9-10 dB under the
echo estimate (a talker: 2-4 dB); no double talk while the background leads by 1 dB lifted
room 45 at 10 ms from 35.5 to 50.3 dB but left room 43 at 25 dB, and cut a restored talker
(tests/voice/test_doubletalk.py, correlation 0.75 < 0.9): dropped.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import uniform_filter1d

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.voice.doubletalk import NearEndKeeper

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]


@dataclass
class SuppressorSettings:
    """The per-band residual echo suppressor after AEC3 (see the module docstring).

    ``enabled`` (False: AEC3's output as it is); ``margin_db``: a bin of AEC3's output at or
    below the expected echo plus this margin is echo (gain ``floor_db``), ``pass_db`` above
    that it passes untouched (in dB between the two); ``smooth_bins`` the width of the
    filter's power response smoothing across frequency (bins of 50 Hz); ``release`` weight of
    the previous gain when a gain rises (0: at once; gains fall at once), except in bins
    ``instant_db`` above the expected echo (a talker's onset: at once); ``fir_ms`` half the
    length of the minimum-phase filter that applies the gains (no delay); ``calib`` weight of
    a new block in the calibration of the power model on the keeper's echo estimate;
    ``fit_db``: suppression only while the linear filter removes at least this much of the
    microphone's energy (smoothed; -10: unless it adds more than 10 dB, diverged);
    ``every``: the smoothed power response is taken from the filter every this many blocks
    (and whenever the foreground takes new coefficients). Double talk: the keeper's lifts
    the gains within ``onset_ms``; the suppressor stays out ``hold_ms`` after one in which
    the output stood ``arm_db`` above the expected echo (word endings, dips between
    syllables; a false double talk on echo alone, the echo at its estimate, does not hold)."""

    enabled: bool = True
    margin_db: float = 0.0
    pass_db: float = 6.0
    floor_db: float = -25.0
    smooth_bins: int = 9
    release: float = 0.8
    fir_ms: float = 2.5
    calib: float = 0.05
    fit_db: float = -10.0
    every: int = 4
    hold_ms: float = 200.0
    arm_db: float = 3.0
    instant_db: float = 12.0
    onset_ms: float = 2.0


class EchoSuppressor:
    """:meth:`observe` after the keeper's :meth:`~NearEndKeeper.push` (one microphone
    block), :meth:`apply` on AEC3's output block after the keeper's :meth:`~NearEndKeeper.mix`
    (in place). ``lag``: samples AEC3's output comes after its input."""

    def __init__(self, settings: SuppressorSettings, fs: int = 48000, block: int = 480, lag: int = 0) -> None:
        s = self.s = settings
        if s.smooth_bins < 1 or s.every < 1 or not 0.0 <= s.release < 1.0 or s.pass_db <= 0.0 or s.floor_db >= 0.0:
            raise ConfigError("echo suppressor: smooth_bins >= 1, release in [0, 1), pass_db > 0, floor_db < 0")
        self.n = n = block
        self.L = L = max(1, min(n // 2, round(s.fir_ms * fs / 1000.0)))
        self._k = lag // n
        self._S: deque[F64] = deque([np.zeros(n + 1)] * (self._k + 2), maxlen=self._k + 2)
        self._tail = np.zeros(n + 1)
        self._scale = 0.0
        self._w2s: npt.NDArray[np.float32] | None = None
        self._decay = 0.0
        self._count = 0
        self._copies = -1
        self._x2: npt.NDArray[np.float32] | None = None
        self._nfft = 1 << math.ceil(math.log2(n + 4 * self.L))
        self._win = np.sqrt(0.5 - 0.5 * np.cos(2.0 * np.pi * (np.arange(2 * n) + 0.5) / (2 * n)))
        self._taper = np.hanning(4 * L + 3)[2 * L + 1:-1]  # the falling half: no time aliasing at the end
        self._prev_out = np.zeros(n)
        self._hist = np.zeros(2 * L)  # the last 2L input samples (the filter's memory)
        self._gain = np.ones(n + 1)
        self._fir: npt.NDArray[np.complex128] | None = None  # its spectrum; None: the identity
        self._ramp = np.arange(1, n + 1, dtype=np.float64) / n
        self._fast = np.minimum(1.0, np.arange(1, n + 1, dtype=np.float64) / max(1.0, s.onset_ms * fs / 1000.0))
        self._margin = 10.0 ** (s.margin_db / 10.0)
        self._fit = 10.0 ** (-s.fit_db / 10.0)
        self._floor = 10.0 ** (s.floor_db / 20.0)
        self._hold_blocks = round(s.hold_ms * fs / 1000.0 / block)
        self._hold = 0
        self._arm = 10.0 ** (s.arm_db / 10.0)
        self.suppressed = 0  # output blocks brought down by at least 3 dB
        self.last_removed = 1.0  # the last block's output energy after / before suppression

    def observe(self, keeper: NearEndKeeper) -> None:
        """The echo power expected in the microphone block the keeper just took."""
        lin = keeper.linear
        if self._x2 is None or self._x2.shape != lin._X.shape:
            self._x2 = (lin._X.real ** 2 + lin._X.imag ** 2).astype(np.float32)
        else:  # the reference's power spectra, newest first (as the filter's partitions)
            self._x2[1:] = self._x2[:-1]
            self._x2[0] = lin._X[0].real ** 2 + lin._X[0].imag ** 2
        x2 = self._x2
        self._count += 1
        if self._w2s is None or self._count % self.s.every == 0 or lin.copies != self._copies:
            # the filter's power response, smoothed across frequency (it changes slowly)
            self._copies = lin.copies
            w2 = lin._fg.real ** 2 + lin._fg.imag ** 2
            self._w2s = uniform_filter1d(w2, self.s.smooth_bins, axis=1, mode="nearest")
            # the tail beyond the filter: its last partition's echo, decaying as the filter does
            e = w2.sum(axis=1)
            p = e.size
            h = p // 2
            self._decay = 0.0
            if p >= 4 and e[-1] > 0.0 and e[h] > 0.0:
                self._decay = min(0.97, max(0.0, (float(e[-1]) / float(e[h])) ** (1.0 / (p - 1 - h))))
        w2s = self._w2s
        model = np.einsum("pk,pk->k", w2s, x2).astype(np.float64)
        self._tail = self._decay * (self._tail + w2s[-1] * x2[-1])
        # calibrated on the keeper's echo estimate (the bins of its sqrt-Hann frames)
        mp, yp = float(model.sum()), float(keeper.py.sum())
        if lin.far_active and mp > 0.0 and yp > 0.0:
            r = yp / mp
            self._scale = r if self._scale == 0.0 else self._scale + self.s.calib * (r - self._scale)
        # not while the keeper relearns after it took its filter for a changed path: that
        # filter may have learnt a talker (a long turn in double talk ends so), and the
        # keeper detects no double talk until it trusts the filter again
        fits = lin.fg_energy < self._fit * lin.mic_energy and not keeper.relearning
        self._S.append(self._scale * (model + self._tail) if fits else np.zeros(self.n + 1))

    def apply(self, out: F32, skip: bool = False) -> None:
        """Suppress the expected echo in AEC3's output block ``out`` (in place; ``skip``: the
        keeper put the near end in, left as it is)."""
        n = self.n
        o = out.astype(np.float64)
        frame = np.concatenate([self._prev_out, o]) * self._win
        self._prev_out = o
        O = np.abs(np.fft.rfft(frame)) ** 2
        S = np.maximum(self._S[0], self._S[1]) * self._margin
        if skip:
            if float(O.sum()) > self._arm * float(S.sum()):
                self._hold = self._hold_blocks  # a talker above the echo estimate: keep its word's end
        elif self._hold > 0:
            self._hold -= 1
            skip = True
        if skip or not S.any():
            g = np.ones(n + 1)  # at once: a talker's onset is not held down
        else:
            r_db = 10.0 * np.log10((O + 1e-20) / (S + 1e-20))
            t = np.clip(r_db / self.s.pass_db, 0.0, 1.0)
            g = self._floor ** (1.0 - t)
            # gains rise slowly (no musical noise around the threshold), except in bins far
            # above the expected echo: a talker's onset
            rise = (g > self._gain) & (r_db < self.s.instant_db)
            g[rise] = self.s.release * self._gain[rise] + (1.0 - self.s.release) * g[rise]
        lift = skip or float(np.mean(g)) > float(np.mean(self._gain)) + 0.2  # an onset
        self._gain = g
        fir = None if bool(np.all(g > 0.999)) else self._design(g)
        buf = np.concatenate([self._hist, o])
        self._hist = buf[-2 * self.L:]
        if fir is self._fir is None:
            res = o
        else:
            B = np.fft.rfft(buf, self._nfft)
            new = self._filter(buf, B, fir)
            old = self._filter(buf, B, self._fir)
            # the keeper's double talk (or a talker's onset far above the echo) lifts the
            # gains within ``onset_ms``, other changes ramp over the block
            res = old + (new - old) * (self._fast if lift else self._ramp)
        self._fir = fir
        before = float(np.dot(o, o))
        after = float(np.dot(res, res))
        self.last_removed = after / before if before > 0.0 else 1.0
        self.suppressed += int(self.last_removed < 0.5)
        out[:] = res

    def _design(self, g: F64) -> npt.NDArray[np.complex128]:
        """The spectrum of a minimum-phase FIR (2L+1 taps, no delay) with about the response
        ``g`` (smoothed across frequency by its length): from the folded real cepstrum of
        ``log g``, so that the near end passes without a delay when the gains are 1."""
        n = self.n
        c = np.fft.irfft(np.log(np.maximum(g, 1e-4)), 2 * n)
        c[1:n] *= 2.0
        c[n + 1:] = 0.0
        h = np.fft.irfft(np.exp(np.fft.rfft(c)), 2 * n)[:2 * self.L + 1]
        return np.fft.rfft(h * self._taper, self._nfft)

    def _filter(self, buf: F64, B: npt.NDArray[np.complex128], fir: npt.NDArray[np.complex128] | None) -> F64:
        """``buf`` (2L samples of memory, then the block) through the FIR."""
        if fir is None:
            return buf[2 * self.L:2 * self.L + self.n]
        return np.fft.irfft(B * fir, self._nfft)[2 * self.L:2 * self.L + self.n]


def suppressor_for(settings: SuppressorSettings, keeper: NearEndKeeper | None, fs: int, block: int) -> EchoSuppressor | None:
    """The suppressor of a chain with ``keeper`` (None without one, or when disabled)."""
    if keeper is None or not settings.enabled:
        return None
    return EchoSuppressor(settings, fs, block, keeper.lag)
