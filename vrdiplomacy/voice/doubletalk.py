"""Double talk around WebRTC AEC3 (issue 16, "near-end speech kept during double talk"):
a linear echo canceller beside AEC3, a double-talk detector on it, and the switch that puts
the linear output in where AEC3 muted the near end.

Measured first (:func:`vrdiplomacy.voice.echosim.measure_gate`, ``tools/bench/voice_echo.py``):
of the near-end speech frames not sent during double talk, all but one or two are frames
that AEC3's residual-echo suppressor itself muted (the first 70-200 ms of a word, and
again in mid-word); our residual gate, the echo flag and the voice activity detector drop
nothing AEC3 let through. LiveKit's binding exposes no AEC3 setting and no linear output
(nor does ``aec-audio-processing`` 1.0.1, the other binding on PyPI: a source-only build
with on/off switches), so what AEC3 mutes can only come back from a canceller of our own.

:class:`LinearEcho`: a partitioned-block frequency-domain adaptive filter (overlap-save,
10 ms partitions, constrained gradient) on the delay-aligned loudspeaker signal AEC3 also
gets, in the two-filter form: a *background* filter adapts on every block with far-end
sound (a diagonal frequency-domain Kalman update: each bin's step follows its own
uncertainty over the error power, so large errors in double talk shrink it), a
*foreground* filter gives the output and takes the background's coefficients while they
cancel better outside double talk.

:class:`NearEndKeeper`: per frequency bin it learns what the foreground leaves of the echo
(as a ratio to its echo estimate) on echo alone. Near-end power is the error beyond that
expected residual (3 dB over), bin by bin; a block is double talk when that near-end power
exceeds the expected residual in all, the filter is trusted (its residual 12 dB under its
estimate), and the near-end power reaches 15 dB under the loudest echo of the last 400 ms
(the filter's residual swings by 10-20 dB from block to block; a talker who interrupts is
within a few dB of the echo). The replacement is the linear error with each bin brought
down to that excess (spectral subtraction of the expected residual); it replaces AEC3's
output wherever double talk was detected, for as long as it lasts: AEC3's suppressor
mutes word onsets for 120-200 ms (and again in mid-word at a 0 dB echo path), and while
the far end talks it distorts the near end even where it lets it through (PESQ-WB of a
near end with no echo at all: 4.20 with the far end silent, 1.59 with it talking).

A changed echo path looks like a talker to the error (a new echo the filter does not
know), so the detector also watches the foreground's fit: blocks where subtracting its
estimate adds energy (its echo path is gone), three in five, suspend double talk for
600 ms or until the filters follow the new path, and the expected residual is learnt
afresh on it (the detector trusts the filter again once it fits the new path). Where the
new echo overlaps the old estimate (the same delay, another room) the estimate never adds
energy; then the background filter tells: a talker's large error shrinks its Kalman step,
so it stays within about 1 dB of the foreground (95 % of double-talk blocks on the tuning
material), while a changed path is one it learns, 1-4 dB ahead within a few hundred ms;
2 dB ahead for 80 ms of "double talk", while the foreground removes less than half of the
microphone's energy (its path is gone), suspends the detector the same way. A block
where the filter takes less off the microphone than ``fit_min`` of its estimate is not
double talk either. As a last guard, "double talk" blocks that AEC3 never lets through,
900 ms of them counted across the far end's pauses (a talker gets through AEC3 now and
then; AEC3's onset muting lasts 120-200 ms a word), are taken for a changed path that AEC3
suppresses: the keeper stands aside, forgets the residual it trusted and makes the
background filter unsure again (its Kalman uncertainty back to the start), so that it
trusts the filter only once it fits the new path. Tried and dropped: standing aside sooner
(400 ms of "double talk" blocks with near-end power under 3 dB over the echo estimate, on
a settled filter), for tuning room 7's same-delay change (the foreground still takes 4-7 dB
off the new echo; recovery 2.25 -> 1.25 s): held-out-2 at 200 ms / 0 dB, near-end frames
sent in double talk 90 -> 45 %; 400 ms on any filter: tuning at 100 ms / 0 dB with the
talker 4 s into the call, 92 -> 64 %.

Beside the switch, the linear error bounds AEC3's output: near-end speech passes a linear
filter untouched, so what AEC3 lets through beyond the linear error (``clamp_db`` over it)
is echo (bursts while AEC3 re-converges); and the residual gate
(:class:`~vrdiplomacy.voice.apm.ResidualGate`) takes a block from which the linear filter
removed most of the microphone for echo, whatever AEC3 passed.

In a long reverberation (0.5-0.7 s) the filter's residual stays 8-13 dB under its estimate,
short of the 12 dB that makes it trusted, so the keeper never stepped in there. A filter
that has held a residual 8 dB under its estimate for 3 s of far-end sound (a settled echo
path) is trusted on that looser ratio; a changed path breaks the run (the ratio stays above
8 dB for 300 ms), so a half-converged filter after a change is still held to 12 dB (its
error would be taken for a talker and the new echo put back).

A filter the keeper has only just come to trust is not yet evidence of a talker: trust is
judged on 0.3 s of residual, and a filter still converging (the foreground taking new
coefficients every few tens of milliseconds) meets far-end sound in bands it has not learnt
yet. On held-out-2 at a 10 ms / 0 dB echo path the keeper trusted its filter 3.07 s into
the call and 20 ms later took 18 blocks of such echo for a talker, putting its linear error
(as loud as the echo) in place of AEC3's clean output: 99.8 % of the echo left in 8 s, ERLE
21.2 dB (held-out-3 at 10 ms: the same 330 ms after first trust, 22.5-23.9 dB). Double talk
is now detected only once the filter has stayed trusted through ``mature_s`` (0.5 s) of
far-end sound: ERLE 47.7 and 44.8 dB there; near-end frames sent with the talker from 10 s
on unchanged on tuning, tuning-2, held-out and held-out-4, from 4 s on (cancellers still
converging) unchanged but for tuning-2 at 10 ms / +2 dB (33 -> 2 %) and 200 ms / 0 dB
(36 -> 28 %). Tried and dropped for the late recovery after a same-delay path change (tuning
room 7): standing aside once 300 ms of unconfirmed "double talk" held little energy above
the echo level the filter's power response predicts (the residual suppressor's model): it
brought room 7 from 2.25 to 0.75 s, but true talkers in a converging call (held-out at
100 ms / 0 dB and 50 ms / -10 dB, the talker 4 s in) showed even less energy above that level
(9-16 % against 42 % for room 7's new echo), near-end frames sent 89 -> 76 %.

AEC3's output comes ``lag`` samples after its input (:func:`aec3_lag`, 15 ms with noise
suppression at 48 kHz), so the replacement and the decisions are delayed as much.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ConfigError

F64 = npt.NDArray[np.float64]


@dataclass
class LinearSettings:
    """The linear echo canceller beside AEC3 and the double-talk detector (see the module
    docstring; tuned on :data:`vrdiplomacy.voice.echosim.TUNING`).

    Linear filter: ``enabled`` (False: AEC3's output as it is); ``tail_ms`` the echo path
    modelled after the delay alignment (the room's decay); ``kalman_a`` the Kalman state
    transition (1 - a^2: how fast the echo path may drift), ``kalman_p0`` the starting
    uncertainty; ``smooth`` weight of a new 10 ms block in the error energies the two filters
    are compared on; ``copy_db`` how much lower the background's error must be for the
    foreground to take its coefficients outside double talk, ``change_db`` during it (a
    changed echo path); ``reset_db`` how much higher before the background restarts from
    the foreground; ``change_s`` "double talk" this long is a changed echo path.

    Detector: the expected residual per bin is learnt over ``floor_s`` on blocks with echo
    (echo estimate within ``loud_db`` of the loudest of the last ``echo_window_ms``) and no
    double talk, leaving out blocks ``suspect_db`` above it (a missed talker); the filter is
    trusted once that residual is ``trust_db`` below its echo estimate. Near-end power:
    the error beyond ``oversub_db`` over the expected residual, bin by bin; double talk:
    that is ``dt_ratio_db`` over the expected residual in all, above ``min_near_dbfs`` and
    within ``near_peak_db`` of the loudest echo estimate of the window, in ``confirm``
    blocks running; the flag holds ``dt_hold_ms``. Not double talk: a block whose filter
    removes less than ``fit_min`` times its estimate's energy from the microphone (where
    the estimate is at least ``fit_floor`` of the error). Changed echo path: a block where
    the foreground's error exceeds the microphone by ``-misfit`` times its estimate, that
    estimate ``misfit_share`` of the error or more and within ``misfit_db`` of the loudest;
    ``misfit_count`` of five such blocks suspend double talk for ``suspect_ms`` (0: never), and
    so do ``bg_win_blocks`` "double talk" blocks running where the background's smoothed
    error is ``bg_win_db`` under the foreground's (0: never) while the foreground removes
    less than ``stale_db`` of the microphone's (a talker's error shrinks the background's
    step, so it stays within about 1 dB of the foreground; a new echo path is one it learns,
    and one the foreground's estimate barely touches).

    Settled path: a residual ``settled_trust_db`` under the estimate for ``settled_s`` of
    far-end sound is trusted on that looser ratio, until it stays above it for ``unsettle_ms``
    (``settled_trust_db`` = ``trust_db``: as on main 2f3c005). Double talk is detected only on
    a filter that has stayed trusted through ``mature_s`` of far-end sound (0: as on main
    f0920d4).

    Replacement: wherever double talk was detected and AEC3's output is ``mute_db`` below
    the replacement (-100 dB: wherever double talk was detected; while the far end talks,
    AEC3's suppressor distorts the near end even where it lets it through). A double talk
    in which AEC3's output stays ``pass_db`` under the replacement for ``unconfirmed_ms``
    (counted over double-talk blocks since AEC3 last let something through, across pauses:
    no talker but a changed echo path it suppresses) stands the keeper aside for
    ``disarm_ms`` (0: never) and has it learn the residual afresh. Outside the replacement
    AEC3's output is held to ``clamp_db`` over the linear error (0: not at all).
    """

    enabled: bool = True
    tail_ms: float = 250.0
    kalman_a: float = 0.9995
    kalman_p0: float = 1.0
    kalman_noise_floor: float = 1.0
    smooth: float = 0.15
    copy_db: float = 1.0
    change_db: float = 6.0
    change_s: float = 1.0
    suspect_db: float = 6.0
    reset_db: float = 6.0
    oversub_db: float = 3.0
    dt_ratio_db: float = 0.0
    min_near_dbfs: float = -60.0
    near_peak_db: float = -15.0
    trust_db: float = 12.0
    floor_s: float = 0.3
    confirm: int = 1
    dt_hold_ms: float = 60.0
    echo_window_ms: float = 400.0
    loud_db: float = 20.0
    fit_min: float = -0.5
    fit_floor: float = 0.1
    misfit: float = -0.7
    misfit_share: float = 0.5
    misfit_db: float = -15.0
    misfit_count: int = 3
    suspect_ms: float = 600.0
    bg_win_db: float = 2.0
    bg_win_blocks: int = 8
    stale_db: float = 3.0
    mute_db: float = -100.0
    pass_db: float = 12.0
    unconfirmed_ms: float = 900.0
    disarm_ms: float = 1500.0
    clamp_db: float = 3.0
    settled_trust_db: float = 8.0
    settled_s: float = 3.0
    unsettle_ms: float = 300.0
    mature_s: float = 0.5


class LinearEcho:
    """Two-filter PBFDAF on ``block``-sample blocks: :meth:`block` takes one microphone
    block and the matching (delay-aligned) loudspeaker block and returns the microphone less
    the foreground filter's echo estimate. ``double_talk`` (set by the caller before the
    block) keeps the foreground from taking the background's coefficients unless they are
    ``change_db`` better."""

    def __init__(self, settings: LinearSettings, fs: int = 48000, block: int = 480, silence_dbfs: float = -70.0) -> None:
        s = self.s = settings
        if block <= 0 or s.tail_ms <= 0 or not 0.0 < s.kalman_a <= 1.0 or s.kalman_p0 <= 0.0:
            raise ConfigError("linear echo canceller: block, tail and starting uncertainty must be positive, "
                              "the state transition in (0, 1]")
        self.n = n = block
        self.partitions = p = max(1, int(math.ceil(s.tail_ms * fs / 1000.0 / n)))
        bins = n + 1
        # single precision: half the memory traffic, and the filter needs no more
        self._X = np.zeros((p, bins), dtype=np.complex64)
        self._xprev = np.zeros(n, dtype=np.float32)
        self._fg = np.zeros((p, bins), dtype=np.complex64)
        self._bg = np.zeros((p, bins), dtype=np.complex64)
        self._P = np.full((p, bins), s.kalman_p0, dtype=np.float32)
        self._m = np.zeros(bins, dtype=np.float32)
        self._pad = np.zeros(2 * n, dtype=np.float32)
        self._silence = 10.0 ** (silence_dbfs / 10.0) * n
        self._copy = 10.0 ** (-s.copy_db / 10.0)
        self._reset = 10.0 ** (s.reset_db / 10.0)
        self._change = 10.0 ** (-s.change_db / 10.0)
        self.changed = False  # the last block's foreground took a far better background (path change)
        self.bg_error = np.zeros(n)  # the last block's error of the background filter
        self.error = np.zeros(n)  # and of the foreground
        self._e_fg = self._e_bg = self._e_d = 0.0
        self.copies = 0
        self.restarts = 0
        self.far_active = False
        self.y_energy = 0.0  # last block: foreground echo estimate energy
        self.e_energy = 0.0  # last block: foreground error energy

    @property
    def fg_energy(self) -> float:
        """The foreground's smoothed error energy (blocks with far-end sound)."""
        return self._e_fg

    @property
    def mic_energy(self) -> float:
        """The microphone's smoothed energy (blocks with far-end sound)."""
        return self._e_d

    @property
    def bg_energy(self) -> float:
        """The background's smoothed error energy (blocks with far-end sound)."""
        return self._e_bg

    def restart(self) -> None:
        """Forget the echo path (the reference jumped: the delay alignment moved)."""
        self._fg[:] = 0
        self._bg[:] = 0
        self._P[:] = self.s.kalman_p0
        self._m[:] = 0.0
        self._e_fg = self._e_bg = self._e_d = 0.0
        self.restarts += 1

    def unsure(self) -> None:
        """The echo path has probably changed: the background filter's uncertainty goes back
        to its starting value (its coefficients stay), so it re-converges as fast as a
        fresh filter instead of at the pace of its slow drift model."""
        np.maximum(self._P, np.float32(self.s.kalman_p0), out=self._P)

    def block(self, d: F64, x: F64, adapt: bool = True, compare: bool = True) -> F64:
        """One block: ``d`` microphone, ``x`` reference; ``adapt`` lets the background
        filter learn from it (far-end sound loud enough to excite the filter), ``compare``
        lets the foreground take the background's coefficients (no double talk)."""
        n = self.n
        self._pad[:n] = self._xprev
        self._pad[n:] = x
        self._xprev = x.copy()
        self._X[1:] = self._X[:-1]
        self._X[0] = np.fft.rfft(self._pad)
        both = np.fft.irfft(np.stack([np.sum(self._fg * self._X, axis=0), np.sum(self._bg * self._X, axis=0)]),
                            2 * n, axis=1)[:, n:]
        y = both[0].astype(np.float64)
        e = self.error = d - y
        eb = self.bg_error = d - both[1]
        self.y_energy = float(np.dot(y, y))
        self.e_energy = ef_e = float(np.dot(e, e))
        self.far_active = float(np.dot(x, x)) > self._silence
        if not (adapt and self.far_active):
            return e
        a = self.s.smooth
        self._e_fg += a * (ef_e - self._e_fg)
        self._e_bg += a * (float(np.dot(eb, eb)) - self._e_bg)
        self._e_d += a * (float(np.dot(d, d)) - self._e_d)
        self._adapt(eb)
        self.changed = False
        if not compare:
            if self._e_bg < self._change * self._e_fg and self._e_bg < self._e_d:
                self.adopt()  # far better, even in double talk: the echo path changed
                self.changed = True
        else:
            if self._e_bg < self._copy * self._e_fg and self._e_bg < self._e_d:
                self.adopt()
            elif self._e_bg > self._reset * self._e_fg:
                self._bg[:] = self._fg
                self._e_bg = self._e_fg
        return e

    def _adapt(self, eb: F64) -> None:
        n = self.n
        self._pad[:n] = 0.0
        self._pad[n:] = eb
        E = np.fft.rfft(self._pad)
        self._kalman(E)

    def _kalman(self, E: npt.NDArray[np.complex128]) -> None:
        """Partitioned-block frequency-domain Kalman update (Kuech, Mabande and Enzner 2014,
        diagonal form): each partition and bin gets the step its own uncertainty ``_P`` over
        the error power allows, so bins the far end has not yet excited converge at once and
        a large error (double talk) shrinks the step."""
        n = self.n
        xp = self._X.real ** 2 + self._X.imag ** 2
        ee = E.real ** 2 + E.imag ** 2
        self._m += 0.5 * (ee - self._m)
        pred = np.sum(xp * self._P, axis=0)
        if self.s.kalman_noise_floor < 1.0:
            # the observation noise (near-end sound): the error power less what the filter's
            # own uncertainty explains, so an unsure filter takes large steps on a new path
            noise = np.maximum(self._m - pred, self.s.kalman_noise_floor * self._m)
        else:
            noise = self._m
        r = pred + 2.0 * noise / self.partitions + np.float32(1e-30)
        mu = self._P / r
        g = np.fft.irfft(mu * np.conj(self._X) * E, 2 * n, axis=1)
        g[:, n:] = 0.0
        self._bg += np.fft.rfft(g, axis=1)
        a2 = np.float32(self.s.kalman_a ** 2)
        self._P = a2 * (1.0 - 0.5 * mu * xp) * self._P + (1.0 - a2) * (self._bg.real ** 2 + self._bg.imag ** 2)

    def adopt(self) -> None:
        """The foreground takes the background's coefficients."""
        self._fg[:] = self._bg
        self._e_fg = self._e_bg
        self.copies += 1


class NearEndKeeper:
    """Keeps the near end through AEC3's double-talk onsets (see the module docstring):
    :meth:`push` runs the linear filter and the detector on one block (the microphone and
    the reference AEC3 gets), :meth:`mix` then replaces AEC3's output block where AEC3
    muted the near end during double talk. The bins are those of sqrt-Hann frames of two
    blocks, hop one block. ``lag``: samples AEC3's output comes after its input; the
    replacement (one block late from the overlap-add) is delayed to match, and so are the
    decisions; the switch ramps over a block."""

    def __init__(self, settings: LinearSettings, fs: int = 48000, block: int = 480, lag: int = 0) -> None:
        s = self.s = settings
        self.n = n = block
        self.linear = LinearEcho(s, fs, block)
        blocks_s = fs / block
        self._w = 1.0 / max(1.0, s.floor_s * blocks_s)
        self._trust = 10.0 ** (-s.trust_db / 10.0)
        self._trust_settled = 10.0 ** (-min(s.trust_db, s.settled_trust_db) / 10.0)
        self._settled_blocks = int(round(s.settled_s * blocks_s))
        self._mature_blocks = int(round(s.mature_s * blocks_s))
        self._trusted_run = 0  # blocks with far-end sound the filter has been trusted through
        self._settled = 0  # blocks with far-end sound the residual has stayed settled_trust_db under the estimate
        self._misfit_run = 0  # blocks (with far-end sound) since it last did
        self._unsettle_blocks = max(1, int(round(s.unsettle_ms * blocks_s / 1000.0)))
        self._oversub = 10.0 ** (s.oversub_db / 10.0)
        self._dt_ratio = 10.0 ** (s.dt_ratio_db / 10.0)
        self._min_near = 10.0 ** (s.min_near_dbfs / 10.0) * n * n  # summed |rfft|^2 of a frame: n^2 times its power
        self._mute = 10.0 ** (-s.mute_db / 10.0)
        self._hold_blocks = max(1, int(round(s.dt_hold_ms * blocks_s / 1000.0)))
        self._near_peak = 10.0 ** (s.near_peak_db / 10.0) * n  # block energy -> summed |rfft|^2
        self._misfit_peak = 10.0 ** (s.misfit_db / 10.0)
        self._pass = 10.0 ** (-s.pass_db / 10.0)
        self._unconfirmed_blocks = max(1, int(round(s.unconfirmed_ms * blocks_s / 1000.0)))
        self._disarm_blocks = int(round(s.disarm_ms * blocks_s / 1000.0))
        self._unconfirmed = 0
        self._disarmed = 0
        self.disarms = 0  # times AEC3 passed nothing through a long "double talk" (a changed path)
        self._ypeak: deque[float] = deque([0.0], maxlen=max(1, int(round(s.echo_window_ms * blocks_s / 1000.0))))
        self._loud = 10.0 ** (-s.loud_db / 10.0)
        self._win = np.sqrt(0.5 - 0.5 * np.cos(2.0 * np.pi * (np.arange(2 * n) + 0.5) / (2 * n)))
        self._e_prev = np.zeros(n)
        self._y_prev = np.zeros(n)
        self._ola = np.zeros(n)
        self._ne = np.zeros(n + 1)  # expected residual: smoothed |E|^2 and |Y|^2 on echo alone
        self._ny = np.zeros(n + 1)
        self._hold = 0
        self._xpeak: deque[float] = deque([0.0], maxlen=self._ypeak.maxlen)
        self._long = 0
        self._run = 0
        self._change_blocks = max(1, int(round(s.change_s * blocks_s)))
        self._suspect = 10.0 ** (s.suspect_db / 10.0)
        self.path_changes = 0
        self._misfits: deque[bool] = deque([False] * 5, maxlen=5)
        self._suspect_blocks = int(round(s.suspect_ms * blocks_s / 1000.0))
        self._suspected = 0
        if s.bg_win_blocks < 1 or s.mature_s < 0.0:
            raise ConfigError("double-talk keeper: bg_win_blocks must be at least 1, mature_s not negative")
        self._bg_win = 10.0 ** (-s.bg_win_db / 10.0) if s.bg_win_db > 0 else 0.0
        self._bg_lead = 0
        self._bg_stale = 10.0 ** (-s.stale_db / 10.0)
        self.suspects = 0  # times a misfit or the background's lead suspended the detector (a changed path)
        self.lag = lag
        extra = max(0, lag - n)  # the overlap-add already delays by one block
        self._line = np.zeros(extra + n)
        depth = extra // n + 3
        self._flags: deque[bool] = deque([False] * depth, maxlen=depth)
        # the linear error over the residual expected of echo alone, per block (inf: unknown)
        self._unexplained: deque[float] = deque([math.inf] * depth, maxlen=depth)
        self._extra = extra
        self._raw = np.zeros(lag + n)  # the linear error, delayed to AEC3's output
        self._raw_mic = np.zeros(lag + n)  # and the microphone
        self._clamp = 10.0 ** (s.clamp_db / 10.0) if s.clamp_db > 0 else 0.0
        self._clamp_gain = 1.0
        self.clamped = 0  # output blocks brought down to the linear error
        self._gain = 0.0
        self._ramp = np.arange(1, n + 1, dtype=np.float64) / n
        self.double_talk = False
        self.trusted = False
        self.dt_blocks = 0  # blocks flagged as double talk
        self.kept_blocks = 0  # output blocks where the linear output replaced AEC3's
        self.replaced = False  # the last block :meth:`mix` handled was replaced
        self.py = np.zeros(n + 1)  # the last block's echo estimate, per bin (sqrt-Hann frames)
        # a long "double talk" was taken for a changed echo path (the foreground took the
        # background's coefficients, or the keeper stood aside): until the keeper trusts
        # its filter again, the echo estimate may hold a talker the filter learnt through a
        # long turn (the residual echo suppressor stands aside)
        self.relearning = False
        self.flagged = False  # double talk was detected in the block :meth:`mix` handled last

    def restart(self) -> None:
        """The reference jumped (the delay alignment moved): forget the echo path and the
        residual learnt on it; no double talk is detected until it is learnt again."""
        self.linear.restart()
        self._ne[:] = 0.0
        self._ny[:] = 0.0
        self.relearning = False  # a fresh filter: it learns the echo, not a talker
        self._hold = self._long = self._run = 0

    def push(self, d: F64, ref: F64) -> None:
        """One 10 ms block: ``d`` the microphone, ``ref`` the loudspeaker signal as AEC3 gets it."""
        n = self.n
        lin = self.linear
        self._xpeak.append(float(np.dot(ref, ref)))
        excite = self._xpeak[-1] > self._loud * max(self._xpeak)  # far-end sound that excites the filter
        e = lin.block(d, ref, adapt=True, compare=excite and not self.double_talk)
        if lin.changed:  # not double talk: a changed echo path, now followed
            self._hold = self._long = self._run = self._suspected = 0
            self.double_talk = False
            self.path_changes += 1
        bg_e = float(np.dot(lin.bg_error, lin.bg_error))
        if bg_e < lin.e_energy:
            e = lin.bg_error  # the background already follows a changed path better
        y = d - e
        E = np.fft.rfft(np.concatenate([self._e_prev, e]) * self._win)
        Y = np.fft.rfft(np.concatenate([self._y_prev, y]) * self._win)
        self._e_prev = e
        self._y_prev = y
        self._raw[:-n] = self._raw[n:]
        self._raw[-n:] = e
        self._raw_mic[:-n] = self._raw_mic[n:]
        self._raw_mic[-n:] = d
        pe = E.real ** 2 + E.imag ** 2
        py = self.py = Y.real ** 2 + Y.imag ** 2
        self._ypeak.append(lin.y_energy)
        ymax = max(self._ypeak)
        loud = lin.far_active and lin.y_energy > self._loud * ymax
        dd, ee, yy = float(np.dot(d, d)), float(np.dot(e, e)), float(np.dot(y, y))
        # the filter must remove energy where its estimate is a fair part of the error
        fit = yy < self.s.fit_floor * ee or dd - ee > self.s.fit_min * yy
        # the foreground adds energy where it should remove it: its echo path is gone (a new
        # echo looks like a talker to the error; several such blocks suspend the detector)
        self._misfits.append(dd - lin.e_energy < self.s.misfit * lin.y_energy
                             and lin.y_energy > self.s.misfit_share * lin.e_energy
                             and lin.y_energy > self._misfit_peak * ymax)
        # the background (which keeps adapting, its step shrunk by a talker's error) beating a
        # foreground that barely cancels, through "double talk": the echo path changed
        lead = (self.double_talk and lin.far_active and lin.bg_energy < self._bg_win * lin.fg_energy
                and lin.fg_energy > self._bg_stale * lin.mic_energy)
        self._bg_lead = self._bg_lead + 1 if lead else 0
        bg_wins = self._bg_lead >= self.s.bg_win_blocks
        if self._suspect_blocks and (bg_wins or sum(self._misfits) >= self.s.misfit_count):
            if self._suspected == 0:
                self.suspects += 1
                # the residual learnt on the old path says nothing about the new one: learn
                # it afresh (the filter is trusted again once it fits the new path)
                self._ne[:] = 0.0
                self._ny[:] = 0.0
            self._suspected = self._suspect_blocks
            self._hold = self._run = 0
        elif self._suspected > 0:
            self._suspected -= 1
        ne_sum, ny_sum = float(self._ne.sum()), float(self._ny.sum())
        # a filter whose residual has stayed ``settled_trust_db`` under its estimate for
        # ``settled_s`` of far-end sound is trusted on that looser ratio (in a long
        # reverberation its residual stays 8-13 dB under its estimate); a changed path (or a
        # residual learnt afresh) breaks the run once the ratio stays above it for
        # ``unsettle_ms``, so a half-converged filter is trusted only on the strict ratio and
        # its error not taken for a talker
        fits = ny_sum > 0.0 and ne_sum < self._trust_settled * ny_sum
        # a talker the detector missed lowers the ratio for a moment; a changed path for good
        self._misfit_run = 0 if fits else self._misfit_run + int(lin.far_active or ny_sum == 0.0)
        if self._misfit_run >= self._unsettle_blocks:
            self._settled = 0
        elif fits:
            self._settled += int(lin.far_active)
        trust = self._trust_settled if self._settled >= self._settled_blocks else self._trust
        self.trusted = ny_sum > 0.0 and ne_sum < trust * ny_sum
        self.relearning = self.relearning and not self.trusted
        self._trusted_run = self._trusted_run + int(lin.far_active) if self.trusted else 0
        residual = (self._ne / (self._ny + 1e-20)) * py  # the linear error echo alone would leave
        res_sum = float(residual.sum())
        self._unexplained.append(float(pe.sum()) / res_sum if self.trusted and res_sum > 0.0 else math.inf)
        expected = self._oversub * residual
        excess = np.maximum(pe - expected, 0.0)
        near = float(excess.sum())
        dt = (self.trusted and self._trusted_run >= self._mature_blocks and fit and self._suspected == 0
              and near > self._dt_ratio * float(expected.sum()) and near > self._min_near and near > self._near_peak * ymax)
        self._run = self._run + 1 if dt else 0
        if self._run >= self.s.confirm:
            self._hold = self._hold_blocks
        elif self._hold > 0:
            self._hold -= 1
        self.double_talk = self._hold > 0
        self._long = self._long + 1 if self.double_talk else 0
        if self._long > self._change_blocks:
            # "double talk" this long is an echo path the foreground no longer fits: start over
            # from the background filter and learn the residual afresh
            lin.adopt()
            self._ne[:] = 0.0
            self._ny[:] = 0.0
            self._hold = self._long = 0
            self.relearning = True
            self.double_talk = False
            self.path_changes += 1
        # learn the residual on echo alone; a block far above it is near-end speech the
        # detector missed (or a changed path): it must not raise the expectation
        if loud and not self.double_talk and (not self.trusted or float(pe.sum()) < self._suspect * ne_sum / ny_sum * float(py.sum())):
            self._ne += self._w * (pe - self._ne)
            self._ny += self._w * (py - self._ny)
        self.dt_blocks += int(self.double_talk)
        # the linear error less the expected residual echo, per bin (overlap-add, one block late)
        g = np.sqrt(excess / (pe + 1e-20))
        frame = np.fft.irfft(E * g, 2 * n) * self._win
        done = self._ola + frame[:n]
        self._ola = frame[n:].copy()
        self._line[:-n] = self._line[n:]
        self._line[-n:] = done
        self._flags.append(self.double_talk)

    def mix(self, out: npt.NDArray[np.float32]) -> None:
        """Replace AEC3's output block ``out`` (in place) where double talk was detected
        ``lag`` samples earlier and AEC3 cut the near end ``mute_db`` below the replacement."""
        n = self.n
        lin = self._line[:n]
        k = self._extra // n + 1  # flags[-1] is this block's, the replacement is one block late
        flag = self.flagged = self._flags[-1 - k] or bool(self._extra % n and self._flags[-2 - k])
        gain = 0.0
        self.replaced = False
        if self._disarmed > 0:
            self._disarmed -= 1
        if flag and self._disarmed == 0:
            o = out.astype(np.float64)
            oe, le = float(np.dot(o, o)), float(np.dot(lin, lin))
            if oe < self._mute * le:
                gain = 1.0
            # AEC3 lets a talker through within a few hundred ms (at its own quality); a
            # "double talk" it never lets through is a changed echo path it suppresses
            self._unconfirmed = 0 if oe > self._pass * le else self._unconfirmed + 1
            if self._unconfirmed > self._unconfirmed_blocks and self._disarm_blocks > 0:
                self._disarmed = self._disarm_blocks
                self._unconfirmed = 0
                self.disarms += 1
                gain = 0.0
                # the filter's echo path is gone: its residual is learnt afresh, and double
                # talk is detected again once it fits the new path
                self._ne[:] = 0.0
                self._ny[:] = 0.0
                self.linear.unsure()
                self.relearning = True
        if gain == 0.0 and self._gain == 0.0:
            self._limit(out)
            return
        self._clamp_gain = 1.0
        w = self._gain + (gain - self._gain) * self._ramp
        out[:] = (1.0 - w) * out + w * lin
        self._gain = gain
        self.kept_blocks += int(gain > 0.0)
        self.replaced = gain > 0.0


    def linear_error_energy(self) -> float:
        """Energy of the linear canceller's error in the block AEC3's output block came from."""
        raw = self._raw[:self.n]
        return float(np.dot(raw, raw))

    def linear_left(self) -> float:
        """The share of the microphone's energy the linear canceller left in the block AEC3's
        output block came from (1.0 without a microphone signal)."""
        d = self._raw_mic[:self.n]
        dd = float(np.dot(d, d))
        return self.linear_error_energy() / dd if dd > 0.0 else 1.0

    def linear_unexplained(self) -> float:
        """The linear canceller's error over the residual echo it is expected to leave on
        echo alone (learnt on echo-only blocks, scaled by this block's echo estimate), for
        the block AEC3's output block came from: about 1 on echo alone, far above with a
        near-end talker; inf while that residual is not learnt (the filter not trusted)."""
        return self._unexplained[-1 - self.lag // self.n]

    def _limit(self, out: npt.NDArray[np.float32]) -> None:
        """Bring AEC3's output block down to the linear canceller's error (``clamp_db`` over
        it): near-end speech passes a linear filter untouched, so whatever AEC3 lets through
        beyond the linear error is echo (a burst while AEC3 re-converges, or after a path
        change the linear filter already follows). Where the linear filter has not converged
        its error is the microphone, and nothing changes."""
        if not self._clamp:
            return
        raw = self._raw[:self.n]
        o = out.astype(np.float64)
        oe, ee = float(np.dot(o, o)), float(np.dot(raw, raw))
        gain = min(1.0, math.sqrt(self._clamp * ee / oe)) if oe > 0.0 else 1.0
        if gain == 1.0 and self._clamp_gain == 1.0:
            return
        out *= (self._clamp_gain + (gain - self._clamp_gain) * self._ramp).astype(np.float32)
        self._clamp_gain = gain
        self.clamped += int(gain < 1.0)


def aec3_lag(process: Callable[[F64], F64], fs: int = 48000, block: int = 480, seconds: float = 0.3) -> int:
    """Samples by which ``process`` (a fresh AEC3 + noise suppression chain, 10 ms blocks,
    silent far end) delays its input: found by cross-correlating its output with bursts of
    noise (a harmonic probe would be ambiguous by a pitch period)."""
    n = int(seconds * fs) // block * block
    rng = np.random.default_rng(7)
    t = np.arange(n) / fs
    x = 0.1 * rng.standard_normal(n) * np.clip(np.sin(2 * np.pi * 3.0 * t), 0.0, None)
    y = np.concatenate([process(x[i:i + block]) for i in range(0, n, block)])
    m = 1 << int(math.ceil(math.log2(2 * n)))
    r = np.fft.irfft(np.fft.rfft(y, m) * np.conj(np.fft.rfft(x, m)), m)
    return int(np.argmax(r[: min(n, int(0.05 * fs))]))
