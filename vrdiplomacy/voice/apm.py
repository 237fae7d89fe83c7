"""Microphone processing from WebRTC's audio processing module (AEC3 echo canceller with its
own delay estimator and residual-echo suppressor, noise suppression, high-pass filter,
optional gain control), through LiveKit's Python SDK (``livekit.rtc.AudioProcessingModule``,
Apache-2.0, prebuilt wheels for Linux, macOS and Windows).

:func:`make_canceller` picks the backend from :attr:`AecSettings.backend`: ``"auto"`` uses
WebRTC when the binding loads and otherwise logs one warning and falls back to our own
canceller (:class:`~vrdiplomacy.voice.aec.EchoCanceller`, no noise suppression); ``"webrtc"``
requires the binding (:class:`~vrdiplomacy.errors.AudioError` saying how to install it);
``"builtin"`` is our own canceller.

Around AEC3 (the binding exposes only on/off switches and ``set_stream_delay_ms``, which AEC3's
own delay estimator overrides): :class:`DelayAligner` takes the bulk echo delay out of AEC3's
reference, so that a moved laptop or another audio device reaches AEC3 as a new room at its
old delay (re-converged within a second) rather than as a delay jump (2-3 s);
:class:`ResidualGate` attenuates blocks that AEC3 cut only partly while the far end talks.
:class:`~vrdiplomacy.voice.doubletalk.NearEndKeeper` (:attr:`AecSettings.linear`) runs a
linear canceller beside AEC3 and puts its output in place of AEC3's during detected double
talk (AEC3's suppressor mutes near-end word onsets and distorts the rest while the far end
talks).
After them, :class:`~vrdiplomacy.voice.residual.EchoSuppressor` (:attr:`AecSettings.suppressor`)
brings down, band by band, what AEC3 lets through at or under the echo the linear filter
expects (its power response, its tail extrapolated beyond its span): in long reverberation
AEC3 passes whole bands of echo at about its own level.

Both backends have the same contract: :meth:`process` takes microphone and loudspeaker
samples in equal-length multiples of ``block`` (10 ms) and returns the cleaned microphone
signal; :meth:`frame_is_echo` tells the transmit gate whether the next output samples hold
only what is left of the far end's echo (:class:`~vrdiplomacy.voice.aec.EchoMeter`).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import AudioError, ConfigError
from vrdiplomacy.voice.aec import AecSettings, EchoCanceller, EchoMeter
from vrdiplomacy.voice.doubletalk import NearEndKeeper, aec3_lag
from vrdiplomacy.voice.residual import suppressor_for

log = logging.getLogger(__name__)
F32 = npt.NDArray[np.float32]
BACKENDS = ("auto", "webrtc", "builtin")
INSTALL_HELP = "pip install livekit (WebRTC's audio processing module, prebuilt for Linux, macOS and Windows)"
_warned = False


def load_webrtc() -> ModuleType:
    """Import ``livekit.rtc`` (and its native WebRTC library), or raise :class:`AudioError`."""
    try:
        from livekit import rtc
    except ImportError as e:
        raise AudioError(f"WebRTC audio processing is not installed ({e}): {INSTALL_HELP}") from None
    except OSError as e:  # the wheel's native library does not load on this platform
        raise AudioError(f"WebRTC audio processing does not load here ({e}): {INSTALL_HELP}") from None
    return rtc


def webrtc_available() -> bool:
    try:
        load_webrtc()
    except AudioError:
        return False
    return True


class ResidualGate:
    """What AEC3 leaves of the echo, attenuated further (see :class:`AecSettings`,
    ``residual_*``): while the far end is active, a 10 ms block from which AEC3 removed at
    least ``residual_trigger_db`` is echo-dominated and is brought down to
    ``residual_target_db`` below the microphone; a loud block AEC3 passed within
    ``residual_pass_db`` is the near end talking, and the gate then stays open for
    ``residual_hold_ms``, unless the linear canceller beside AEC3 took most of that block
    away leaving only the residual it leaves of echo alone (``residual_linear_db``,
    ``residual_explained_db``: echo AEC3 let through, attenuated). The gain ramps over
    each block (no clicks)."""

    def __init__(self, settings: AecSettings) -> None:
        s = self.s = settings
        blocks_s = s.fs / s.block
        self._far_pow: deque[float] = deque(maxlen=max(1, int(math.ceil(s.echo_window_ms * blocks_s / 1000.0))))
        self._far_active = 10.0 ** (s.far_active_dbfs / 10.0)
        self._trigger = 10.0 ** (-s.residual_trigger_db / 10.0)
        self._target = 10.0 ** (-s.residual_target_db / 10.0)
        self._pass = 10.0 ** (-s.residual_pass_db / 10.0)
        self._hold_blocks = int(round(s.residual_hold_ms * blocks_s / 1000.0))
        self._loud = 10.0 ** (-s.far_margin_db / 10.0)
        self._linear = 10.0 ** (-s.residual_linear_db / 10.0) if s.residual_linear_db > 0 else 0.0
        # 0: the share alone, whether or not the keeper knows its residual (as on abdf91c)
        self._explained = 10.0 ** (s.residual_explained_db / 10.0) if s.residual_explained_db > 0 else None
        self._hold = 0
        self._gain = 1.0
        self._ramp = (np.arange(1, s.block + 1, dtype=np.float64) / s.block).astype(np.float32)
        self.attenuated = 0  # blocks the gate attenuated

    def block(self, mic: npt.NDArray[np.float64], far: npt.NDArray[np.float64], out: F32, near: bool = False,
              linear_left: float | None = None, linear_unexplained: float = 0.0) -> None:
        """One block: ``mic`` and ``far`` as AEC3 got them, ``out`` its output (changed in
        place); ``near``: the double-talk keeper put the near end into this block (left as it
        is); ``linear_left``: the share of the microphone's energy the keeper's linear
        canceller left in the block AEC3's output came from (None: no keeper);
        ``linear_unexplained``: that error over the residual the linear canceller is expected
        to leave of echo alone (near-end speech raises it far above 1; inf: not known)."""
        self._far_pow.append(float(np.dot(far, far)) / max(1, far.size))
        mic_e = float(np.dot(mic, mic))
        o = out.astype(np.float64)
        out_e = float(np.dot(o, o))
        gain = 1.0
        far_max = max(self._far_pow)
        far_active = far_max > self._far_active
        # the linear canceller took most of the microphone away and what it left is the
        # residual it leaves of echo alone: echo, whatever AEC3 passed. During double talk
        # under a loud echo it also takes most away, but leaves the talker: its error is
        # then far above the expected residual, and AEC3's word stands.
        echo = (linear_left is not None and linear_left < self._linear
                and (self._explained is None or linear_unexplained < self._explained))
        if near:
            pass  # the keeper's block: left as it is, no hold (the keeper decides block by block)
        elif far_active and echo:
            self._hold = 0
            gain = min(1.0, math.sqrt(mic_e * self._target / out_e)) if out_e > 0.0 else 1.0
            self.attenuated += int(gain < 1.0)
        elif far_active and out_e > mic_e * self._pass and out_e > self._loud * far_max * out.size:
            self._hold = self._hold_blocks  # AEC3 let the near end through
        elif self._hold > 0:
            self._hold -= 1
        elif far_active and 0.0 < out_e < mic_e * self._trigger:
            gain = min(1.0, math.sqrt(mic_e * self._target / out_e))
            self.attenuated += int(gain < 1.0)
        if gain != 1.0 or self._gain != 1.0:
            out *= self._gain + (gain - self._gain) * self._ramp
        self._gain = gain


class DelayAligner:
    """The bulk loudspeaker-to-microphone delay, taken out of AEC3's reference (see
    :class:`AecSettings`, ``align_*``). Every ``align_every_ms`` the microphone's last
    ``align_window_ms`` is cross-correlated with the far end (GCC-PHAT at 8 kHz, delays up to
    ``align_max_delay_ms``); a peak ``align_quality`` times the correlation's spread, found
    twice in a row within 2 ms, is the new delay, and the reference is delayed so that AEC3
    sees ``align_margin_ms`` of it. When someone moves the laptop, AEC3 then meets a new room
    at its old delay (which its filters follow within a second) instead of a delay jump (which
    its delay estimator takes 2-3 s to follow)."""

    def __init__(self, settings: AecSettings) -> None:
        s = self.s = settings
        self._dec = max(1, s.fs // 8000)
        fs_d = s.fs / self._dec
        self._win = int(s.align_window_ms * fs_d / 1000.0)
        self._maxlag = int(s.align_max_delay_ms * fs_d / 1000.0)
        self._mic = np.zeros(self._win)
        self._far = np.zeros(self._win + self._maxlag)
        self._nfft = 1 << int(math.ceil(math.log2(self._win + self._far.size)))
        self._every = max(1, int(round(s.align_every_ms * s.fs / 1000.0 / s.block)))
        self._count = 0
        self._line = np.zeros(int(s.align_max_delay_ms * s.fs / 1000.0) + s.block)
        self._cand: int | None = None
        self.shift = 0  # samples the reference is delayed by
        self.delay_ms: float | None = None  # the last accepted estimate
        self.changes = 0

    def push(self, mic: npt.NDArray[np.float64], far: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Feed one block; returns the far-end block to hand AEC3 (delayed by :attr:`shift`)."""
        n = far.size
        self._line[:-n] = self._line[n:]
        self._line[-n:] = far
        k = n // self._dec
        self._mic[:-k] = self._mic[k:]
        self._mic[-k:] = mic[: k * self._dec].reshape(k, self._dec).mean(axis=1)
        self._far[:-k] = self._far[k:]
        self._far[-k:] = far[: k * self._dec].reshape(k, self._dec).mean(axis=1)
        self._count += 1
        if self._count % self._every == 0:
            self._estimate()
        end = self._line.size - self.shift
        return self._line[end - n:end]

    def _estimate(self) -> None:
        s = self.s
        if float(np.mean(self._far[-self._win:] ** 2)) < 10.0 ** (s.far_active_dbfs / 10.0):
            return
        fm = np.fft.rfft(self._mic, self._nfft)
        ff = np.fft.rfft(self._far, self._nfft)
        g = fm * np.conj(ff)
        g /= np.abs(g) + 1e-12
        r = np.fft.irfft(g, self._nfft)
        # The windows end together: mic[t] ~ far[t + maxlag - l] for a delay of l samples, which
        # is r[l - maxlag] (circular).
        c = np.roll(r, self._maxlag)[: self._maxlag + 1]
        peak = int(np.argmax(c))
        if c[peak] < s.align_quality * float(np.std(c)):
            self._cand = None
            return
        tol = int(0.002 * self.s.fs / self._dec)
        if self._cand is None or abs(peak - self._cand) > tol:
            self._cand = peak
            return
        self._cand = peak
        delay_ms = 1000.0 * peak * self._dec / s.fs
        shift = max(0, int(round((delay_ms - s.align_margin_ms) * s.fs / 1000.0)))
        if abs(shift - self.shift) > int(0.005 * s.fs):
            self.shift = min(shift, self._line.size - s.block)
            self.changes += 1
        self.delay_ms = delay_ms


class WebRtcProcessor:
    """WebRTC AEC3 + noise suppression + high-pass (+ gain control) on 10 ms blocks.

    ``echo`` False leaves the echo canceller out (headphones) and keeps noise suppression.
    The float samples are converted to 16 bits, the module's format."""

    backend = "webrtc"

    def __init__(self, settings: AecSettings | None = None, echo: bool = True) -> None:
        self.s = s = settings or AecSettings()
        if s.block * 100 != s.fs:
            raise ConfigError(f"WebRTC audio processing works on 10 ms blocks: block must be {s.fs // 100}, not {s.block}")
        rtc = load_webrtc()
        self._rtc = rtc
        self.echo = echo
        self._apm: Any = self._new_apm()
        self.meter = EchoMeter(s)
        self.double_talk = False
        self.resets = 0
        self._mic_frame = rtc.AudioFrame.create(s.fs, 1, s.block)
        self._far_frame = rtc.AudioFrame.create(s.fs, 1, s.block)
        self._mic16 = np.frombuffer(self._mic_frame.data, dtype=np.int16)
        self.residual = ResidualGate(s) if echo and s.residual_target_db > 0 else None
        self.aligner = DelayAligner(s) if echo and s.align_delay else None
        self._far16 = np.frombuffer(self._far_frame.data, dtype=np.int16)
        self.keeper = NearEndKeeper(s.linear, s.fs, s.block, self._lag()) if echo and s.linear.enabled else None
        self.suppressor = suppressor_for(s.suppressor, self.keeper, s.fs, s.block)

    def _lag(self) -> int:
        """How many samples later AEC3 (with this chain's settings) hands out what it got:
        measured once on a throwaway module (:func:`~vrdiplomacy.voice.doubletalk.aec3_lag`)."""
        apm = self._new_apm()
        n = self.s.block
        mic = self._rtc.AudioFrame.create(self.s.fs, 1, n)
        far = self._rtc.AudioFrame.create(self.s.fs, 1, n)
        m16 = np.frombuffer(mic.data, dtype=np.int16)

        def run(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            apm.process_reverse_stream(far)
            apm.set_stream_delay_ms(int(self.s.stream_delay_ms))
            self._to16(x.copy(), m16)
            apm.process_stream(mic)
            return m16 * (1.0 / 32768.0)

        try:
            return aec3_lag(run, self.s.fs, n)
        except RuntimeError as e:
            raise AudioError(f"WebRTC audio processing failed: {e}") from None

    def _new_apm(self) -> Any:
        s = self.s
        try:
            apm = self._rtc.AudioProcessingModule(echo_cancellation=self.echo, noise_suppression=s.noise_suppression,
                                                  high_pass_filter=s.high_pass, auto_gain_control=s.gain_control)
            if self.echo:
                apm.set_stream_delay_ms(int(s.stream_delay_ms))
        except Exception as e:  # the FFI reports failures as plain exceptions
            raise AudioError(f"WebRTC audio processing could not start: {e}") from None
        return apm

    @staticmethod
    def _to16(x: npt.NDArray[np.float64], dst: npt.NDArray[np.int16]) -> None:
        np.clip(np.rint(x * 32767.0), -32768, 32767, out=x)
        dst[:] = x

    def process(self, mic: npt.ArrayLike, far: npt.ArrayLike) -> F32:
        """Clean ``mic`` of the echo of ``far`` (what the loudspeakers played) and of noise.
        Both have the same length, a multiple of ``block``."""
        d = np.asarray(mic, dtype=np.float64).reshape(-1)
        x = np.asarray(far, dtype=np.float64).reshape(-1)
        n = self.s.block
        if d.size != x.size or d.size % n:
            raise ConfigError(f"audio processing input must be equal-length multiples of {n} samples")
        out = np.empty(d.size, dtype=np.float32)
        ref = x[:0]
        try:
            for i in range(0, d.size, n):
                if self.echo:
                    if self.aligner is None:
                        ref = x[i:i + n]
                    else:
                        changes = self.aligner.changes
                        ref = self.aligner.push(d[i:i + n], x[i:i + n])
                        if changes == 0 and self.aligner.changes == 1:
                            # AEC3 follows a delay jump slowly: on the first alignment it starts
                            # afresh; later ones give it back the delay it is used to.
                            self._apm = self._new_apm()
                            self.resets += 1
                        if self.keeper is not None and self.aligner.changes != changes:
                            self.keeper.restart()
                    if self.keeper is not None:
                        self.keeper.push(d[i:i + n], ref)
                        if self.suppressor is not None:
                            self.suppressor.observe(self.keeper)
                    self._to16(ref.copy(), self._far16)
                    self._apm.process_reverse_stream(self._far_frame)
                    self._apm.set_stream_delay_ms(int(self.s.stream_delay_ms))
                self._to16(d[i:i + n].copy(), self._mic16)
                self._apm.process_stream(self._mic_frame)
                out[i:i + n] = self._mic16 * (1.0 / 32768.0)
                if self.keeper is not None:
                    self.keeper.mix(out[i:i + n])
                    if self.suppressor is not None:
                        self.suppressor.apply(out[i:i + n], skip=self.keeper.replaced or self.keeper.flagged)
                if self.residual is not None:
                    keeper = self.keeper
                    # the far end as AEC3 got it (delay-aligned): its window then covers the
                    # echo's whole tail, however long the loudspeaker-to-microphone delay
                    self.residual.block(d[i:i + n], ref, out[i:i + n], keeper is not None and keeper.replaced,
                                        None if keeper is None else keeper.linear_left(),
                                        math.inf if keeper is None else keeper.linear_unexplained())
                self.meter.block(d[i:i + n], out[i:i + n], ref if self.echo else None)
        except RuntimeError as e:
            raise AudioError(f"WebRTC audio processing failed: {e}") from None
        return out

    def frame_is_echo(self, n: int) -> bool:
        """Whether the next ``n`` output samples carry only residual echo (see :class:`EchoMeter`)."""
        return self.meter.frame_is_echo(n)


Canceller = WebRtcProcessor | EchoCanceller


def make_canceller(settings: AecSettings | None = None, echo: bool = True) -> Canceller | None:
    """The microphone processor :attr:`AecSettings.backend` asks for (see the module docstring).
    None when there is nothing to do: no echo to cancel and only our own canceller available."""
    global _warned
    s = settings or AecSettings()
    if s.backend not in BACKENDS:
        raise ConfigError(f"echo canceller backend must be one of {', '.join(BACKENDS)}, not '{s.backend}'")
    if s.backend in ("auto", "webrtc"):
        try:
            return WebRtcProcessor(s, echo=echo)
        except AudioError as e:
            if s.backend == "webrtc":
                raise
            if not _warned:
                log.warning("%s; using the built-in echo canceller (no noise suppression, weaker on long echo paths)", e)
                _warned = True
    return EchoCanceller(s) if echo else None
