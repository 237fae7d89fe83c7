"""Loss feedback between listeners and a speaker's encoder (sans-I/O; the clock is passed in).

Every listener measures each speaker's stream in its jitter buffer (packets lost on the
network, packets that came too late to play, the mean length of loss runs, the arrival
jitter) and now and then tells the room in a :class:`LossReport`. A speaker's
:class:`LossAdapter` keeps the latest report of every listener about it and plans its
encoder for the worst-served one (:class:`Plan`): the Opus expected-loss hint (which makes
libopus write in-band FEC for the previous frame), its bitrate, and redundant copies of the previous
frames in each packet (RFC 2198 style, see :mod:`vrdiplomacy.voice.packet`), so a frame
whose own packet was lost is still decoded exactly from a later packet. Listeners' jitter
buffers hold back only as many frames as the copies the stream carries reach, and only
while that stream loses packets.

Reports travel as room events in the session (sealed and signed per member in a secured
room, so the relay can neither read nor forge them). :class:`ReportScheduler` keeps them
rare: a report goes out when a measurement changed enough to change a plan, and is
repeated every ``refresh_s`` while there is anything to report, so a speaker can forget
a listener whose reports stop (``expire_s``). A loss-free room sends none.

LossReport (room event payload; integers big-endian)::

    0   u8   tag 0x4C ('L')
    1   u8   version 1
    2   u8   entry count n (1..64)
    then n entries of 12 bytes:
    0   u32  speaker key (relay client id; in a secured room the roster member index)
    4   u8   network loss over the window, /256
    5   u8   late arrivals (too late to play), /256
    6   u8   residual: frames concealed after FEC and copies, /256
    7   u8   mean loss-run length, tenths of a packet (10 = single losses)
    8   u16  arrival jitter, tenths of a millisecond (RFC 3550 interarrival jitter)
    10  u16  playout delay (median time packets waited), milliseconds
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from vrdiplomacy.errors import ConfigError, ProtocolError

REPORT_TAG = 0x4C
REPORT_VERSION = 1
MAX_ENTRIES = 64
CHECK_EVERY_S = 0.25  # how often a listener looks at its measurements
_HEAD = struct.Struct(">BBB")
_ENTRY = struct.Struct(">IBBBBHH")


def _q256(x: float) -> int:
    return min(255, max(0, int(round(x * 256))))


@dataclass(frozen=True)
class StreamReport:
    """One listener's measurement of one speaker's stream (fractions 0..1, times in ms)."""

    speaker: int
    loss: float = 0.0
    late: float = 0.0
    residual: float = 0.0
    burst: float = 1.0
    jitter_ms: float = 0.0
    delay_ms: float = 0.0

    def quantized(self) -> StreamReport:
        """This report as it reads after a trip through the wire format."""
        return StreamReport.unpack(self.pack())

    def pack(self) -> bytes:
        if not 0 <= self.speaker <= 0xFFFFFFFF:
            raise ProtocolError("report speaker key out of range")
        return _ENTRY.pack(self.speaker, _q256(self.loss), _q256(self.late), _q256(self.residual),
                           min(255, max(10, int(round(self.burst * 10)))),
                           min(0xFFFF, max(0, int(round(self.jitter_ms * 10)))),
                           min(0xFFFF, max(0, int(round(self.delay_ms)))))

    @classmethod
    def unpack(cls, data: bytes, offset: int = 0) -> StreamReport:
        if not 0 <= offset <= len(data) - _ENTRY.size:
            raise ProtocolError(f"stream report at offset {offset} needs {_ENTRY.size} bytes, "
                                f"{max(0, len(data) - offset)} left")
        spk, loss, late, res, burst, jit, delay = _ENTRY.unpack_from(data, offset)
        return cls(spk, loss / 256, late / 256, res / 256, max(burst, 10) / 10, jit / 10, float(delay))

    @property
    def unplayable(self) -> float:
        """Fraction of packets that never arrived: what redundant copies must cover (late
        packets are the jitter buffer's business: its delay follows the arrival spread, and
        when a stall delays a run of packets, their copies come just as late)."""
        return self.loss


@dataclass(frozen=True)
class LossReport:
    """A listener's reports on the streams it hears (see the module docstring)."""

    entries: tuple[StreamReport, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.entries) <= MAX_ENTRIES:
            raise ProtocolError(f"a loss report holds 1..{MAX_ENTRIES} entries, not {len(self.entries)}")

    @staticmethod
    def looks_like(data: bytes) -> bool:
        return bytes(data[:2]) == bytes((REPORT_TAG, REPORT_VERSION))

    @classmethod
    def parse(cls, data: bytes) -> LossReport:
        if len(data) < _HEAD.size:
            raise ProtocolError("loss report too short")
        tag, version, n = _HEAD.unpack_from(data)
        if tag != REPORT_TAG or version != REPORT_VERSION:
            raise ProtocolError(f"not a loss report (tag 0x{tag:02x} version {version})")
        if len(data) != _HEAD.size + n * _ENTRY.size:
            raise ProtocolError(f"loss report of {n} entries must be {_HEAD.size + n * _ENTRY.size} bytes, "
                                f"got {len(data)}")
        return cls(tuple(StreamReport.unpack(data, _HEAD.size + i * _ENTRY.size) for i in range(n)))

    def __bytes__(self) -> bytes:
        return _HEAD.pack(REPORT_TAG, REPORT_VERSION, len(self.entries)) + b"".join(e.pack() for e in self.entries)


@dataclass(frozen=True)
class Plan:
    """What the speaker's encoder does: ``expected_loss`` the Opus loss hint (0..1: in-band
    FEC strength); ``copies`` distances (frames back) of the redundant copies each packet
    carries, () for none; ``bitrate_scale`` of the configured Opus bitrate (below 1 when
    many copies multiply what the stream costs)."""

    expected_loss: float = 0.0
    copies: tuple[int, ...] = ()
    bitrate_scale: float = 1.0


@dataclass
class AdaptSettings:
    """How a speaker follows its listeners' reports.

    ``expire_s``: a listener's report counts this long (listeners repeat theirs every
    :attr:`ReportSettings.refresh_s` while they have loss to report); ``red_from``: the
    network loss from which each packet carries a copy of the
    previous frame; ``red2_from``: from which it carries two (distances 1 and 2);
    ``red3_from``: from which three (1, 2, 3); ``burst_red3``: mean loss-run length from
    which three copies are carried whatever the loss (bursts defeat short distances);
    ``max_expected_loss``: cap of the Opus loss hint; ``hint_with_copies``: the loss hint
    while copies protect the stream (in-band FEC costs the primary bits, and copies
    already cover single losses); ``step_down``: fewer copies only once the loss fell below
    this share of the threshold that called for the current ones (each change of depth
    makes listeners' buffers re-time the speech, so a loss that hovers at a threshold
    must not toggle it); ``deep_bitrate_scale``: the Opus bitrate, as a share of the
    configured one, while three copies are carried (keeps a stream of four copies of each
    frame near three times the plain rate).
    """

    expire_s: float = 12.0
    red_from: float = 0.01
    red2_from: float = 0.04
    red3_from: float = 0.12
    burst_red3: float = 2.0
    max_expected_loss: float = 0.25
    hint_with_copies: float = 0.0
    step_down: float = 0.6
    deep_bitrate_scale: float = 0.75

    def validate(self) -> None:
        if not 0.0 <= self.red_from <= self.red2_from <= self.red3_from <= 1.0:
            raise ConfigError("redundancy thresholds must satisfy 0 <= red_from <= red2_from <= red3_from <= 1")
        if self.expire_s <= 0 or self.burst_red3 < 1.0:
            raise ConfigError("expire_s must be positive and burst_red3 at least 1")
        if not 0.2 <= self.deep_bitrate_scale <= 1.0:
            raise ConfigError("deep_bitrate_scale must be within 0.2..1")


class LossAdapter:
    """A speaker's view of its listeners: the latest report of each, and the plan they call for."""

    def __init__(self, settings: AdaptSettings | None = None) -> None:
        self.s = s = settings or AdaptSettings()
        s.validate()
        self._reports: dict[int, tuple[float, StreamReport]] = {}
        self._depth = 0  # copies in the current plan
        self.reports_used = 0

    def on_report(self, reporter: int, report: StreamReport, now: float) -> None:
        """Keep ``reporter``'s latest measurement of this speaker's stream."""
        self._reports[reporter] = (now, report)
        self.reports_used += 1

    def forget(self, reporter: int) -> None:
        self._reports.pop(reporter, None)

    def worst(self, now: float) -> StreamReport | None:
        """The fresh report with the most unplayable packets (None when none is fresh)."""
        for k in [k for k, (t, _) in self._reports.items() if now - t > self.s.expire_s]:
            del self._reports[k]
        if not self._reports:
            return None
        return max((r for _, r in self._reports.values()), key=lambda r: (r.unplayable, r.burst))

    def plan(self, now: float) -> Plan:
        """The plan that serves every listener: the deepest copies any of them needs."""
        if self.worst(now) is None:
            self._depth = 0
            return Plan()
        plans = [self._plan_for(r) for _, r in self._reports.values()]
        plan = max(plans, key=lambda p: (len(p.copies), p.copies, p.expected_loss))
        self._depth = len(plan.copies)
        return plan

    def _depth_for(self, w: StreamReport, scale: float) -> int:
        s = self.s
        u = w.unplayable
        bursty = w.burst >= 1.0 + (s.burst_red3 - 1.0) * scale
        if u >= s.red3_from * scale or (bursty and u >= s.red_from * scale):
            return 3
        if u >= s.red2_from * scale:
            return 2
        return 1 if u >= s.red_from * scale else 0

    def _plan_for(self, w: StreamReport) -> Plan:
        s = self.s
        depth = self._depth_for(w, 1.0)
        if depth < self._depth:  # step down only when clearly below the current depth's threshold
            depth = max(depth, min(self._depth, self._depth_for(w, s.step_down)))
        copies = tuple(range(1, depth + 1))
        u = w.unplayable
        hint = min(u, s.max_expected_loss) if not copies else min(s.hint_with_copies, s.max_expected_loss)
        return Plan(hint, copies, s.deep_bitrate_scale if depth >= 3 else 1.0)


@dataclass
class ReportSettings:
    """When a listener reports: ``min_interval_s`` between reports at most once;
    ``refresh_s`` repeat while any stream has loss, late packets or concealment to report
    (a speaker forgets reports after :attr:`AdaptSettings.expire_s`); ``change`` a change of
    the unplayable fraction that triggers a report before the refresh is due; ``min_packets``
    packets of a stream before it is reported on."""

    min_interval_s: float = 1.0
    refresh_s: float = 4.0
    change: float = 0.01
    min_packets: int = 25


@dataclass
class ReportScheduler:
    """Decides when a listener's measurements are worth a :class:`LossReport`."""

    settings: ReportSettings = field(default_factory=ReportSettings)
    _last_sent: dict[int, StreamReport] = field(default_factory=dict)
    _last_time: float = -1e9
    _last_check: float = -1e9
    sent: int = 0

    def ready(self, now: float) -> bool:
        """Whether measurements are worth gathering at ``now`` (a few times a second at most,
        never within ``min_interval_s`` of the last report)."""
        if now - self._last_time < self.settings.min_interval_s or now - self._last_check < CHECK_EVERY_S:
            return False
        self._last_check = now
        return True

    def due(self, now: float, measured: list[StreamReport]) -> LossReport | None:
        """The report to send at ``now`` given the current measurements, or None."""
        s = self.settings
        if now - self._last_time < s.min_interval_s or not measured:
            return None
        changed = False
        anything = False
        for m in measured:
            q = m.quantized()
            prev = self._last_sent.get(m.speaker)
            base = prev.unplayable if prev is not None else 0.0
            if abs(q.unplayable - base) >= s.change or (prev is not None and abs(q.burst - prev.burst) >= 0.5):
                changed = True
            if q.unplayable > 0 or q.residual > 0:
                anything = True
        refresh = anything and now - self._last_time >= s.refresh_s
        if not (changed or refresh):
            return None
        entries = tuple(measured[:MAX_ENTRIES])
        self._last_sent = {m.speaker: m.quantized() for m in entries}
        self._last_time = now
        self.sent += 1
        return LossReport(entries)
