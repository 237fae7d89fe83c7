"""DelegateSession: one delegate in a room through a relay (thin asyncio glue).

Connects with :func:`vrdiplomacy.net.client_io.connect`, then runs three tasks on the event
loop's clock:

* **poses**: ``pose_hz`` times a second, asks the pose source for (head, left hand, right hand)
  in scene coordinates and sends them;
* **audio**: every ``block`` samples (20 ms), reads the microphone device, runs the
  :class:`~vrdiplomacy.voice.sender.VoiceSender` (VAD gate, Opus, FEC) and sends the packets
  with their RFC 6464 level; pulls the spatialized mix of everyone else relative to the
  listener's head (:class:`~vrdiplomacy.session.audio.ListenerMix`) and writes it to the
  output device. Blocks are due on a fixed schedule; a late tick processes every block that is
  due, so an output file always holds as many samples as the session lasted, one block per
  turn of the event loop (a backlog never holds the loop: the frame loop waits on it every frame);
* **receive**: folds every client event into :class:`~vrdiplomacy.session.state.RoomState`
  (members, poses, speaking levels, gestures) and voice payloads into the mix.

Attribution: in a secured room (a :class:`~vrdiplomacy.net.secure.SecureRoom` sealer) voices,
avatars, gestures and floor requests belong to the roster member whose key opened them (the
events' ``member``), never to the relay's client id; each member's end-to-end layer states its
relay client id and seat in a signed :class:`~vrdiplomacy.net.presence.MemberPresence`, and the
head-up card counts relay participants who are not verified members
(:mod:`vrdiplomacy.session.attribution`).

Gestures go out as :class:`~vrdiplomacy.gestures.events.GestureEvent` room events
(:meth:`DelegateSession.send_gesture`); the local backend's InputFrames pass through the gesture
recognizer (:meth:`DelegateSession.push_frame`), whose onsets and offsets are sent the same way.
Received gestures feed the meeting's floor queue and handshakes travel as room events
(:class:`~vrdiplomacy.session.gestures.SessionGestures`, :attr:`DelegateSession.gestures`).

The meeting's procedure (:mod:`vrdiplomacy.meeting`, :attr:`DelegateSession.meeting`): procedure
actions arrive as room events with a relay-visible header (:mod:`vrdiplomacy.meeting.wire`) and
are folded in the relay's order with the relay's stamps, so every client holds the same speakers'
list, floor, timer, mutes, agenda and phase; :meth:`DelegateSession.meeting_view` shows it,
:meth:`DelegateSession.meeting_act` sends our actions (a raised hand asks for the floor by
itself), :meth:`DelegateSession.drain_meeting_notes` hands what happened to the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np

from vrdiplomacy.errors import AudioError, ConfigError, ProtocolError
from vrdiplomacy.gestures.events import GestureEvent
from vrdiplomacy.gestures.recognizer import GestureRecognizer
from vrdiplomacy.gestures.types import Gesture, Hand
from vrdiplomacy.input.frame import InputFrame
from vrdiplomacy.meeting import wire as mw
from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import (
    ClientSettings,
    Connected,
    MemberUpdate,
    RelayNotice,
    RoomEventReceived,
    VoiceReceived,
)
from vrdiplomacy.net.client_io import AppEvent, Client, PayloadSealer
from vrdiplomacy.net.presence import MemberStated
from vrdiplomacy.net.relay_meeting import NOTICE_MEETING_REFUSED
from vrdiplomacy.net.secure import (
    KeysChanged,
    RoomCodeChanged,
    RosterChanged,
    SecureRoom,
    SecurityAlert,
)
from vrdiplomacy.reception.session import ReceptionSettings, SessionReception
from vrdiplomacy.scene.layout import Layout
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.session.audio import ListenerMix, ListenSettings, apply_loss_report
from vrdiplomacy.session.drafting import DraftSettings, SessionDrafting
from vrdiplomacy.session.gestures import (
    ENVELOPE_TAG,
    GestureSettings,
    SessionGestures,
    right_hand_position,
)
from vrdiplomacy.session.meeting import MeetingSession
from vrdiplomacy.session.meeting_client import MeetingClient
from vrdiplomacy.session.rooms import RoomsSettings, SessionRooms
from vrdiplomacy.session.security import SecuritySettings, SecurityStatus
from vrdiplomacy.session.state import RoomState, StateSettings
from vrdiplomacy.session.votes import VoteClient
from vrdiplomacy.voice.devices import FS, InputDevice, OutputDevice
from vrdiplomacy.voice.feedback import LossReport
from vrdiplomacy.voice.hrtf import HrtfSet
from vrdiplomacy.voice.sender import SenderSettings, VoiceSender

log = logging.getLogger("vrdiplomacy.session")

PoseTriple = tuple[Pose, Pose | None, Pose | None]
PoseSource = Callable[[float], PoseTriple]


SECURE_EVENTS = (RoomCodeChanged, RosterChanged, KeysChanged, SecurityAlert, RelayNotice)


@dataclass
class SessionSettings:
    """A delegate's session.

    identity: the delegate's name on the relay; seat: the seat id taken (unique in the room);
    room: the room (the scene name); pose_hz: pose frames sent per second; block: audio samples
    per tick at 48 kHz (960: 20 ms; the jitter buffer decides frames on this grid, so a 10 ms
    tick plays voices up to 10 ms sooner and holds 10 ms less output, see the README's latency
    notes for why it is not the default yet); hear: decode and spatialize others' voices (bots leave it off: they only
    track speaking levels); track_poses: decode others' pose streams (off, members stay at their
    seats and media datagrams are only read for voice levels: the cheap path bots use); sender: the voice sender's settings; listen: the listening path's
    settings; state: the room state's settings; client: the relay client's settings;
    connect_timeout: seconds to wait for the relay's welcome; gestures: recognized gestures,
    handshakes and the floor queue (:class:`~vrdiplomacy.session.gestures.GestureSettings`);
    security: how long the HUD shows a roster change or security alert
    (:class:`~vrdiplomacy.session.security.SecuritySettings`); rooms: the space we start in and
    the interpretation channels (:class:`~vrdiplomacy.session.rooms.RoomsSettings`).
    """

    identity: str
    seat: str
    room: str = "chamber"
    pose_hz: float = 20.0
    block: int = 960
    hear: bool = True
    track_poses: bool = True
    sender: SenderSettings = field(default_factory=SenderSettings)
    listen: ListenSettings = field(default_factory=ListenSettings)
    state: StateSettings = field(default_factory=StateSettings)
    client: ClientSettings = field(default_factory=ClientSettings)
    connect_timeout: float = 5.0
    gestures: GestureSettings = field(default_factory=GestureSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    rooms: RoomsSettings = field(default_factory=RoomsSettings)  # space, interpretation channels (session/rooms.py)
    reception: ReceptionSettings = field(default_factory=ReceptionSettings)  # host or guest (reception/session.py)
    drafting: DraftSettings = field(default_factory=DraftSettings)  # the joint text (session/drafting.py)

    def __post_init__(self) -> None:
        if not 1.0 <= self.pose_hz <= 120.0:
            raise ConfigError(f"pose rate must be 1..120 Hz, got {self.pose_hz:g}")
        if self.block <= 0 or self.block % 480:
            raise ConfigError(f"audio block must be a positive multiple of 480 samples, got {self.block}")


@dataclass
class SessionStats:
    """What the session sent and how its clock kept up: pose frames and voice packets sent,
    audio blocks processed, blocks processed late (``late_blocks``: a tick came more than one
    block after its time), voice frames heard per speaker; loss reports received
    (``loss_reports``: applied to our voice sender, about others, malformed)."""

    poses_sent: int = 0
    voice_sent: int = 0
    voice_bytes: int = 0
    loss_reports: dict[str, int] = field(default_factory=dict)
    blocks: int = 0
    late_blocks: int = 0
    gestures_sent: int = 0


class HeldPose:
    """A pose source that returns what was last set (desktop/XR frames set it every frame)."""

    def __init__(self, head: Pose, left: Pose | None = None, right: Pose | None = None) -> None:
        self.value: PoseTriple = (head, left, right)

    def set(self, head: Pose, left: Pose | None = None, right: Pose | None = None) -> None:
        self.value = (head, left, right)

    def __call__(self, t: float) -> PoseTriple:
        return self.value


class DelegateSession(MeetingClient, VoteClient):
    """``async with DelegateSession(host, port, fp, settings, layout, pose_source, mic, speakers):``

    ``mic`` (an input device, or None for a silent delegate) and ``speakers`` (an output device,
    or None) are blocking-free file devices or sound cards; ``pose_source(t)`` is called with the
    session time in seconds. Everything received lands in :attr:`state`; the listening path in
    :attr:`mix` (None when ``settings.hear`` is False).
    """

    def __init__(
        self,
        host: str,
        port: int,
        fingerprint: str,
        settings: SessionSettings,
        layout: Layout | None,
        pose_source: PoseSource,
        mic: InputDevice | None = None,
        speakers: OutputDevice | None = None,
        sealer: PayloadSealer | None = None,
        hrtf: HrtfSet | None = None,
    ) -> None:
        self.host, self.port, self.fingerprint = host, port, fingerprint
        self.s = settings
        self.layout = layout
        self.pose_source = pose_source
        self.mic = mic
        self.speakers = speakers
        self.sealer = sealer
        secured = isinstance(sealer, SecureRoom)
        self.state = RoomState(layout, settings.state, secured=secured)
        self.security = SecurityStatus(secured=secured, settings=settings.security)
        self.gestures = SessionGestures(GestureRecognizer(), settings.gestures)
        self.rooms = SessionRooms(settings.rooms, secured, layout)
        self.reception = SessionReception(settings.reception)
        self.meeting = MeetingSession({} if secured else None)
        self.drafting = SessionDrafting(sealer.identity.name if isinstance(sealer, SecureRoom) else settings.identity,
                                        self._may_edit_text, settings.drafting)
        self._vote_setup(sealer, settings.client.resume_dir)  # votes (session/votes.py); trustee keys in the state folder
        self._meeting_members: set[int] = set()
        self._wall_t0 = 0.0  # UNIX time at session time 0
        self.mix: ListenerMix | None = None
        if settings.hear:
            listen = settings.listen
            listen.block = settings.block
            self.mix = ListenerMix(layout, listen, hrtf)
        self.stats = SessionStats()
        self.client: Client | None = None
        self.sender: VoiceSender | None = None
        self.head: Pose = Pose()
        self.t0 = 0.0
        self.mic_ended = False
        self.on_tick: Callable[[float], None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gesture_sent_at = -1e9
        self._delegation: str | None = None
        self._text_roles: Any = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        c = Client(self.host, self.port, self.fingerprint, self.s.identity, self.s.seat, self.s.room, self.s.client,
                   self.sealer, self.s.connect_timeout)
        if not self.s.track_poses and not self.s.hear and not self.state.secured:
            # the cheap path reads the relay's routing header; a secured room attributes by key only
            c.core.media_sink = self._levels_only
        self.rooms.attach(c)
        self.reception.attach(c, self.mix)
        await c.start()
        self.client = c
        self.t0 = self._loop.time()
        self._wall_t0 = time.time()
        self.head = self.pose_source(0.0)[0]
        if not self.state.secured:
            self.state.me = c.client_id
            self.gestures.me = c.client_id
            self.meeting.me = c.client_id
        self.state.attribution.connected(c.client_id)
        self.sender = VoiceSender(c.client_id, self.s.sender)
        self._tasks = [asyncio.create_task(self._receive(), name=f"{self.s.identity}-rx"),
                       asyncio.create_task(self._poses(), name=f"{self.s.identity}-poses"),
                       asyncio.create_task(self._audio(), name=f"{self.s.identity}-audio")]
        self.flush_drafting()  # asks the room for the draft (held until the end-to-end layer is ready)

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        if self.client is not None:
            await self.client.close()
        for dev in (self.mic, self.speakers):
            if dev is not None:
                with contextlib.suppress(AudioError, OSError):
                    dev.close()

    def failed(self) -> BaseException | None:
        """The exception a task died of, if any."""
        for t in self._tasks:
            if t.done() and not t.cancelled() and t.exception() is not None:
                return t.exception()
        return None

    async def __aenter__(self) -> DelegateSession:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def now(self) -> float:
        """Session time in seconds (0 at connection)."""
        assert self._loop is not None
        return self._loop.time() - self.t0

    # ------------------------------------------------------------ sending

    def send_gesture(self, gesture: str, phase: str = "start", hand: str = "none", duration: float = 0.0,
                     target: str | None = None) -> int:
        """Tell the room a gesture started or ended; returns the room event's sequence number."""
        assert self.client is not None
        ev = GestureEvent(Gesture.parse(gesture), Hand(hand), phase, self.now, 1.0, target, duration)
        self.stats.gestures_sent += 1
        self.gestures.sent.append(ev)
        self._gesture_sent_at = self.now
        seq = self.client.send_event(bytes(ev), stream="gesture")
        self._gesture_to_procedure(ev)
        return seq

    def push_frame(self, frame: InputFrame) -> list[GestureEvent]:
        """Pass one local InputFrame (scene coordinates) through the gesture recognizer and send
        the onsets and offsets it yields (and handshake offers) at once; returns those events."""
        right = right_hand_position(self.pose_source(self.now)) if self.client is not None else None
        self.rooms.on_keys(frame.keys)  # the desktop's room and listening-channel keys
        out = self.gestures.push_frame(frame, self.now, self.state, right)
        self.flush_gestures()
        for ev in out:
            self._gesture_sent_at = self.now
            self._gesture_to_procedure(ev)
        return out

    def flush_gestures(self) -> None:
        """Send what the gesture glue has queued (gesture events, handshake messages)."""
        if self.client is None:
            return
        for stream, payload in self.gestures.data_to_send():
            if payload[0] != ENVELOPE_TAG:
                self.stats.gestures_sent += 1
            self.client.send_event(payload, stream=stream)

    # ------------------------------------------------------------ tasks

    async def _receive(self) -> None:
        assert self.client is not None
        async for ev in self.client:
            self._handle(ev)

    def _levels_only(self, kind: int, source: int, inner: bytes) -> None:
        """Media sink of a delegate that neither hears nor tracks poses: voice levels only."""
        if kind != wire.DG_VOICE or self._loop is None:
            return
        try:
            v = wire.VoiceFrame.parse(inner)
        except ProtocolError:
            return
        self.state.voice(source, v.level, self._loop.time() - self.t0)

    def _pump(self) -> None:
        """Handle every event the client has queued (before an audio tick: a tick that comes late
        must see the voice frames that arrived meanwhile, or it plays past them)."""
        assert self.client is not None
        for ev in self.client.drain_events():
            self._handle(ev)

    def _handle(self, ev: AppEvent) -> None:
        assert self._loop is not None
        now = self._loop.time() - self.t0
        st = self.state
        if self.reception.receive(ev):  # where we are at a reception, the greeting line
            return
        if self.rooms.drops(ev):  # places, and media or side-room events from another space
            return
        if isinstance(ev, MemberStated):
            st.apply(ev, now)
            self._after_state(now)
            return
        if isinstance(ev, RelayNotice) and ev.code == NOTICE_MEETING_REFUSED:
            self.meeting.refused(ev.message)
            log.info("%s: the relay refused a procedure action: %s", self.s.identity, ev.message)
            return
        if isinstance(ev, SECURE_EVENTS):
            self.security.apply(ev, now)
            if isinstance(ev, RosterChanged):
                st.apply(ev, now)
                self.gestures.me = st.me
                if self.meeting.roles is not None:
                    self.meeting.roles.clear()
                    self.meeting.roles.update({i: info.role for i, info in ev.info.items()})
                self.meeting.me = st.me
                self._after_state(now)
                self._meeting_presence(now)
            return
        st.apply(ev, now)
        if isinstance(ev, (MemberUpdate, Connected)) and not st.secured:
            self._meeting_presence(now)
        if isinstance(ev, VoiceReceived):
            key = st.key_of(ev)
            if self.mix is not None and key is not None:
                self.mix.receive(key, ev.payload, now, verified=st.secured)
        elif isinstance(ev, RoomEventReceived):
            key = st.key_of(ev)
            if self._vote_event(ev):
                pass
            elif key is not None and mw.looks_like(ev.payload):
                if not st.secured or ev.stream == mw.STREAM:
                    self.meeting.receive(key, ev.room_seq, ev.payload, self.local_ms(now))
                    self.flush_meeting()
                else:
                    self.meeting.counters["wrong_stream"] += 1
            elif key is not None and LossReport.looks_like(ev.payload):
                if self.sender is not None:
                    what = apply_loss_report(self.sender, st.me, key, ev.payload, now)
                    self.stats.loss_reports[what] = self.stats.loss_reports.get(what, 0) + 1
            elif key is not None and self.drafting.receive(ev.payload, self._text_author(ev, key), now, ev.stream):
                self.flush_drafting()
            elif key is not None:
                self.gestures.receive(ev, now, sender=key)
                self.flush_gestures()
        elif isinstance(ev, Connected):
            self.drafting.connected(ev.resumed)
            self.flush_drafting()
            if not st.secured:
                self.gestures.me = ev.client_id
                self.meeting.me = ev.client_id
            if self.sender is not None and ev.client_id != self.sender.speaker:
                # the relay lost our session and gave us a new id: our voice must carry it
                self.sender = VoiceSender(ev.client_id, self.s.sender)
        self._after_state(now)

    # ------------------------------------------------------------ the joint text (session/drafting.py)

    def flush_drafting(self) -> None:
        """Send the joint text's queued updates (room events) and our caret (ephemeral)."""
        self.drafting.flush(self.client)

    def _text_author(self, ev: RoomEventReceived, key: int) -> str:
        """Who a text update is from: the verified member in a secured room, else the claimed name."""
        if self.state.secured:
            return ev.verified_sender
        m = self.state.members.get(key)
        return self.s.identity if key == self.state.me else (m.identity if m is not None else f"#{key}")

    def _may_edit_text(self, name: str) -> bool:
        """Editors: the room roles chair, host, head, delegate, advisor (the signed roster's in a
        secured room; not observers or interpreters)."""
        from vrdiplomacy.text.edits import EDITOR_ROLES, RosterRoles

        st = self.state
        if isinstance(self.sealer, SecureRoom):
            if self._text_roles is None:
                self._text_roles = RosterRoles(self.sealer)
            return self._text_roles.role(name) in EDITOR_ROLES
        if name == self.s.identity:
            return self.meeting.role(st.me) in EDITOR_ROLES
        key = next((k for k, m in st.members.items() if m.identity == name), None)
        return key is not None and self.meeting.role(key) in EDITOR_ROLES

    def _after_state(self, now: float) -> None:
        """Hand what the room state learnt to the meeting layer and the card."""
        st = self.state
        if st.departed:
            for key in st.departed:
                self.gestures.member_left(key, now)
            st.departed.clear()
            self.flush_gestures()
        if st.secured:
            while (text := st.attribution.next_alert()) is not None:
                self.security.apply(SecurityAlert(text), now)
            self.security.set_unverified([p.identity for p in st.unverified()], now)

    async def _poses(self) -> None:
        assert self.client is not None
        period = 1.0 / self.s.pose_hz
        k = 0
        while True:
            k += 1
            delay = self.t0 + k * period - self._loop.time()  # type: ignore[union-attr]
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                k = int((self._loop.time() - self.t0) / period) + 1  # type: ignore[union-attr]
                await asyncio.sleep(0)
            head, left, right = self.pose_source(self.now)
            self.head = head
            self.gestures.tick(self.now, right_hand_position((head, left, right)), self.state)
            self.flush_gestures()
            self._vote_tick()
            if self.client.send_pose(head, left, right):
                self.stats.poses_sent += 1

    async def _audio(self) -> None:
        assert self.client is not None and self._loop is not None
        n = self.s.block
        period = n / FS
        loop = self._loop
        done = 0
        zeros = np.zeros(n, dtype=np.float32)
        while True:
            due = int((loop.time() - self.t0) / period)
            if due <= done:
                await asyncio.sleep(self.t0 + (done + 1) * period - loop.time())
                continue
            if due - done > 1:
                self.stats.late_blocks += due - done - 1
            self._pump()
            while done < due:
                done += 1
                self._block(done * period, zeros)
                # one block per turn of the loop: a late tick's backlog (seconds of blocks on a
                # busy machine, and it grows while it is worked off) must not hold the loop, and
                # with it everything else the session does (the frame loop's call each frame,
                # handshake and gesture messages, the meeting socket), for as long
                await asyncio.sleep(0)

    def _block(self, t: float, zeros: np.ndarray) -> None:
        """Process the audio block that ends at session time ``t``."""
        assert self.client is not None and self.sender is not None
        n = self.s.block
        mic = None
        if self.mic is not None and not self.mic_ended:
            mic = self.mic.read(n)
            if mic is None:
                self.mic_ended = True
        for pkt in self.sender.capture(zeros if mic is None else mic):
            data = bytes(pkt)
            if self.client.send_voice(wire.level_byte(-float(pkt.level), pkt.voice), data):
                self.stats.voice_sent += 1
                self.stats.voice_bytes += len(data)
        self.rooms.tick(self.mix, self.state)
        self.reception.tick(t)
        if self.mix is not None:
            block = self.mix.render(t, self.head, self.state.positions())
            if self.speakers is not None:
                self.speakers.write(block)
            self.sender.playback(block)
            report = self.mix.loss_report(t)
            if report is not None:  # a room event: sealed and signed per member in a secured room
                self.client.send_event(bytes(report), stream="room")
        self.sender.tick(t)
        self.stats.blocks += 1
        if self.on_tick is not None:
            self.on_tick(t)

