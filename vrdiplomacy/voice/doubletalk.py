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
on unchanged on all six sets; from 4 s on (cancellers still converging) unchanged on tuning,
held-out and held-out-4, lower on tuning-2 at 10 ms / +2 dB (33 -> 2 %) and 200 ms / 0 dB
(36 -> 28 %), held-out-2 at 100-200 ms (85-92 -> 66-80 %) and held-out-3 at 10 ms (97 -> 88 %). Tried and dropped for the late recovery after a same-delay path change (tuning
room 7): standing aside once 300 ms of unconfirmed "double talk" held little energy above
the echo level the filter's power response predicts (the residual suppressor's model): it
brought room 7 from 2.25 to 0.75 s, but true talkers in a converging call (held-out at
100 ms / 0 dB and 50 ms / -10 dB, the talker 4 s in) showed even less energy above that level
(9-16 % against 42 % for room 7's new echo), near-end frames sent 89 -> 76 %. Also tried
and dropped: a re-convergence probe, the background filter made unsure (as fast as a fresh
filter) at each double-talk onset and given back the foreground's coefficients and its
former certainty when the double talk ended, with a stricter lead while probing (3 dB for
100 ms, or 2 dB while the foreground's subtraction adds energy: through a loud talker a
background that fast got 2 dB ahead for 80 ms, held-out-4 at 50 ms / -6 dB near-end frames
sent 88 -> 37 %). It brought room 7 to 0.75 s and held-out-3's room 33 from 4.25 to 0.75 s,
but tuning room 5 went from 0.75 to 1.25-2.25 s and the second held-out room to 4 s (a new
false double talk on a settled filter 3.5 s after the change), and with the residual learnt
afresh after a change it took talkers in a converging call for new paths (held-out at
100 ms / 0 dB, the talker 4 s in: 89 -> 1 %).

A settled filter still meets far-end sounds it fits badly: bins the far end has rarely
excited, whose coefficients the Kalman update is still unsure of (their uncertainty ``P``
stays near its start). The error there looked like a talker to the per-bin detector: on
held-out-3's voices 4 s after a same-delay room change (room 33) a far-end vowel put 95 % of
the "near-end" excess in two bins at 450-500 Hz, and 80 ms of echo went back out (every
250 ms window kept 25 dB only 4.25 s after the change); on held-out-5 at 10 ms / 0 dB three
such bursts held 99 % of the echo left (ERLE 24.8 dB). Tried and dropped
(decided for the talker): adding to the residual the detector expects the Kalman prediction
of what that uncertainty lets through (``sum_j P_j |X_j|^2`` per bin, weighted 0.5). Room 33
then recovered in 0.5 s and the lowest ERLE over 10-200 ms rose on every set (tuning 27.5 ->
56.4, tuning-2 29.2 -> 46.0, held-out 28.4 -> 52.0, held-out-4 29.7 -> 52.3, held-out-5
24.8 -> 28.3 dB), but the filter stays unsure early in a call and in long rooms, and there
the talker went too: near-end frames sent with the talker 4 s in, tuning at 100 ms / 0 dB
92 -> 83 %, held-out at 60 ms / 0 dB 90 -> 83 %; 10 s in, held-out-3 at +2 dB 84 -> 68 %,
tuning-2 77-87 -> 70-81 %; a talker as loud as the echo in a 0.7 s room came out distorted
(correlation 0.85+ -> 0.68, tests/voice/test_echo_suppressor.py). A weight of 0.25 cost
about half (tuning 88 %) and left room 33 at 4.25 s; applying it only on a settled filter
kept the talker and gained nothing.

The same holds after a changed echo path: the residual is learnt afresh and the filter,
re-learnt in a few hundred milliseconds in the bands the far end sounded, is trusted again
while the other bands still hold the old path. On held-out-3's room 33 that vowel came 4 s
after the change; on held-out-5 at 10 ms / 0 dB the keeper suspected a changed path at
3.86 s while it converged, on a filter it had trusted through 1.2 s of far-end sound, and a
second later took 16 blocks of echo for a talker (ERLE 24.8 dB). Where the filter had
matured on the old path, double talk now waits until it has been trusted again through
``mature_change_s`` (1.5 s) of far-end sound: room 33 recovers in 0.5 s and the lowest ERLE
over 10-200 ms is 27.5 dB or more on all eight sets. A suspicion on a filter still
converging (never trusted through ``mature_s``) is no changed path and keeps ``mature_s``:
after every suspicion the longer wait cost talkers early in a call (held-out-2 at 100 ms /
0 dB, the talker 4 s in, whose keeper suspected at 1.2 s: near-end frames sent 79 -> 51 %).
Tuning room 7 (the same delay, another room) still recovered in 2.25 s: the settled
foreground takes 4-7 dB off the new echo (so neither its misfit nor a stale foreground
fires), the keeper takes the rest for a talker, and the background, as sure of the old path
as the foreground, gets 2 dB ahead only a second after the change. A *probe* filter now
starts at each double-talk onset from the background's coefficients with the starting
uncertainty (a fresh filter's speed) and runs through the double talk and ``probe_ms``
after it. Its lead of 2 dB over the foreground for 80 ms suspends double talk like the
background's (the residual learnt afresh, the filters left to follow the new path), but
only through a "double talk" AEC3 has let none of through for 300 ms (the count the 900 ms
guard keeps): AEC3 lets a talker through within a few hundred milliseconds, and a fast
filter gets ahead of a talker only for a moment (a loud talker's onset on held-out-4 at
50 ms / -6 dB: 4-5 dB for 50 ms, before AEC3 let it through). Room 7 recovers in 0.75 s;
every other figure of the echo tables is unchanged. The probe is a detector only: taken on
by the filters where it was 6 dB better (1 dB outside double talk), it fitted a converging
call's echo and talker alike, and the foreground it left misfitted later (held-out at
100 ms / 0 dB, the talker 4 s in: near-end frames sent 89 -> 19 %). It doubles the linear
filter's cost while it runs (0.8 -> 1.5 ms per 20 ms on the loaded test machine), only
during double talk and half a second after. Tried first and dropped: the probe without the AEC3 condition (its lead at 3 dB, on a
foreground removing under 1 dB) left room 7 at 2.25 s (it won only 1.06 s after the
change); making the background itself that unsure at each onset (its former uncertainty
given back afterwards in the bins it had not learnt) brought room 7 to 0.75 s, but on
held-out-2's own room change the unsure background diverged (12 dB behind the foreground)
and that change took 2.5 s (0.25 s before); with the usual lead rule, the loud talker's
onset above suspended double talk and 88 -> 17 % of its frames were sent. The background's
lead on the AEC3 condition alone (no probe) brought room 7 to 1.25 s.

AEC3's output comes ``lag`` samples after its input (:func:`aec3_lag`, 15 ms with noise
suppression at 48 kHz), so the replacement and the decisions are delayed as much.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.voice.linearecho import LinearEcho, LinearSettings

__all__ = ["LinearEcho", "LinearSettings", "NearEndKeeper", "aec3_lag"]

F64 = npt.NDArray[np.float64]


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
        self._mature_change_blocks = int(round(s.mature_change_s * blocks_s))
        self._relearnt = False  # the residual is learnt afresh after a changed path (mature_change_s)
        self._probe_blocks = int(round(s.probe_ms * blocks_s / 1000.0))
        self._probe_left = 0  # blocks left of the probe filter's run
        self.probes = 0  # double-talk onsets that started the probe filter
        self._probe_lead = 0
        self._probe_win = 10.0 ** (-s.probe_lead_db / 10.0)
        self._probe_unconfirmed = int(round(s.probe_unconfirmed_ms * blocks_s / 1000.0))
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
        if s.bg_win_blocks < 1 or min(s.mature_s, s.mature_change_s, s.probe_ms, s.probe_unconfirmed_ms) < 0.0:
            raise ConfigError("double-talk keeper: bg_win_blocks must be at least 1, mature_s, mature_change_s, "
                              "probe_ms and probe_unconfirmed_ms not negative")
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
        self._relearnt = False  # as at the start of a call: mature_s
        self._hold = self._long = self._run = self._probe_left = 0

    def push(self, d: F64, ref: F64) -> None:
        """One 10 ms block: ``d`` the microphone, ``ref`` the loudspeaker signal as AEC3 gets it."""
        n = self.n
        lin = self.linear
        was = self.double_talk
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
        # the probe filter (as fast as a fresh one) ahead of the foreground through a "double
        # talk" AEC3 has let none of through for a while: a talker gets through AEC3 within a
        # few hundred ms, and a fast filter gets ahead of a talker only for a moment
        lead = (self.double_talk and lin.far_active and lin.probe_energy < self._probe_win * lin.fg_energy
                and self._unconfirmed >= self._probe_unconfirmed)
        self._probe_lead = self._probe_lead + 1 if lead else 0
        bg_wins = self._bg_lead >= self.s.bg_win_blocks or self._probe_lead >= self.s.bg_win_blocks
        if self._suspect_blocks and (bg_wins or sum(self._misfits) >= self.s.misfit_count):
            if self._suspected == 0:
                self.suspects += 1
                # the residual learnt on the old path says nothing about the new one: learn
                # it afresh (the filter is trusted again once it fits the new path)
                self._relearn()
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
        if self._relearnt and self._trusted_run >= self._mature_change_blocks:
            self._relearnt = False
        mature = self._trusted_run >= (self._mature_change_blocks if self._relearnt else self._mature_blocks)
        dt = (self.trusted and mature and fit and self._suspected == 0
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
            self._relearn()
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
        # a double-talk onset may be a changed echo path: the probe filter learns it as fast
        # as a fresh filter would (a talker's error only leaves it behind the foreground)
        if self._probe_blocks:
            if self.double_talk and not was and not lin.probing:
                lin.probe()
                self.probes += 1
            if self.double_talk and lin.probing:
                self._probe_left = self._probe_blocks
            elif self._probe_left > 0:
                self._probe_left -= 1
                if self._probe_left == 0:
                    lin.end_probe()

    def _relearn(self) -> None:
        """The echo path changed: the residual expected of echo alone is learnt afresh, and
        where the filter had matured on the old path, double talk waits until it has been
        trusted again through ``mature_change_s`` (a filter still converging when this
        happened is held to ``mature_s`` as before)."""
        self._ne[:] = 0.0
        self._ny[:] = 0.0
        self._relearnt = self._relearnt or self._trusted_run >= self._mature_blocks

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
                self._relearn()
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
