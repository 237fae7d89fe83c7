"""Acoustic echo cancellation for users on loudspeakers (off when on headphones).

A partitioned-block frequency-domain adaptive filter (PBFDAF, overlap-save, constrained
gradient) models the echo path from the far-end signal (what the loudspeakers play) to
the microphone and subtracts its estimate. The filter spans ``tail_ms`` in ``P``
partitions of ``block`` samples, so its cost grows with P, not with the tail length times
the block. Adaptation is the frequency-domain NLMS: each bin's step is normalised by that
bin's far-end power summed over the partitions.

Adaptation freezes while a Geigel double-talk detector sees near-end speech (the
microphone peak above ``geigel`` times the recent far-end peak), and while the far end is
silent; a divergence guard resets the filter if it ever adds energy.

This is the fallback canceller: the client uses WebRTC's AEC3 (:mod:`vrdiplomacy.voice.apm`)
where its binding loads, which measured better on every case of ``tools/bench/voice_echo.py``.
:class:`EchoMeter` serves both: it tells the transmit gate which frames hold only echo.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.voice.doubletalk import LinearSettings
from vrdiplomacy.voice.residual import SuppressorSettings

F32 = npt.NDArray[np.float32]


@dataclass
class AecSettings:
    """Echo canceller settings.

    Fields: ``fs``; ``block`` samples per partition and per processing step (also the
    granularity of :meth:`EchoCanceller.process` input); ``tail_ms`` the longest echo path
    modelled (loudspeaker-to-microphone delay plus room decay); ``step`` NLMS step size
    (0..1); ``geigel`` double-talk threshold (ratio of microphone peak to far-end peak);
    ``hold_ms`` adaptation stays frozen this long after double talk; ``silence_dbfs``
    far-end power below which the filter does not adapt; ``regularization`` added to each
    bin's normalising power, as a fraction of the mean power over bins (keeps the constrained
    update stable on tonal, vowel-like signals).

    Backend (:mod:`vrdiplomacy.voice.apm`): ``backend`` "auto" (WebRTC AEC3 when its binding
    loads, else this canceller with a warning), "webrtc" or "builtin"; ``noise_suppression``,
    ``high_pass`` and ``gain_control`` WebRTC's noise suppressor, high-pass filter and AGC;
    ``stream_delay_ms`` the known loudspeaker-to-microphone delay handed to AEC3 as a starting
    point (its delay estimator finds the real one).

    Echo gate (:class:`EchoMeter`): a frame holds only echo when the far end played above
    ``far_active_dbfs`` within the last ``echo_window_ms`` and either the canceller took more
    than ``echo_removed_db`` off the microphone signal (near-end speech passes the canceller
    nearly untouched, echo does not) or what is left is ``far_margin_db`` below the loudest
    far-end block of that window (a talker at the microphone is about as loud as the
    loudspeakers or louder).

    Residual echo gate after AEC3 (:class:`~vrdiplomacy.voice.apm.WebRtcProcessor`): while
    the far end is active, a 10 ms block from which AEC3 already removed at least
    ``residual_trigger_db`` is echo-dominated (near-end speech passes AEC3 within a few dB),
    and is attenuated further until ``residual_target_db`` is removed in all; 0 turns it off.
    A block that AEC3 passed within ``residual_pass_db`` and that is no more than
    ``far_margin_db`` below the far end's loudest is near-end speech: the gate stays open
    for ``residual_hold_ms`` after it, so word endings in double talk are not cut. Unless
    the linear canceller beside AEC3 (``linear``) left less than ``residual_linear_db``
    below the microphone of that block, and what it left is within
    ``residual_explained_db`` of the residual it is expected to leave of echo alone (learnt
    by the double-talk keeper on echo-only blocks): then it is echo that AEC3 passed, and
    is attenuated like the rest (``residual_linear_db`` 0: AEC3's word only;
    ``residual_explained_db`` 0: the share alone, as on abdf91c). Under an echo louder
    than the talker the linear canceller takes more than 6 dB off a double-talk block too,
    but leaves the talker: its error is then far above the expected residual, and AEC3's
    word stands. While that residual is not learnt (the filter not trusted yet) there is no
    linear evidence. The gate compares each output block with the microphone block it came from
    (AEC3's output lags its input by about 15 ms).

    Delay alignment before AEC3 (:class:`~vrdiplomacy.voice.apm.DelayAligner`): with
    ``align_delay`` the bulk delay (up to ``align_max_delay_ms``) is measured every
    ``align_every_ms`` over ``align_window_ms`` (GCC-PHAT; a peak ``align_quality`` times the
    spread counts) and taken out of the reference, leaving AEC3 ``align_margin_ms``.
    It covers the seconds after an echo path change, when AEC3's linear filter re-converges
    and its own suppressor lets 20 dB windows through.

    ``linear``: the linear canceller and double-talk detector beside AEC3
    that keeps near-end word onsets AEC3 mutes (:mod:`vrdiplomacy.voice.doubletalk`).
    ``suppressor``: the per-band residual echo suppressor driven by that linear filter,
    after AEC3 and the keeper, before the residual gate (:mod:`vrdiplomacy.voice.residual`).
    """

    fs: int = 48000
    block: int = 480
    tail_ms: float = 120.0
    step: float = 0.5
    geigel: float = 0.5
    hold_ms: float = 150.0
    silence_dbfs: float = -70.0
    regularization: float = 1.0
    backend: str = "auto"
    noise_suppression: bool = True
    high_pass: bool = True
    gain_control: bool = False
    stream_delay_ms: float = 0.0
    far_active_dbfs: float = -55.0
    echo_window_ms: float = 400.0
    echo_removed_db: float = 20.0
    far_margin_db: float = 30.0
    residual_trigger_db: float = 6.0
    residual_target_db: float = 35.0
    residual_pass_db: float = 3.0
    residual_hold_ms: float = 500.0
    residual_linear_db: float = 6.0
    residual_explained_db: float = 6.0
    align_delay: bool = True
    align_margin_ms: float = 10.0
    align_max_delay_ms: float = 500.0
    align_window_ms: float = 400.0
    align_every_ms: float = 100.0
    align_quality: float = 8.0
    linear: LinearSettings = field(default_factory=LinearSettings)
    suppressor: SuppressorSettings = field(default_factory=SuppressorSettings)


class EchoMeter:
    """Per block: microphone energy, canceller output energy and whether the far end was
    active; :meth:`frame_is_echo` consumes them in output order."""

    def __init__(self, settings: AecSettings) -> None:
        self.s = settings
        self._far: deque[float] = deque(maxlen=max(1, int(math.ceil(settings.echo_window_ms * settings.fs / 1000.0
                                                                       / settings.block))))
        self._blocks: deque[tuple[int, float, float, float]] = deque()
        self._far_active = 10.0 ** (settings.far_active_dbfs / 10.0)
        self._ratio = 10.0 ** (-settings.echo_removed_db / 10.0)
        self._margin = 10.0 ** (-settings.far_margin_db / 10.0)
        self.echo_frames = 0

    def block(self, mic: npt.ArrayLike, out: npt.ArrayLike, far: npt.ArrayLike | None) -> None:
        m = np.asarray(mic, dtype=np.float64)
        o = np.asarray(out, dtype=np.float64)
        if far is not None:
            f = np.asarray(far, dtype=np.float64)
            self._far.append(float(np.dot(f, f)) / max(1, f.size))
        far_max = max(self._far) if self._far else 0.0
        self._blocks.append((m.size, float(np.dot(m, m)), float(np.dot(o, o)), far_max))
        while len(self._blocks) > 1000:  # nobody asks: keep ten seconds
            self._blocks.popleft()

    def frame_is_echo(self, n: int) -> bool:
        """Consume ``n`` samples' worth of blocks; True when the far end was active and the
        canceller removed more than ``echo_removed_db`` of them (what is left is echo)."""
        mic_e = out_e = far_max = 0.0
        count = n
        while n > 0 and self._blocks:
            size, me, oe, fm = self._blocks[0]
            take = min(n, size)
            frac = take / size
            mic_e += me * frac
            out_e += oe * frac
            far_max = max(far_max, fm)
            n -= take
            if take == size:
                self._blocks.popleft()
            else:
                self._blocks[0] = (size - take, me * (1 - frac), oe * (1 - frac), fm)
        active = far_max > self._far_active
        echo = active and (out_e < self._ratio * mic_e or out_e < self._margin * far_max * count)
        self.echo_frames += int(echo)
        return echo


class EchoCanceller:
    """PBFDAF echo canceller; feed it microphone and loudspeaker blocks in step."""

    backend = "builtin"

    def __init__(self, settings: AecSettings | None = None) -> None:
        self.s = s = settings or AecSettings()
        if s.block <= 0 or s.tail_ms <= 0 or not 0.0 < s.step <= 1.0:
            raise ConfigError("echo canceller: block, tail and step (0..1] must be positive")
        n = s.block
        self.partitions = max(1, int(math.ceil(s.tail_ms * s.fs / 1000.0 / n)))
        self._bins = n + 1
        self._W = np.zeros((self.partitions, self._bins), dtype=np.complex128)
        self._X = np.zeros((self.partitions, self._bins), dtype=np.complex128)
        self._xprev = np.zeros(n, dtype=np.float64)
        self._xpow = np.zeros(self._bins, dtype=np.float64)
        self._far_peaks = np.zeros(self.partitions + 1, dtype=np.float64)
        self._hold = 0
        self._hold_blocks = max(1, int(round(s.hold_ms * s.fs / 1000.0 / n)))
        self._silence = (10.0 ** (s.silence_dbfs / 10.0))
        self.double_talk = False
        self.resets = 0
        self.meter = EchoMeter(s)

    def frame_is_echo(self, n: int) -> bool:
        """Whether the next ``n`` output samples carry only residual echo (see :class:`EchoMeter`)."""
        return self.meter.frame_is_echo(n)

    def reset(self) -> None:
        self._W[:] = 0
        self.resets += 1

    def _block(self, d: npt.NDArray[np.float64], x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        n = self.s.block
        xx = np.concatenate([self._xprev, x])
        self._xprev = x
        self._X = np.roll(self._X, 1, axis=0)
        self._X[0] = np.fft.rfft(xx)
        y = np.fft.irfft(np.sum(self._W * self._X, axis=0), 2 * n)[n:]
        e = d - y
        # Double talk and silence checks.
        self._far_peaks = np.roll(self._far_peaks, 1)
        self._far_peaks[0] = float(np.max(np.abs(x))) if x.size else 0.0
        far_peak = float(self._far_peaks.max())
        if float(np.max(np.abs(d))) > self.s.geigel * far_peak:
            self._hold = self._hold_blocks
        self.double_talk = self._hold > 0
        if self._hold > 0:
            self._hold -= 1
        far_power = float(np.mean(x * x))
        self._xpow = np.sum(self._X.real**2 + self._X.imag**2, axis=0)
        if not self.double_talk and far_power > self._silence:
            E = np.fft.rfft(np.concatenate([np.zeros(n), e]))
            norm = self._xpow + self.s.regularization * float(self._xpow.mean()) + self._silence * n * self.partitions
            G = self.s.step * np.conj(self._X) * (E / norm)[np.newaxis, :]
            g = np.fft.irfft(G, 2 * n, axis=1)
            g[:, n:] = 0.0
            self._W += np.fft.rfft(g, axis=1)
        ee = float(np.sum(e * e))
        if ee > 4.0 * float(np.sum(d * d)) and ee > self._silence * 100.0 * n:
            self.reset()
            return d
        return e

    def process(self, mic: npt.ArrayLike, far: npt.ArrayLike) -> F32:
        """Cancel the echo of ``far`` (loudspeaker signal) in ``mic``. Both have the same
        length, a multiple of ``block``; the result is the microphone signal without echo."""
        d = np.asarray(mic, dtype=np.float64).reshape(-1)
        x = np.asarray(far, dtype=np.float64).reshape(-1)
        n = self.s.block
        if d.size != x.size or d.size % n:
            raise ConfigError(f"echo canceller input must be equal-length multiples of {n} samples")
        out = np.empty_like(d)
        for i in range(0, d.size, n):
            out[i : i + n] = self._block(d[i : i + n], x[i : i + n])
            self.meter.block(d[i : i + n], out[i : i + n], x[i : i + n])
        return out.astype(np.float32)

    def erle_db(self, mic: npt.ArrayLike, out: npt.ArrayLike) -> float:
        """Echo return loss enhancement: microphone energy over output energy, in dB."""
        m = np.asarray(mic, dtype=np.float64)
        o = np.asarray(out, dtype=np.float64)
        return 10.0 * math.log10((float(np.sum(m * m)) + 1e-20) / (float(np.sum(o * o)) + 1e-20))
