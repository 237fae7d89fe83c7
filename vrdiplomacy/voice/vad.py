"""Voice activity detection and the transmit gate (voice activity, push-to-talk, mute).

The detector compares each frame's energy with a noise floor tracked as the minimum of
the smoothed frame energy over the last ``floor_window_s`` seconds (minimum statistics),
so steady background noise (fans, air conditioning) is not taken for speech. The floor
starts at an absolute ``initial_floor_dbfs`` (a quiet room): until the window has filled it
may fall at once but rise only ``floor_rise_db_s`` per second, so speech from the very first
frame is not mistaken for the noise floor and gated. A frame is speech when it is ``threshold_db`` above the floor and
above ``min_dbfs``; a hangover keeps the gate open over short pauses so word endings are
not clipped.

On loudspeakers the echo canceller tells the gate which frames hold only what is left of
the far end's echo (:meth:`vrdiplomacy.voice.aec.EchoMeter.frame_is_echo`): those are never
speech and end the hangover, so the far end is not sent back to itself.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ConfigError

F32 = npt.NDArray[np.float32]
TRANSMIT_MODES = ("vad", "ptt", "continuous")


@dataclass
class VadSettings:
    """Voice activity settings.

    Fields: ``threshold_db`` above the noise floor that counts as speech; ``min_dbfs``
    frames quieter than this are never speech; ``hangover_ms`` the gate stays open this
    long after the last speech frame; ``floor_window_s`` span of the minimum-statistics
    noise floor; ``smoothing`` of the frame energy (0..1, weight of the new frame);
    ``initial_floor_dbfs`` the floor before anything was heard; ``floor_rise_db_s`` how fast
    the floor may rise while the first window fills (it falls at once).
    """

    threshold_db: float = 9.0
    min_dbfs: float = -55.0
    hangover_ms: float = 300.0
    floor_window_s: float = 2.0
    smoothing: float = 0.6
    initial_floor_dbfs: float = -70.0
    floor_rise_db_s: float = 30.0


class VoiceActivity:
    """Energy detector with a minimum-statistics noise floor and a hangover."""

    def __init__(self, settings: VadSettings | None = None, frame_ms: float = 20.0) -> None:
        self.s = settings or VadSettings()
        self.frame_ms = frame_ms
        self._smooth: float | None = None
        self._hist: deque[float] = deque(maxlen=max(1, int(self.s.floor_window_s * 1000 / frame_ms)))
        self._hang = 0
        self._rise = self.s.floor_rise_db_s * frame_ms / 1000.0
        self.floor_db = self.s.initial_floor_dbfs
        self.energy_db = -120.0

    def update(self, frame: F32, echo: bool = False) -> bool:
        """Feed one frame; True while speech (or its hangover) is present. ``echo``: the echo
        canceller found only residual echo in this frame (never speech, ends the hangover)."""
        x = np.asarray(frame, dtype=np.float32)
        e = 10.0 * math.log10(float(np.mean(x.astype(np.float64) ** 2)) + 1e-12)
        self.energy_db = e
        a = self.s.smoothing
        self._smooth = e if self._smooth is None else a * e + (1 - a) * self._smooth
        self._hist.append(self._smooth)
        lowest = min(self._hist)
        if len(self._hist) < (self._hist.maxlen or 1):  # young: rise slowly from the absolute start
            self.floor_db = min(lowest, self.floor_db + self._rise)
        else:
            self.floor_db = lowest
        if echo:
            self._hang = 0
            return False
        speech = e > self.floor_db + self.s.threshold_db and e > self.s.min_dbfs
        if speech:
            self._hang = int(math.ceil(self.s.hangover_ms / self.frame_ms))
            return True
        if self._hang > 0:
            self._hang -= 1
            return True
        return False


class TransmitGate:
    """Decides per frame whether to send: ``mode`` "vad" (voice activity), "ptt" (while the
    push-to-talk key is held, plus ``ptt_tail_ms``) or "continuous"; ``muted`` overrides all.

    :meth:`decide` returns ``(send, audible, speech)``: ``send`` whether a packet goes
    out, ``audible`` whether it carries the microphone signal (False: the frame is replaced
    by silence, when muted in continuous mode, so that packet timing reveals nothing),
    ``speech`` the voice activity decision."""

    def __init__(self, mode: str = "vad", vad: VoiceActivity | None = None, ptt_tail_ms: float = 200.0,
                 frame_ms: float = 20.0) -> None:
        if mode not in TRANSMIT_MODES:
            raise ConfigError(f"transmit mode must be one of {', '.join(TRANSMIT_MODES)}, not '{mode}'")
        self.mode = mode
        self.vad = vad or VoiceActivity(frame_ms=frame_ms)
        self.muted = False
        self.ptt_pressed = False
        self._ptt_tail = 0
        self._ptt_tail_frames = int(math.ceil(ptt_tail_ms / frame_ms))

    def set_ptt(self, pressed: bool) -> None:
        if self.ptt_pressed and not pressed:
            self._ptt_tail = self._ptt_tail_frames
        self.ptt_pressed = pressed

    def decide(self, frame: F32, echo: bool = False) -> tuple[bool, bool, bool]:
        """``echo``: the echo canceller found only residual echo in ``frame``."""
        speech = self.vad.update(frame, echo)
        if self.mode == "continuous":
            return True, not self.muted, speech and not self.muted
        if self.mode == "ptt":
            held = self.ptt_pressed or self._ptt_tail > 0
            if not self.ptt_pressed and self._ptt_tail > 0:
                self._ptt_tail -= 1
            on = held and not self.muted
            return on, on, on and speech
        on = speech and not self.muted
        return on, on, on
