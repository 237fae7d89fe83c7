"""The linear echo canceller beside AEC3 (issue 16, double talk): :class:`LinearEcho`, a
two-filter partitioned-block frequency-domain adaptive filter with a diagonal Kalman update,
and :class:`LinearSettings`, the settings of it and of the double-talk keeper built on it
(:class:`vrdiplomacy.voice.doubletalk.NearEndKeeper`, whose module docstring tells why each
setting is what it is and what was measured)."""

from __future__ import annotations

import math
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
    f0920d4). After a changed echo path on a filter that had matured (the expected residual
    learnt afresh: a misfit or the background's lead, a long "double talk" taken for a new
    path, AEC3 letting none of it through) only once it has stayed trusted again through
    ``mature_change_s`` (``mature_s``: as on main 74f1de2): a filter that has re-learnt the
    loud bands in a few hundred milliseconds still holds the old path in the bands the far
    end has not sounded since. A suspicion on a filter still converging keeps ``mature_s``.

    Probe: at each double-talk onset a third filter starts from the background's
    coefficients with the starting uncertainty ``kalman_p0`` (it learns a changed path as
    fast as a fresh filter, where the settled background's certainty makes it slow); it
    runs through the double talk and ``probe_ms`` after it (0: never, as on main cec504b).
    It is a detector only (its coefficients are never taken on: a fast filter fits a
    converging call's talker too). Its lead of ``probe_lead_db`` over the
    foreground for ``bg_win_blocks`` through a "double talk" AEC3 has let none of through for
    ``probe_unconfirmed_ms`` (counted as for ``unconfirmed_ms``) suspends double talk like
    the background's: a talker gets through AEC3 sooner, and a fast filter gets ahead of a
    talker only for a moment.

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
    mature_change_s: float = 1.5
    probe_ms: float = 500.0
    probe_lead_db: float = 2.0
    probe_unconfirmed_ms: float = 300.0


@dataclass
class _Probe:
    """The probe filter (:meth:`LinearEcho.probe`): coefficients, Kalman uncertainty, error
    power per bin, smoothed error energy."""

    w: npt.NDArray[np.complex64]
    p: npt.NDArray[np.float32]
    m: npt.NDArray[np.float32]
    energy: float


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
        self._probe: _Probe | None = None  # the probe filter while it runs (:meth:`probe`)
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
    def probe_energy(self) -> float:
        """The probe filter's smoothed error energy (blocks with far-end sound; inf when it
        does not run)."""
        return self._probe.energy if self._probe is not None else math.inf

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
        self._probe = None
        self.restarts += 1

    def unsure(self) -> None:
        """The echo path has probably changed: the background filter's uncertainty goes back
        to its starting value (its coefficients stay), so it re-converges as fast as a
        fresh filter instead of at the pace of its slow drift model."""
        np.maximum(self._P, np.float32(self.s.kalman_p0), out=self._P)

    @property
    def probing(self) -> bool:
        """The probe filter runs (from :meth:`probe` until :meth:`end_probe`)."""
        return self._probe is not None

    def probe(self) -> None:
        """The echo path may have changed (a double-talk onset): start the probe filter from
        the background's coefficients, as unsure as a fresh filter."""
        self._probe = _Probe(self._bg.copy(), np.full_like(self._P, self.s.kalman_p0), self._m.copy(), self._e_bg)

    def end_probe(self) -> None:
        """Stop the probe filter."""
        self._probe = None

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
        pr = self._probe
        ws = (self._fg, self._bg) if pr is None else (self._fg, self._bg, pr.w)
        both = np.fft.irfft(np.stack([np.sum(w * self._X, axis=0) for w in ws]), 2 * n, axis=1)[:, n:]
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
        self._P = self._kalman(self._spectrum(eb), self._bg, self._P, self._m)
        self.changed = False
        if pr is not None:
            ep = d - both[2]
            pr.energy += a * (float(np.dot(ep, ep)) - pr.energy)
            pr.p = self._kalman(self._spectrum(ep), pr.w, pr.p, pr.m)
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

    def _spectrum(self, err: F64) -> npt.NDArray[np.complex128]:
        n = self.n
        self._pad[:n] = 0.0
        self._pad[n:] = err
        return np.fft.rfft(self._pad)

    def _kalman(self, E: npt.NDArray[np.complex128], w: npt.NDArray[np.complex64], p: npt.NDArray[np.float32],
                m: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Partitioned-block frequency-domain Kalman update (Kuech, Mabande and Enzner 2014,
        diagonal form): each partition and bin gets the step its own uncertainty ``_P`` over
        the error power allows, so bins the far end has not yet excited converge at once and
        a large error (double talk) shrinks the step. Updates the coefficients ``w`` and the
        error power ``m`` in place and returns the new uncertainty (``p`` before)."""
        n = self.n
        xp = self._X.real ** 2 + self._X.imag ** 2
        ee = E.real ** 2 + E.imag ** 2
        m += 0.5 * (ee - m)
        pred = np.sum(xp * p, axis=0)
        if self.s.kalman_noise_floor < 1.0:
            # the observation noise (near-end sound): the error power less what the filter's
            # own uncertainty explains, so an unsure filter takes large steps on a new path
            noise = np.maximum(m - pred, self.s.kalman_noise_floor * m)
        else:
            noise = m
        r = pred + 2.0 * noise / self.partitions + np.float32(1e-30)
        mu = p / r
        g = np.fft.irfft(mu * np.conj(self._X) * E, 2 * n, axis=1)
        g[:, n:] = 0.0
        w += np.fft.rfft(g, axis=1)
        a2 = np.float32(self.s.kalman_a ** 2)
        return a2 * (1.0 - 0.5 * mu * xp) * p + (1.0 - a2) * (w.real ** 2 + w.imag ** 2)

    def adopt(self) -> None:
        """The foreground takes the background's coefficients."""
        self._fg[:] = self._bg
        self._e_fg = self._e_bg
        self.copies += 1
