"""Per-speaker adaptive jitter buffer (sans-I/O: arrival and playout times are passed in).

Every packet's one-way "offset" ``D = arrival - timestamp / fs`` is recorded (the sender's
and receiver's clocks need not agree; only differences matter). A frame with timestamp
``ts`` plays at ``ts / fs + O``; it is on time when ``D <= O``. The target offset is a high
percentile of the recent offsets plus a small margin, bounded between the fastest packet
plus ``min_delay_ms`` and the fastest packet plus ``max_delay_ms``. While the stream loses
packets, and only when help is on its way, frames are held back for it: as many frames as
the redundant copies in its packets reach back (a lost frame is then played from a copy
in a later packet, see :mod:`vrdiplomacy.voice.packet`), or one frame when its packets
carry in-band FEC data for their predecessor.

Adaptation: a stream (re)starts at the target offset, so silences (DTX, end of a
talkspurt) re-centre it. During speech the buffer changes its delay by time-stretching
the decoded audio a pitch period at a time (:mod:`vrdiplomacy.voice.stretch`, WSOLA, as
WebRTC's NetEQ does), never by skipping or repeating whole frames: a speech frame played
while the offset is more than three times ``accelerate_ms`` above the target is marked
``"accelerate"`` (play it a pitch period shorter), one played below the target ``"expand"``
(a pitch period longer). When the next frame has not arrived and the buffer is below its
target, the frame is concealed without advancing: the packet, late, plays when it comes.

The offset that counts is the one at which a frame is *decided*: the playback callback
decodes the frame that starts inside its block, up to a block before that frame plays.
Decisions fall on the callback grid, so a delay that is not a whole number of callbacks
past the target buys nothing: quiet frames (pauses) lose or gain exactly what puts the
next frame on the callback that decides it just in time (``Playout.amount``), which sheds
a delay left over from an expansion and keeps the buffer within one callback of its
target on a clean link.

:meth:`JitterBuffer.pop` answers, for the next frame to play, a :class:`Playout`:
``"packet"`` (decode it; its redundant copy when its own packet was lost), ``"fec"``
(decode the lost frame from the next packet's FEC), ``"plc"`` (conceal), or ``None`` while
the stream is idle.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from vrdiplomacy.voice.packet import FLAG_FEC, FLAG_RED, FLAG_START, VoicePacket
from vrdiplomacy.voice.stretch import MAX_LAG as QUIET_STRETCH  # what a quiet frame loses at most

RECOMPUTE_EVERY = 8  # packets between recomputations of the target delay
MIN_QUIET_STEP = 24  # samples (0.5 ms): a quiet frame is not stretched for less


@dataclass
class JitterSettings:
    """Jitter buffer settings.

    Fields: ``fs`` timestamp rate; ``percentile`` of observed offsets to cover, and
    ``tail_factor``: the target covers at least the median offset plus that many times the
    distance from the median to the 90th percentile (a tail estimate from the bulk of the
    packets, which a window of a few hundred samples measures steadily; the high percentile
    alone moves by tens of ms as single packets enter and leave the window, and each move is
    a stretch heard in the middle of a word); ``margin_ms`` added on top;
    ``min_delay_ms``/``max_delay_ms`` bounds of the buffering beyond the fastest packet
    (``lossy_min_delay_ms`` instead of ``min_delay_ms`` while the stream loses more than
    ``fec_loss_threshold`` of its packets: a clean link keeps the shorter mouth-to-ear
    delay, a lossy one the headroom against scheduling hiccups);
    ``window`` packets of history for the percentiles and for the loss estimate;
    ``fec_hold`` hold frames for FEC data and redundant copies while the measured loss
    exceeds ``fec_loss_threshold`` (only when the stream's packets carry them), and with
    ``hold_on_late`` also while packets come late (off: lateness is jitter, which the
    offset target covers; a hold switched on and off by single late packets moved the
    delay during speech);
    ``idle_frames`` frames of nothing to play before a stream goes idle; ``max_packets``
    packets buffered per speaker at most (older ones are dropped and counted);
    ``hysteresis_ms`` slack below the target before a frame is expanded or an underrun is
    waited out; ``accelerate_ms`` a third of the excess above the target before speech
    frames are accelerated (a delay that is only a little too long waits for the next
    pause). Quiet frames are accelerated whenever the next frame would still be decided at
    the target (see :meth:`JitterBuffer.pop`): a delay left over from an expansion or a
    start goes at the next pause, and the buffer stays within one callback of its target;
    ``quiet_level`` frames at or below this level (-dBov) take the growth that holding for
    FEC or copies needs at once, louder frames only when packets would otherwise come
    late or the hold has been short for ``hold_wait_s`` (speech keeps its timing while a
    pause to grow in is likely to come); ``loud_stretch_gap`` frames played between two
    stretched speech frames at least (stretches in a row are heard as a warble: three
    consecutive expansions cost about 1 PESQ point, one costs 0.1).

    Defaults tuned in simulation (``tools/bench/voice_jitter.py``) on two recordings with
    20 ms of jitter, and checked on two others and other seeds.
    """

    fs: int = 48000
    percentile: float = 99.5
    margin_ms: float = 2.0
    min_delay_ms: float = 4.0
    lossy_min_delay_ms: float = 20.0
    max_delay_ms: float = 250.0
    window: int = 1000
    fec_hold: bool = True
    fec_loss_threshold: float = 0.005
    idle_frames: int = 10
    max_packets: int = 128
    hysteresis_ms: float = 1.0
    accelerate_ms: float = 30.0
    quiet_level: int = 60
    hold_wait_s: float = 1.0
    tail_factor: float = 3.0
    hold_on_late: bool = False
    loud_stretch_gap: int = 5


@dataclass
class JitterStats:
    """Counters of one stream: packets ``received`` on time, ``late`` (after their playout),
    ``duplicate``, ``overflow`` (buffer full), ``played`` normally (``recovered`` of them from
    a redundant copy in a later packet), ``fec`` (frames rebuilt from FEC), ``plc`` (frames
    concealed), ``waited`` (concealed while waiting for a late packet, without advancing),
    ``accelerate`` / ``expand`` (frames marked to play shorter / longer), ``starts``
    (talkspurts), ``buffer_ms`` (recent time packets waited before playout), ``delay_ms``
    (recent playout offsets over the fastest packet's: what the buffer adds to the fastest
    path, constant while the buffer neither stretches nor waits)."""

    received: int = 0
    late: int = 0
    duplicate: int = 0
    overflow: int = 0
    played: int = 0
    recovered: int = 0
    fec: int = 0
    plc: int = 0
    waited: int = 0
    accelerate: int = 0
    expand: int = 0
    starts: int = 0
    buffer_ms: deque[float] = field(default_factory=lambda: deque(maxlen=500))
    delay_ms: deque[float] = field(default_factory=lambda: deque(maxlen=500))


@dataclass
class _Entry:
    ts: int
    seq: int
    packet: VoicePacket
    arrival: float
    samples: int
    copy: bool = False  # filed from a redundant copy in a later packet


@dataclass
class Playout:
    """What to do for the next frame: ``kind`` is "packet", "fec" or "plc"; ``packet`` the
    packet to decode (for "fec": the next packet, whose FEC data rebuilds this frame);
    ``samples`` the frame length; ``stretch`` "accelerate" (play it shorter by a pitch
    period), "expand" (longer) or "" (as it is); ``amount`` for a quiet frame, the samples
    to take out or put in (0: a pitch period, or 10 ms of a quiet frame)."""

    kind: str
    samples: int
    packet: VoicePacket | None = None
    stretch: str = ""
    amount: int = 0


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
        # The last ``window`` offsets and arrived sequence numbers (on time or late), as
        # rings (the order does not matter to the estimates), the sequence numbers also as
        # a set; late ones also in their own ring.
        w = max(1, self.s.window)
        self._offsets = np.zeros(w, dtype=np.float64)
        self._n_offsets = 0
        self._seen = np.zeros(w, dtype=np.int64)
        self._n_seen = 0
        self._seen_set: set[int] = set()
        self._late_seqs: deque[int] = deque(maxlen=w)
        self._outcomes: deque[bool] = deque(maxlen=w)  # per frame played: concealed?
        self._ts_ref: int | None = None
        self._seq_ref: int | None = None
        self._max_seq: int | None = None
        self._transit: float | None = None
        self.jitter = 0.0  # RFC 3550 interarrival jitter, seconds
        self._help: deque[int] = deque(maxlen=w)  # frames back each recent packet can rebuild
        self.playing = False
        self.next_ts = 0
        self._frame = 960
        self._missing = 0
        self._last_played_ts: int | None = None
        self._last_seq: int | None = None
        self._target: float | None = None
        self._target_base = 0.0
        self._spread = 0.0  # the offsets' 90th percentile less their median
        self._fastest = 0.0  # the smallest offset, as of the last target
        self._new_since_target = 0
        self._short_since: float | None = None  # when the hold started to be short
        self._since_stretch = 1 << 30  # frames played since the last loud one was stretched

    # ---------------------------------------------------------------- input

    def push(self, packet: VoicePacket, samples: int, now: float) -> str:
        """Add a packet that arrived at ``now``; ``samples`` is its frame length. Returns
        "ok", "late", "duplicate" or "overflow" (the last three are dropped and counted).
        Redundant copies it carries are filed for frames whose own packets are missing."""
        ts = _unwrap(packet.timestamp, self._ts_ref, 32)
        seq = _unwrap(packet.sequence, self._seq_ref, 16)
        self._ts_ref = max(ts, self._ts_ref) if self._ts_ref is not None else ts
        self._seq_ref = max(seq, self._seq_ref) if self._seq_ref is not None else seq
        w = self._offsets.size
        transit = now - ts / self.s.fs
        self._offsets[self._n_offsets % w] = transit
        self._n_offsets += 1
        self._new_since_target += 1
        if self._transit is not None and seq not in self._seen_set:
            self.jitter += (abs(transit - self._transit) - self.jitter) / 16.0
        self._transit = transit
        if seq in self._seen_set or (ts in self._buf and not self._buf[ts].copy):
            self.stats.duplicate += 1
            return "duplicate"
        self._note_seen(seq)
        if packet.flags & FLAG_RED:
            self._help.append(max(d for d, _ in packet.redundancy))
        else:
            self._help.append(1 if packet.flags & FLAG_FEC else 0)
        stale = self._last_played_ts is not None and ts <= self._last_played_ts
        if (self.playing and ts < self.next_ts) or stale:
            self._target = None  # react to lateness at once
            self.stats.late += 1
            self._late_seqs.append(seq)
            return "late"
        if len(self._buf) >= self.s.max_packets:
            oldest = min(self._buf)
            if ts < oldest:
                self.stats.overflow += 1
                return "overflow"
            del self._buf[oldest]
            self.stats.overflow += 1
        self._buf[ts] = _Entry(ts, seq, packet, now, samples)
        self._max_seq = seq if self._max_seq is None else max(self._max_seq, seq)
        self.stats.received += 1
        for d, copy in packet.redundancy:
            self._file_copy(packet, ts - d * samples, seq - d, copy, now, samples)
        return "ok"

    def _note_seen(self, seq: int) -> None:
        w = self._seen.size
        slot = self._n_seen % w
        if self._n_seen >= w:
            self._seen_set.discard(int(self._seen[slot]))
        self._seen[slot] = seq
        self._seen_set.add(seq)
        self._n_seen += 1

    def _file_copy(self, packet: VoicePacket, ts: int, seq: int, payload: bytes, now: float, samples: int) -> None:
        """File a redundant copy of frame ``ts`` unless its own packet came or it is too late."""
        if ts in self._buf or seq in self._seen_set:
            return
        if (self._last_played_ts is not None and ts <= self._last_played_ts) or (self.playing and ts < self.next_ts):
            return
        if self._max_seq is not None and seq < self._max_seq - self.s.window:
            return
        flags = packet.flags & ~(FLAG_RED | FLAG_START)
        copy = VoicePacket(seq & 0xFFFF, ts & 0xFFFFFFFF, packet.speaker, packet.level, payload, flags)
        self._buf[ts] = _Entry(ts, seq, copy, now, samples, copy=True)

    # ---------------------------------------------------------------- estimates

    def _window(self) -> tuple[int, int] | None:
        if self._max_seq is None or not self._n_seen:
            return None
        seen = self._seen[: min(self._n_seen, self._seen.size)]
        lo = max(self._max_seq - self.s.window + 1, int(seen.min()))
        return lo, self._max_seq

    def loss_fraction(self) -> float:
        """Fraction of the last ``window`` sequence numbers that never arrived (network loss)."""
        win = self._window()
        if win is None:
            return 0.0
        lo, hi = win
        seen = self._seen[: min(self._n_seen, self._seen.size)]
        got = int(np.count_nonzero((seen >= lo) & (seen <= hi)))
        expected = hi - lo + 1
        return max(0.0, 1.0 - got / expected) if expected > 0 else 0.0

    def late_fraction(self) -> float:
        """Fraction of the last ``window`` sequence numbers that arrived too late to play."""
        win = self._window()
        if win is None:
            return 0.0
        lo, hi = win
        return sum(1 for q in self._late_seqs if q >= lo) / max(1, hi - lo + 1)

    def burst_length(self) -> float:
        """Mean length of the runs of missing sequence numbers in the window (1.0 if none)."""
        win = self._window()
        if win is None:
            return 1.0
        lo, hi = win
        seen = self._seen[: min(self._n_seen, self._seen.size)]
        got = np.unique(seen[(seen >= lo) & (seen <= hi)])
        gaps = np.diff(got) - 1
        gaps = gaps[gaps > 0]
        return float(gaps.mean()) if gaps.size else 1.0

    def residual_fraction(self) -> float:
        """Fraction of recently played frames that had to be concealed."""
        return sum(self._outcomes) / len(self._outcomes) if self._outcomes else 0.0

    def hold_frames(self) -> int:
        """Frames held back for FEC data or redundant copies: how far back the stream's
        recent packets (the last ``window``) reach, while it loses more than
        ``fec_loss_threshold``; else none."""
        depth = max(self._help) if self._help else 0
        if not self.s.fec_hold or depth == 0:
            return 0
        return depth if self._lossy(self.s.hold_on_late) else 0

    def _lossy(self, late: bool = True) -> bool:
        """The stream loses (with ``late``: or delays past playout) more than the threshold."""
        return self.loss_fraction() + (self.late_fraction() if late else 0.0) > self.s.fec_loss_threshold

    def target_offset(self) -> float:
        """The playout offset to aim for (seconds, on the receiver clock minus timestamp),
        holding for FEC or copies included.

        Recomputed after every ``RECOMPUTE_EVERY`` packets, and at once after a late one."""
        return self._targets()[1]

    def _targets(self) -> tuple[float, float]:
        """(offset that keeps packets on time, that plus the hold for FEC or copies)."""
        if self._target is None or self._new_since_target >= RECOMPUTE_EVERY:
            self._target_base, self._target = self._compute_target()
            self._new_since_target = 0
        return self._target_base, self._target

    def _compute_target(self) -> tuple[float, float]:
        s = self.s
        if not self._n_offsets:
            return 0.0, 0.0
        arr = self._offsets[: min(self._n_offsets, self._offsets.size)]
        lo = self._fastest = float(arr.min())
        n = arr.size
        # One spike is not the link's jitter: the percentile lets go of what a quarter of a
        # full window would (at least the one highest offset), so a single late start-up
        # packet does not set the delay for the seconds the window takes to fill.
        drop = max(n - math.ceil(s.percentile / 100.0 * n), math.floor((1.0 - s.percentile / 100.0) * max(n, s.window // 4)))
        k = max(0, n - 1 - drop)
        m = n // 2
        q = max(0, min(n - 2, math.ceil(0.9 * n) - 1))
        part = np.partition(arr, (m, q, k))
        self._spread = float(part[q] - part[m])
        tail = float(part[m]) + s.tail_factor * self._spread
        base = max(float(part[k]), tail) + s.margin_ms / 1e3
        held = base + self.hold_frames() * self._frame / s.fs
        lossy = self._lossy()
        floor = max(s.min_delay_ms, s.lossy_min_delay_ms) if lossy else s.min_delay_ms
        bounds = lo + floor / 1e3, lo + s.max_delay_ms / 1e3
        return min(max(base, bounds[0]), bounds[1]), min(max(held, bounds[0]), bounds[1])

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

    def _quiet_step(self, entry: _Entry, play_time: float, lead: float, block: float | None, floor: float) -> int:
        """Samples a quiet frame should lose (> 0) or gain (< 0) so that the next frame starts
        on the first callback at which it is decided at an offset of at least ``floor``
        (bounded by what a quiet frame can lose or gain; 0 when the next frame starts in
        this callback's block). Frames are decided at the callback whose block they start in
        (``lead`` before they play): what a stretch changes is which callback that is, and a
        frame that starts inside a block plays ``lead`` later than it needs to."""
        fs = self.s.fs
        nxt = play_time + entry.samples / fs  # when the next frame starts as things stand
        due = (entry.ts + entry.samples) / fs + floor  # the earliest it may be decided
        if block:
            now = play_time - lead
            if nxt < now + block - 1e-9:
                return 0  # it starts in this block: this callback decides it, whatever this frame loses
            due = now + max(1, math.ceil((due - now) / block - 1e-6)) * block
        most = min(QUIET_STRETCH, entry.samples // 2)
        return max(-most, min(most, int(round((nxt - due) * fs))))

    def pop(self, play_time: float, lead: float = 0.0, block: float | None = None) -> Playout | None:
        """The next frame for a playout starting at ``play_time`` (receiver clock), decided
        ``lead`` seconds before it plays (audio decoded ahead): packets arriving in that
        time come too late for this decision, so the buffer's delay is measured from it.
        ``block``: the callback's length in seconds (the next frame's decision then falls on
        that grid), None when frames are decided as they start."""
        s = self.s
        if not self.playing:
            start = self.start_time()
            if start is None or play_time < start - s.hysteresis_ms / 1e3 - 1e-9:
                return None
            self.playing = True
            self.next_ts = self._start_ts()
            self._frame = self._buf[min(self._buf)].samples
            self._missing = 0
            self.stats.starts += 1
        fs = s.fs
        hyst = s.hysteresis_ms / 1e3
        offset = play_time - lead - self.next_ts / fs
        base, target = self._targets()
        entry = self._buf.pop(self.next_ts, None)
        if entry is not None:
            stretch = ""
            short = offset < target - hyst
            if not short:
                self._short_since = None
            elif self._short_since is None:
                self._short_since = play_time
            waited = self._short_since is not None and play_time - self._short_since >= s.hold_wait_s
            excess = offset - target
            quiet = entry.packet.level >= s.quiet_level
            spaced = quiet or self._since_stretch >= s.loud_stretch_gap
            self._since_stretch += 1
            grow = spaced and (offset < base - hyst or (short and (quiet or waited)))
            # A quiet frame loses or gains what brings the next frame to the callback that
            # decides it just in time (see _quiet_step): it sheds a delay left over from an
            # expansion or a start, and grows no more than the target needs.
            amount = self._quiet_step(entry, play_time, lead, block, target + max(hyst, self._spread)) if quiet else 0
            if amount >= MIN_QUIET_STEP or (not quiet and spaced and excess > 3 * s.accelerate_ms / 1e3):
                stretch = "accelerate"
                self.stats.accelerate += 1
            elif grow and quiet:
                amount = -self._quiet_step(entry, play_time, lead, block, target)
                if amount >= MIN_QUIET_STEP:
                    stretch = "expand"
                    self.stats.expand += 1
            elif grow:
                stretch = "expand"
                self.stats.expand += 1
            if stretch and not quiet:
                self._since_stretch = 0
            self._frame = entry.samples
            self._missing = 0
            self._last_played_ts = entry.ts
            self._last_seq = entry.seq
            self.next_ts += entry.samples
            self.stats.played += 1
            if entry.copy:
                self.stats.recovered += 1
            self._outcomes.append(False)
            self.stats.buffer_ms.append((play_time - entry.arrival) * 1e3)
            self.stats.delay_ms.append((play_time - entry.ts / fs - self._fastest) * 1e3)
            return Playout("packet", entry.samples, entry.packet, stretch, amount if stretch else 0)
        frame = self._frame
        nxt = self._buf.get(self.next_ts + frame)
        if nxt is not None:
            self.stats.fec += 1
            self._outcomes.append(not nxt.packet.flags & FLAG_FEC)
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
        if offset < base - hyst:
            self.stats.waited += 1  # underrun below the target: conceal, wait for the late packet
            return Playout("plc", frame)
        self._outcomes.append(True)
        self._last_played_ts = self.next_ts
        self.next_ts += frame
        return Playout("plc", frame)
