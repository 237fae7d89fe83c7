"""VoiceReceiver: packets in, one mono block per active speaker out (sans-I/O).

``receive(data, now)`` parses a :class:`~vrdiplomacy.voice.packet.VoicePacket` and files
it in that speaker's :class:`~vrdiplomacy.voice.jitter.JitterBuffer`; malformed packets
are counted and dropped. ``pull(now, n)`` returns ``{speaker: n samples}`` for the block
that starts playing at ``now``: each frame is decoded (from its redundant copy in a later
packet when its own packet was lost), rebuilt from the next packet's in-band FEC when it
was lost and that packet is already here, or concealed (Opus PLC). Frames the jitter
buffer marks are time-stretched by a pitch period (:mod:`vrdiplomacy.voice.stretch`). A
stream (re)starts at the first callback at which it has waited its target delay, at the
first free sample of that block: its first frame is then decided when it starts to play,
with the whole target behind it (a start inside the block would be decided up to a block
early, short of the target, and the buffer would then expand to make up for it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import AudioError, ProtocolError
from vrdiplomacy.voice.codec import Decoder, OpusDecoder
from vrdiplomacy.voice.feedback import StreamReport
from vrdiplomacy.voice.jitter import JitterBuffer, JitterSettings, Playout
from vrdiplomacy.voice.packet import VoicePacket
from vrdiplomacy.voice.stretch import accelerate, expand

log = logging.getLogger(__name__)
F32 = npt.NDArray[np.float32]
_EMPTY: F32 = np.zeros(0, dtype=np.float32)


@dataclass
class ReceiverSettings:
    """Receiver settings: ``jitter`` buffer settings; ``max_speakers`` streams kept at once
    (packets of further speakers are dropped and counted); ``forget_after_s`` an idle
    stream's state (decoder, statistics) is dropped after this long without packets."""

    jitter: JitterSettings = field(default_factory=JitterSettings)
    max_speakers: int = 64
    forget_after_s: float = 60.0


@dataclass
class ReceiverCounters:
    """Receiver-wide counters: ``malformed`` packets, ``undecodable`` payloads (concealed
    instead), ``refused`` packets beyond ``max_speakers``; time-stretching: samples removed
    (``accelerated``) and added (``expanded``)."""

    malformed: int = 0
    undecodable: int = 0
    refused: int = 0
    accelerated: int = 0
    expanded: int = 0


class _Stream:
    def __init__(self, settings: JitterSettings, decoder: Decoder) -> None:
        self.jb = JitterBuffer(settings)
        self.decoder = decoder
        self.fifo = _EMPTY
        self.level = 127
        self.last_arrival = 0.0
        self.active = False


class VoiceReceiver:
    """Receives every speaker's packets and plays them out block by block."""

    def __init__(
        self,
        settings: ReceiverSettings | None = None,
        decoder_factory: Callable[[], Decoder] = OpusDecoder,
    ) -> None:
        self.settings = settings or ReceiverSettings()
        self._factory = decoder_factory
        self._streams: dict[int, _Stream] = {}
        self.counters = ReceiverCounters()
        self.fs = self.settings.jitter.fs

    # ---------------------------------------------------------------- input

    def receive(self, data: bytes, now: float) -> str:
        """File one packet that arrived at ``now``. Returns what happened to it: "ok",
        "late", "duplicate", "overflow", "malformed", "undecodable" or "refused"."""
        try:
            pkt = VoicePacket.parse(data)
        except ProtocolError:
            self.counters.malformed += 1
            return "malformed"
        st = self._streams.get(pkt.speaker)
        if st is None:
            if len(self._streams) >= self.settings.max_speakers:
                self.forget_idle(now)
                if len(self._streams) >= self.settings.max_speakers:
                    self.counters.refused += 1
                    return "refused"
            st = self._streams[pkt.speaker] = _Stream(self.settings.jitter, self._factory())
        try:
            samples = st.decoder.packet_samples(pkt.payload)
        except AudioError:
            self.counters.undecodable += 1
            return "undecodable"
        st.level = pkt.level
        st.last_arrival = now
        return st.jb.push(pkt, samples, now)

    # ---------------------------------------------------------------- output

    def _decode(self, st: _Stream, p: Playout) -> F32:
        try:
            if p.kind == "packet":
                assert p.packet is not None
                return st.decoder.decode(p.packet.payload, p.samples)
            if p.kind == "fec":
                assert p.packet is not None
                return st.decoder.decode(p.packet.payload, p.samples, fec=True)
            return st.decoder.decode(None, p.samples)
        except AudioError:
            self.counters.undecodable += 1
            try:
                return st.decoder.decode(None, p.samples)
            except AudioError:
                return np.zeros(p.samples, dtype=np.float32)

    def pull(self, now: float, n: int) -> dict[int, F32]:
        """Blocks of ``n`` samples, starting to play at ``now``, for every speaker that is
        playing (speakers with nothing to play are left out)."""
        out: dict[int, F32] = {}
        fs = self.fs
        for spk, st in self._streams.items():
            jb = st.jb
            have = st.fifo.size
            parts = [st.fifo] if have else []
            while have < n:
                t = now + have / fs
                if not jb.playing:
                    start = jb.start_time()
                    # A stream starts where this callback decides: at the block's first free
                    # sample, once that is at its target (less the hysteresis). Starting at
                    # its exact sample inside the block would decide its first frame now, up
                    # to a block before the target offset (see JitterBuffer.pop's ``lead``).
                    if start is None or start > t + jb.s.hysteresis_ms / 1e3:
                        break
                p = jb.pop(t, t - now, n / fs)
                if p is None:
                    break
                frame = self._decode(st, p)
                if p.stretch == "accelerate":
                    short = accelerate(frame, p.amount)
                    self.counters.accelerated += frame.size - short.size
                    frame = short
                elif p.stretch == "expand":
                    long = expand(frame, p.amount)
                    self.counters.expanded += long.size - frame.size
                    frame = long
                parts.append(frame)
                have += frame.size
            if not have and not jb.playing:
                st.active = False
                continue
            buf = parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else _EMPTY
            if buf.size < n:
                buf = np.concatenate([buf, np.zeros(n - buf.size, dtype=np.float32)])
            out[spk] = buf[:n]
            st.fifo = buf[n:].copy() if buf.size > n else _EMPTY
            st.active = True
        return out

    # ---------------------------------------------------------------- state

    def speakers(self) -> list[int]:
        return list(self._streams)

    def level(self, speaker: int) -> int:
        """Last audio level (-dBov, 127 = silence) a speaker's packets carried."""
        st = self._streams.get(speaker)
        return st.level if st else 127

    def jitter_buffer(self, speaker: int) -> JitterBuffer:
        st = self._streams.get(speaker)
        if st is None:
            raise KeyError(speaker)
        return st.jb

    def report(self, speaker: int, key: int | None = None) -> StreamReport:
        """What this receiver measured about ``speaker``'s stream, for its encoder (``key``:
        the speaker's key in the report, default ``speaker``)."""
        jb = self.jitter_buffer(speaker)
        delay = float(np.median(jb.stats.buffer_ms)) if jb.stats.buffer_ms else 0.0
        return StreamReport(speaker if key is None else key, jb.loss_fraction(), jb.late_fraction(),
                            jb.residual_fraction(), jb.burst_length(), jb.jitter * 1e3, delay)

    def reports(self, min_packets: int = 25) -> list[StreamReport]:
        """Reports on every stream that received at least ``min_packets`` packets."""
        return [self.report(spk) for spk, st in self._streams.items()
                if st.jb.stats.received + st.jb.stats.late >= min_packets]

    def forget_idle(self, now: float) -> None:
        """Drop the state of streams with no packets for ``forget_after_s``."""
        for spk in [k for k, st in self._streams.items()
                    if not st.jb.playing and now - st.last_arrival > self.settings.forget_after_s]:
            del self._streams[spk]
