"""Per-speaker adaptive jitter buffer (sans-I/O: arrival and playout times are passed in).

Every packet's one-way "offset" ``D = arrival - timestamp / fs`` is recorded (the sender's
and receiver's clocks need not agree; only differences matter). A frame with timestamp
``ts`` plays at ``ts / fs + O``; it is on time when ``D <= O``. The target offset is a high
percentile of the recent offsets plus a small margin, bounded between the fastest packet
plus ``min_delay_ms`` and the fastest packet plus ``max_delay_ms``. When the stream loses
packets, one more frame is held so that a lost frame can be rebuilt from the next
packet's in-band FEC data.

Adaptation: a stream (re)starts at the target offset, so silences (DTX, end of a
talkspurt) re-centre it. During continuous speech the buffer grows by stretching an
underrun (concealing without advancing) when the target is above the current offset, and
shrinks by skipping one frame when it is a frame or more above the target.

:meth:`JitterBuffer.pop` answers, for the next frame to play, a :class:`Playout`:
``"packet"`` (decode it), ``"fec"`` (decode the lost frame from the next packet's FEC),
``"plc"`` (conceal), or ``None`` while the stream is idle.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from vrdiplomacy.voice.packet import VoicePacket

RECOMPUTE_EVERY = 8  # packets between recomputations of the target delay


@dataclass
class JitterSettings:
    """Jitter buffer settings.

    Fields: ``fs`` timestamp rate; ``percentile`` of observed offsets to cover (98 means
    about 2 % of packets may arrive late under steady jitter); ``margin_ms`` added on top;
    ``min_delay_ms``/``max_delay_ms`` bounds of the buffering beyond the fastest packet;
    ``window`` packets of history for the percentile and for the loss estimate;
    ``fec_hold`` hold one extra frame while measured loss exceeds ``fec_loss_threshold``;
    ``idle_frames`` frames of nothing to play before a stream goes idle; ``max_packets``
    packets buffered per speaker at most (older ones are dropped and counted);
    ``hysteresis_ms`` slack before shrinking or stretching; ``quiet_level`` frames at or
    below this level (-dBov) may be skipped to shrink the delay at once, louder ones only
    after the excess lasted ``shrink_after_s`` seconds.
    """

    fs: int = 48000
    percentile: float = 98.0
    margin_ms: float = 2.0
    min_delay_ms: float = 0.0
    max_delay_ms: float = 250.0
    window: int = 250
    fec_hold: bool = True
    fec_loss_threshold: float = 0.005
    idle_frames: int = 10
    max_packets: int = 128
    hysteresis_ms: float = 1.0
    quiet_level: int = 50
    shrink_after_s: float = 2.0


@dataclass
class JitterStats:
    """Counters of one stream: packets ``received`` on time, ``late`` (after their playout),
    ``duplicate``, ``overflow`` (buffer full), ``played`` normally, ``fec`` (frames rebuilt
    from FEC), ``plc`` (frames concealed), ``skipped`` (dropped to shrink the delay),
    ``stretched`` (frames inserted to grow it), ``starts`` (talkspurts), ``buffer_ms``
    (recent time packets waited before playout)."""

    received: int = 0
    late: int = 0
    duplicate: int = 0
    overflow: int = 0
    played: int = 0
    fec: int = 0
    plc: int = 0
    skipped: int = 0
    stretched: int = 0
    starts: int = 0
    buffer_ms: deque[float] = field(default_factory=lambda: deque(maxlen=500))


@dataclass
class _Entry:
    ts: int
    seq: int
    packet: VoicePacket
    arrival: float
    samples: int


@dataclass
class Playout:
    """What to do for the next frame: ``kind`` is "packet", "fec" or "plc"; ``packet`` the
    packet to decode (for "fec": the next packet, whose FEC data rebuilds this frame);
    ``samples`` the frame length."""

    kind: str
    samples: int
    packet: VoicePacket | None = None


def _unwrap(value: int, ref: int | None, bits: int) -> int:
    if ref is None:
        return value
    mod = 1 << bits
    diff = (value - ref) % mod
    if diff >= mod // 2:
        diff -= mod
    return ref + diff


class JitterBuffer:
    """Adaptive jitter buffer of one speaker's stream."""

    def __init__(self, settings: JitterSettings | None = None) -> None:
        self.s = settings or JitterSettings()
        self.stats = JitterStats()
        self._buf: dict[int, _Entry] = {}
        # The last ``window`` offsets and accepted sequence numbers, as rings (the order
        # does not matter to the estimates), and the sequence numbers also as a set.
        w = max(1, self.s.window)
        self._offsets = np.zeros(w, dtype=np.float64)
        self._n_offsets = 0
        self._seen = np.zeros(w, dtype=np.int64)
        self._n_seen = 0
        self._seen_set: set[int] = set()
        self._ts_ref: int | None = None
        self._seq_ref: int | None = None
        self._max_seq: int | None = None
        self.playing = False
        self.next_ts = 0
        self._frame = 960
        self._missing = 0
        self._last_played_ts: int | None = None
        self._deep_since: float | None = None
        self._last_seq: int | None = None
        self._target: float | None = None
        self._new_since_target = 0

    # ---------------------------------------------------------------- input

    def push(self, packet: VoicePacket, samples: int, now: float) -> str:
        """Add a packet that arrived at ``now``; ``samples`` is its frame length. Returns
        "ok", "late", "duplicate" or "overflow" (the last three are dropped and counted)."""
        ts = _unwrap(packet.timestamp, self._ts_ref, 32)
        seq = _unwrap(packet.sequence, self._seq_ref, 16)
        self._ts_ref = max(ts, self._ts_ref) if self._ts_ref is not None else ts
        self._seq_ref = max(seq, self._seq_ref) if self._seq_ref is not None else seq
        w = self._offsets.size
        self._offsets[self._n_offsets % w] = now - ts / self.s.fs
        self._n_offsets += 1
        self._new_since_target += 1
        if ts in self._buf or seq in self._seen_set:
            self.stats.duplicate += 1
            return "duplicate"
        stale = self._last_played_ts is not None and ts <= self._last_played_ts
        if (self.playing and ts < self.next_ts) or stale:
            self._target = None  # react to lateness at once
            self.stats.late += 1
            return "late"
        if len(self._buf) >= self.s.max_packets:
            oldest = min(self._buf)
            if ts < oldest:
                self.stats.overflow += 1
                return "overflow"
            del self._buf[oldest]
            self.stats.overflow += 1
        self._buf[ts] = _Entry(ts, seq, packet, now, samples)
        slot = self._n_seen % w
        if self._n_seen >= w:
            self._seen_set.discard(int(self._seen[slot]))
        self._seen[slot] = seq
        self._seen_set.add(seq)
        self._n_seen += 1
        self._max_seq = seq if self._max_seq is None else max(self._max_seq, seq)
        self.stats.received += 1
        return "ok"

    # ---------------------------------------------------------------- estimates

    def loss_fraction(self) -> float:
        """Fraction of the last ``window`` sequence numbers that did not arrive in time."""
        if self._max_seq is None or not self._n_seen:
            return 0.0
        seen = self._seen[: min(self._n_seen, self._seen.size)]
        lo = max(self._max_seq - self.s.window + 1, int(seen.min()))
        expected = self._max_seq - lo + 1
        got = int(np.count_nonzero(seen >= lo))
        return max(0.0, 1.0 - got / expected) if expected > 0 else 0.0

    def target_offset(self) -> float:
        """The playout offset to aim for (seconds, on the receiver clock minus timestamp).

        Recomputed after every ``RECOMPUTE_EVERY`` packets, and at once after a late one."""
        if self._target is None or self._new_since_target >= RECOMPUTE_EVERY:
            self._target = self._compute_target()
            self._new_since_target = 0
        return self._target

    def _compute_target(self) -> float:
        s = self.s
        if not self._n_offsets:
            return 0.0
        arr = self._offsets[: min(self._n_offsets, self._offsets.size)]
        lo = float(arr.min())
        k = min(arr.size - 1, max(0, int(math.ceil(s.percentile / 100.0 * arr.size)) - 1))
        target = float(np.partition(arr, k)[k]) + s.margin_ms / 1e3
        if s.fec_hold and self.loss_fraction() > s.fec_loss_threshold:
            target += self._frame / s.fs
        return min(max(target, lo + s.min_delay_ms / 1e3), lo + s.max_delay_ms / 1e3)

    def _start_ts(self) -> int:
        """Where an idle stream starts: its first buffered packet, or one frame earlier when
        that packet's predecessor (not a talkspurt start) was lost, so FEC can rebuild it."""
        first = self._buf[min(self._buf)]
        lost_before = not first.packet.start and (self._last_seq is None or first.seq != self._last_seq + 1)
        return first.ts - first.samples if lost_before else first.ts

    def start_time(self) -> float | None:
        """When an idle stream with buffered packets should start playing (else None)."""
        if self.playing or not self._buf:
            return None
        return self._start_ts() / self.s.fs + self.target_offset()

    @property
    def buffered(self) -> int:
        return len(self._buf)

    # ---------------------------------------------------------------- output

    def pop(self, play_time: float) -> Playout | None:
        """The next frame for a playout starting at ``play_time`` (receiver clock)."""
        s = self.s
        if not self.playing:
            start = self.start_time()
            if start is None or play_time < start - 1e-9:
                return None
            self.playing = True
            self.next_ts = self._start_ts()
            self._frame = self._buf[min(self._buf)].samples
            self._missing = 0
            self.stats.starts += 1
        fs = s.fs
        hyst = s.hysteresis_ms / 1e3
        offset = play_time - self.next_ts / fs
        target = self.target_offset()
        entry = self._buf.pop(self.next_ts, None)
        if entry is not None:
            nxt = self._buf.get(self.next_ts + entry.samples)
            too_deep = offset > target + entry.samples / fs + hyst
            if not too_deep:
                self._deep_since = None
            elif self._deep_since is None:
                self._deep_since = play_time
            quiet = entry.packet.level >= s.quiet_level
            long_deep = self._deep_since is not None and play_time - self._deep_since > s.shrink_after_s
            if too_deep and nxt is not None and (quiet or long_deep):
                # Shrink: skip a frame (a quiet one unless the excess lasted long) whose
                # successor is already here.
                self._deep_since = None
                self.stats.skipped += 1
                self._last_played_ts = entry.ts
                self.next_ts += entry.samples
                return self.pop(play_time)
            self._frame = entry.samples
            self._missing = 0
            self._last_played_ts = entry.ts
            self._last_seq = entry.seq
            self.next_ts += entry.samples
            self.stats.played += 1
            self.stats.buffer_ms.append((play_time - entry.arrival) * 1e3)
            return Playout("packet", entry.samples, entry.packet)
        frame = self._frame
        nxt = self._buf.get(self.next_ts + frame)
        if nxt is not None:
            self.stats.fec += 1
            self._last_played_ts = self.next_ts
            self.next_ts += frame
            self._missing = 0
            return Playout("fec", frame, nxt.packet)
        if not self._buf and self._missing >= s.idle_frames:
            self.playing = False
            self._missing = 0
            return None
        self._missing += 1
        self.stats.plc += 1
        if offset < target - hyst:
            self.stats.stretched += 1  # underrun while the target is higher: wait, do not advance
            return Playout("plc", frame)
        self._last_played_ts = self.next_ts
        self.next_ts += frame
        return Playout("plc", frame)
