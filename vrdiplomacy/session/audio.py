"""What a delegate hears (sans-I/O): voice frames in, one spatialized stereo block per tick out.

:class:`ListenerMix` files each received voice packet in a
:class:`~vrdiplomacy.voice.receiver.VoiceReceiver` (jitter buffer, Opus decoding, FEC, PLC),
and per block pulls every playing speaker, places each voice at that delegate's head position
relative to the listener's head (:class:`~vrdiplomacy.voice.spatial.Spatializer`, KEMAR HRTFs,
distance and zone gains) and mixes the result through the limiter
(:class:`~vrdiplomacy.voice.mixer.Mixer`). The clock is passed in.

Rostrum and interpretation (:class:`MixPlan`, set by the session every block): the floor holder
is heard by every listener at rostrum level, from the rostrum's direction at ``near_m`` (a
fixed level whatever the distance), everyone else spatially. An interpreter's voice plays only
for a listener on its channel, from straight ahead at ``near_m``; while an interpreter is on
that channel every other voice, the floor included, is ducked by ``duck_db`` (default -18 dB,
ramped over a block); a channel nobody interprets into leaves the floor at full level. Voices of interpreters on other channels are
dropped and counted (``other_channel``).

Loss feedback: :meth:`ListenerMix.loss_report` answers, now and then, the
:class:`~vrdiplomacy.voice.feedback.LossReport` this listener's jitter buffers measured (the
session sends it as a room event: sealed and signed per member in a secured room), and
:func:`apply_loss_report` hands a received one to the local speaker's sender, which follows
the worst-served listener (Opus loss hint, redundant copies of earlier frames).

Who speaks: in a room without end-to-end encryption a packet's speaker id must be the
relay-stamped sender: packets claiming another speaker are dropped and counted (``spoofed``). In a
secured room the caller passes the verified member (the roster index whose key opened the frame)
with ``verified=True``: the packet is filed under that member whatever speaker id it carries, so
neither the relay nor the sender's own header can move a voice to someone else's position.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.scene.layout import Layout
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.voice.feedback import LossReport, ReportScheduler, ReportSettings
from vrdiplomacy.voice.hrtf import HrtfSet
from vrdiplomacy.voice.mixer import Mixer, MixerSettings
from vrdiplomacy.voice.packet import VoicePacket
from vrdiplomacy.voice.receiver import ReceiverSettings, VoiceReceiver
from vrdiplomacy.voice.sender import VoiceSender
from vrdiplomacy.voice.spatial import SpatialSettings, Spatializer

F32 = npt.NDArray[np.float32]


@dataclass
class MixPlan:
    """Who is heard how (keys as the mix's speakers): ``floor`` the floor holder (heard from
    ``rostrum``, a world position, or straight ahead when None, at rostrum level); ``channels``
    interpreter -> language channel; ``listen`` our channel ("" the floor); ``duck_db`` the floor
    under our channel while an interpreter is on it; ``near_m`` the distance the floor holder and interpreters are heard from;
    ``muted`` speakers not played at all (members of another space: what their jitter buffers
    still hold when we or they move is dropped, counted in ``other_space``)."""

    floor: int | None = None
    rostrum: tuple[float, float, float] | None = None
    channels: dict[int, str] = field(default_factory=dict)
    listen: str = ""
    duck_db: float = -18.0
    near_m: float = 1.0
    muted: frozenset[int] = frozenset()


@dataclass
class ListenSettings:
    """Listening settings: ``block`` samples per tick (960 = 20 ms at 48 kHz); ``receiver``
    jitter-buffer settings; ``spatial`` spatializer settings (its block is set to ``block``);
    ``mixer`` master gain and limiter; ``reports`` when loss reports go out."""

    block: int = 960
    receiver: ReceiverSettings = field(default_factory=ReceiverSettings)
    spatial: SpatialSettings = field(default_factory=SpatialSettings)
    mixer: MixerSettings = field(default_factory=MixerSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)


@dataclass
class ListenCounters:
    """Voice packets filed (``packets``), refused (``spoofed``: speaker id is not the sender;
    ``malformed``; ``late`` and other jitter-buffer refusals in ``refused``), blocks rendered,
    and voices that played without a known position (``unplaced``, heard from straight ahead);
    loss reports sent (``reports_sent``); blocks of interpreters on a channel we do not listen
    to, dropped (``other_channel``); blocks of members of another space, dropped (``other_space``)."""

    packets: int = 0
    spoofed: int = 0
    malformed: int = 0
    refused: int = 0
    blocks: int = 0
    unplaced: int = 0
    reports_sent: int = 0
    other_channel: int = 0
    other_space: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class ListenerMix:
    """One listener's voice path from packets to the stereo output block."""

    def __init__(self, layout: Layout | None = None, settings: ListenSettings | None = None,
                 hrtf: HrtfSet | None = None) -> None:
        self.s = s = settings or ListenSettings()
        self.receiver = VoiceReceiver(s.receiver)
        sp = SpatialSettings(block=s.block, min_distance=s.spatial.min_distance, max_distance=s.spatial.max_distance,
                             crossfade=s.spatial.crossfade, gain=s.spatial.gain)
        self.spatializer = Spatializer(hrtf, sp, layout)
        self.mixer = Mixer(s.mixer)
        self.counters = ListenCounters()
        self.heard_energy: dict[int, float] = {}  # speaker -> sum of squares of the decoded voice played
        self.heard_blocks: dict[int, int] = {}  # speaker -> blocks in which the voice was audible
        self.scheduler = ReportScheduler(s.reports)
        # Called with (speaker, now, mono block) for every voice played: a measurement tap.
        self.on_voice: Callable[[int, float, F32], None] | None = None
        # Local sources (exhibit narrations, vrdiplomacy.reception.exhibits): called with the
        # listener's position and the block size, returns {key: (position, mono block)}.
        self.local_sources: Callable[[npt.ArrayLike, int], dict[int, tuple[npt.ArrayLike, F32]]] | None = None
        self.plan = MixPlan()
        self._duck = 1.0  # gain on the floor at the end of the last block

    def receive(self, source: int, payload: bytes, now: float, verified: bool = False) -> str:
        """File a voice payload (a :class:`VoicePacket`) of ``source``: the relay's client id, or
        with ``verified`` the member whose key opened it (see the module docstring)."""
        try:
            pkt = VoicePacket.parse(payload)
        except ProtocolError:
            self.counters.malformed += 1
            return "malformed"
        if verified:
            if pkt.speaker != source:
                payload = bytes(replace(pkt, speaker=source))
        elif pkt.speaker != source:
            self.counters.spoofed += 1
            return "spoofed"
        result = self.receiver.receive(payload, now)
        if result == "ok":
            self.counters.packets += 1
        else:
            self.counters.refused += 1
        return result

    def render(self, now: float, listener: Pose, positions: Mapping[int, npt.ArrayLike]) -> F32:
        """The stereo block (block, 2) that starts playing at ``now``."""
        n = self.s.block
        voices = self.receiver.pull(now, n)
        sources: dict[int, tuple[npt.ArrayLike, F32]] = {}
        lp = np.asarray(listener.position, np.float32)
        ahead = lp + np.asarray(listener.forward(), np.float32)
        plan = self.plan
        near = ahead if plan.near_m == 1.0 else lp + plan.near_m * np.asarray(listener.forward(), np.float32)
        duck = self._duck_ramp(n)
        for spk, mono in voices.items():
            if spk in plan.muted:
                self.counters.other_space += 1
                continue
            channel = plan.channels.get(spk)
            if channel is not None and channel != plan.listen:
                self.counters.other_channel += 1
                continue
            if self.on_voice is not None:
                self.on_voice(spk, now, mono)
            if channel is not None:
                pos: npt.ArrayLike = near  # the interpreter, in our ears at a fixed level
            elif spk == plan.floor:
                pos = self._rostrum(lp, near, plan)
            else:
                got = positions.get(spk)
                if got is None:
                    self.counters.unplaced += 1
                    got = ahead
                pos = got
            if channel is None and duck is not None:
                mono = (mono * duck).astype(np.float32)
            sources[spk] = (pos, mono)
            e = float(np.dot(mono.astype(np.float64), mono.astype(np.float64)))
            self.heard_energy[spk] = self.heard_energy.get(spk, 0.0) + e
            if e > n * 1e-6:  # louder than -60 dBFS RMS
                self.heard_blocks[spk] = self.heard_blocks.get(spk, 0) + 1
        if self.local_sources is not None:
            sources.update(self.local_sources(lp, n))
        stereo = self.spatializer.render(listener, sources)
        self.counters.blocks += 1
        return self.mixer.mix([stereo], n)

    @staticmethod
    def _rostrum(lp: F32, near: F32, plan: MixPlan) -> F32:
        """Where the floor holder is heard from: ``near_m`` towards the rostrum (ahead without one)."""
        if plan.rostrum is None:
            return near
        d = np.asarray(plan.rostrum, np.float32) - lp
        dist = float(np.linalg.norm(d))
        return near if dist < 1e-3 else (lp + d * (plan.near_m / dist)).astype(np.float32)

    def _duck_ramp(self, n: int) -> F32 | None:
        """The per-sample gain on the floor (every voice but our channel's) this block: ``duck_db``
        while an interpreter is on our channel, else none; ramped over a block when it changes
        (None: unducked, no change)."""
        plan = self.plan
        on = bool(plan.listen) and plan.listen in plan.channels.values()
        target = 10.0 ** (plan.duck_db / 20.0) if on else 1.0
        start, self._duck = self._duck, target
        if start == target == 1.0:
            return None
        if start == target:
            return np.full(n, target, np.float32)
        return np.linspace(start, target, n, dtype=np.float32)

    def loss_report(self, now: float) -> LossReport | None:
        """The loss report to send at ``now`` (None most of the time; never in a loss-free room)."""
        if not self.scheduler.ready(now):
            return None
        rep = self.scheduler.due(now, self.receiver.reports(self.s.reports.min_packets))
        if rep is not None:
            self.counters.reports_sent += 1
        return rep


def apply_loss_report(sender: VoiceSender, me: int | None, reporter: int, payload: bytes, now: float) -> str:
    """Hand the entry about ``me`` (our key in the room state) of a loss report that
    ``reporter`` sent to our ``sender``. Returns "applied", "other" (nothing about us) or
    "malformed" (dropped)."""
    try:
        rep = LossReport.parse(payload)
    except ProtocolError:
        return "malformed"
    if me is None or reporter == me:
        return "other"
    for e in rep.entries:
        if e.speaker == me:
            sender.on_report(replace(e, speaker=sender.speaker), reporter, now)
            return "applied"
    return "other"
