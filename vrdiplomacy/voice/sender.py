"""VoiceSender: microphone blocks in, voice packets out (sans-I/O).

Per capture block: echo cancellation against what the loudspeakers played (only when the
user is not on headphones), then per Opus frame: the transmit gate (voice activity,
push-to-talk, mute), Opus encoding and packetisation with sequence number, timestamp,
speaker id and audio level. Listeners' loss reports (:mod:`vrdiplomacy.voice.feedback`)
drive a :class:`~vrdiplomacy.voice.feedback.LossAdapter` whose plan sets the encoder's
expected-loss hint (in-band FEC) and how many earlier frames each packet repeats
(redundant copies, RFC 2198 style: a copy is the earlier packet's Opus payload byte for
byte, so a listener that lost it decodes exactly what it missed).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.voice.aec import AecSettings
from vrdiplomacy.voice.apm import make_canceller
from vrdiplomacy.voice.codec import Encoder, OpusEncoder, OpusSettings
from vrdiplomacy.voice.feedback import AdaptSettings, LossAdapter, Plan, StreamReport
from vrdiplomacy.voice.packet import (
    FLAG_CBR,
    FLAG_FEC,
    FLAG_RED,
    FLAG_START,
    FLAG_VOICE,
    MAX_COPIES,
    MAX_DISTANCE,
    VoicePacket,
    level_dbov,
)
from vrdiplomacy.voice.vad import TransmitGate, VadSettings, VoiceActivity

F32 = npt.NDArray[np.float32]


@dataclass
class SenderSettings:
    """Sender settings: ``opus`` encoder settings; ``transmit`` "vad", "ptt" or
    "continuous" (continuous with ``opus.cbr`` hides speech from packet sizes and timing);
    ``headphones`` True turns echo cancellation off (nothing to cancel); ``aec`` and
    ``vad`` their settings; ``adapt`` how listeners' loss reports set the loss hint and the
    redundant copies; ``max_red_bytes`` the most bytes of copies one packet carries (older
    copies are left out beyond it)."""

    opus: OpusSettings = field(default_factory=OpusSettings)
    transmit: str = "vad"
    headphones: bool = True
    aec: AecSettings = field(default_factory=AecSettings)
    vad: VadSettings = field(default_factory=VadSettings)
    adapt: AdaptSettings = field(default_factory=AdaptSettings)
    max_red_bytes: int = 700


class VoiceSender:
    """One user's outgoing voice stream."""

    def __init__(self, speaker: int, settings: SenderSettings | None = None, encoder: Encoder | None = None) -> None:
        self.s = s = settings or SenderSettings()
        if not 0 <= speaker <= 0xFFFFFFFF:
            raise ConfigError("speaker id must fit in 32 bits")
        self.speaker = speaker
        self.encoder: Encoder = encoder or OpusEncoder(s.opus)
        self.frame = s.opus.frame_samples
        self.gate = TransmitGate(s.transmit, VoiceActivity(s.vad, s.opus.frame_ms), frame_ms=s.opus.frame_ms)
        self.aec = None if s.headphones else make_canceller(s.aec)
        self._mic = np.zeros(0, dtype=np.float32)
        self._far: deque[F32] = deque()
        self._far_len = 0
        self._pending = np.zeros(0, dtype=np.float32)
        self._seq = 0
        self._ts = 0
        self._was_sending = False
        self.expected_loss = s.opus.expected_loss
        self.adapter = LossAdapter(s.adapt)
        self.bitrate = s.opus.bitrate
        self.copies: tuple[int, ...] = ()
        self._history: deque[tuple[int, bytes]] = deque(maxlen=MAX_DISTANCE)  # (timestamp, payload) sent
        self.sent = 0
        self.sent_bytes = 0
        self.red_bytes = 0

    # ---------------------------------------------------------------- controls

    @property
    def muted(self) -> bool:
        return self.gate.muted

    def set_muted(self, muted: bool) -> None:
        self.gate.muted = muted

    def set_ptt(self, pressed: bool) -> None:
        self.gate.set_ptt(pressed)

    def set_expected_loss(self, fraction: float) -> None:
        """Set the packet loss the encoder plans FEC for (0..1)."""
        self.expected_loss = min(max(float(fraction), 0.0), 1.0)
        self.encoder.set_expected_loss(self.expected_loss)

    def set_copies(self, distances: tuple[int, ...]) -> None:
        """Carry redundant copies of the frames ``distances`` back in every packet."""
        d = tuple(sorted(set(int(v) for v in distances)))
        if len(d) > MAX_COPIES or any(not 1 <= v <= MAX_DISTANCE for v in d):
            raise ConfigError(f"at most {MAX_COPIES} copy distances in 1..{MAX_DISTANCE}, not {distances}")
        self.copies = d

    def apply(self, plan: Plan) -> None:
        """Follow a plan: loss hint, copies and bitrate."""
        self.set_expected_loss(plan.expected_loss)
        self.set_copies(plan.copies)
        bitrate = max(6000, int(self.s.opus.bitrate * plan.bitrate_scale))
        if bitrate != self.bitrate:
            self.encoder.set_bitrate(bitrate)
            self.bitrate = bitrate

    def on_report(self, report: StreamReport, reporter: int, now: float) -> None:
        """Fold listener ``reporter``'s measurement of this stream in and follow the plan of
        the worst-served listener. Reports about other speakers are ignored."""
        if report.speaker != self.speaker:
            return
        self.adapter.on_report(reporter, report, now)
        self.apply(self.adapter.plan(now))

    def tick(self, now: float) -> None:
        """Let reports expire (a listener that stopped reporting no longer sets the plan)."""
        self.apply(self.adapter.plan(now))

    # ---------------------------------------------------------------- audio

    def playback(self, block: npt.ArrayLike) -> None:
        """What the loudspeakers are playing now (mono or (n, 2)): the echo reference."""
        if self.aec is None:
            return
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 2:
            x = x.mean(axis=1)
        self._far.append(x.reshape(-1))
        self._far_len += x.size
        limit = self.s.aec.fs  # keep at most one second of reference
        while self._far_len > limit:
            self._far_len -= self._far.popleft().size

    def _take_far(self, n: int) -> F32:
        parts: list[F32] = []
        need = n
        while need > 0 and self._far:
            head = self._far[0]
            if head.size <= need:
                parts.append(self._far.popleft())
                need -= head.size
            else:
                parts.append(head[:need])
                self._far[0] = head[need:]
                need = 0
        self._far_len -= n - need
        if need:
            parts.append(np.zeros(need, dtype=np.float32))
        return np.concatenate(parts)

    def capture(self, block: npt.ArrayLike) -> list[VoicePacket]:
        """Feed a microphone block (mono float32, any length); returns packets to send."""
        x = np.asarray(block, dtype=np.float32).reshape(-1)
        if self.aec is not None:
            n = self.aec.s.block
            self._mic = np.concatenate([self._mic, x])
            usable = self._mic.size - self._mic.size % n
            if usable:
                clean = self.aec.process(self._mic[:usable], self._take_far(usable))
                self._mic = self._mic[usable:]
                self._pending = np.concatenate([self._pending, clean])
        else:
            self._pending = np.concatenate([self._pending, x])
        out: list[VoicePacket] = []
        while self._pending.size >= self.frame:
            frame = self._pending[: self.frame]
            self._pending = self._pending[self.frame :]
            pkt = self._frame(frame)
            if pkt is not None:
                out.append(pkt)
        return out

    def _frame(self, frame: F32) -> VoicePacket | None:
        echo = self.aec.frame_is_echo(frame.size) if self.aec is not None else False
        send, audible, speech = self.gate.decide(frame, echo)
        pcm = frame if audible else np.zeros_like(frame)
        ts = self._ts
        self._ts = (self._ts + self.frame) & 0xFFFFFFFF
        payload = self.encoder.encode(pcm)
        if not send or len(payload) <= 2:  # gated, or DTX: nothing worth sending
            self._was_sending = False
            return None
        rms = math.sqrt(float(np.mean(pcm.astype(np.float64) ** 2)))
        flags = (FLAG_VOICE if speech else 0) | (0 if self._was_sending else FLAG_START)
        if self.s.opus.cbr:
            flags |= FLAG_CBR
        if self.s.opus.fec and round(self.expected_loss * 100) >= 1:
            flags |= FLAG_FEC  # libopus writes in-band FEC only with a loss hint of 1 % or more
        red = self._redundancy(ts)
        if red:
            flags |= FLAG_RED
        pkt = VoicePacket(self._seq, ts, self.speaker, level_dbov(rms), payload, flags, red)
        self._history.append((ts, payload))
        self._seq = (self._seq + 1) & 0xFFFF
        self._was_sending = True
        self.sent += 1
        n_red = sum(len(c) for _, c in red)
        self.sent_bytes += len(payload) + n_red
        self.red_bytes += n_red
        return pkt

    def _redundancy(self, ts: int) -> tuple[tuple[int, bytes], ...]:
        """Copies of the frames ``self.copies`` back that were sent (a gated frame has none)."""
        if not self.copies or not self._history:
            return ()
        sent = {t: p for t, p in self._history}
        out: list[tuple[int, bytes]] = []
        budget = self.s.max_red_bytes
        for d in self.copies:
            p = sent.get((ts - d * self.frame) & 0xFFFFFFFF)
            if p is not None and len(p) <= budget:
                out.append((d, p))
                budget -= len(p)
        return tuple(out)
