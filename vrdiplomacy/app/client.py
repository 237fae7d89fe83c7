"""LiveClient: the frame callback every client mode shares (join, demo window, qa run).

Per frame, on the frame loop's thread: the InputFrame is placed in the scene (the play space's
origin at the user's seat), the user's head and hands go to the pose stream
(:class:`~vrdiplomacy.session.runtime.HeldPose`), and one call into the session's thread

* passes the frame to the session's gesture recognizer
  (:meth:`~vrdiplomacy.session.runtime.DelegateSession.push_frame`): recognized gestures go to
  the room as they start and end; a recognized handshake offers a hand to the delegate it is
  aimed at, or accepts their offer (the handshake consent flow of
  :mod:`vrdiplomacy.gestures.handshake`: it completes only when both have offered, and both right
  hands meet);
* the chair's desktop keys (G grant the floor to the next on the list, R revoke it, M mute or
  unmute the speaker) send procedure actions (:meth:`~vrdiplomacy.session.runtime.DelegateSession.chair_key`);
  the outcome, or why the user's role may not, is one line on the card and the log;
* desktop gesture keys (1-0, H) take the same path: a key press holds the gesture's key in the
  frames the recognizer sees for ``key_hold`` seconds (it starts the gesture, whose end goes out
  when the hold ends); H offers a handshake to the delegate one faces, or the nearest within
  reach, through the same consent flow;
* reads back the others' avatars (with their gesture icons), the head-up card's lines (the
  link to the relay while it is down or just back, room security, handshake offers) and the
  meeting (:meth:`~vrdiplomacy.session.runtime.DelegateSession.meeting_view`): set on the scene as
  a :class:`~vrdiplomacy.scene.hud.MeetingOverlay`, it drives the chamber's live screens and the
  interface panels that follow the head (participants; mic, push-to-talk, place on the list,
  "✓ Raise hand sent", notices, the chair's keys); the renderer redraws each only when it changes.

The link to the relay (:class:`~vrdiplomacy.session.link.LinkStatus`) is told both on the card
("Reconnecting…", "Reconnected after 10.2 s", "Connection lost: heartbeat timeout") and on the
command line, one line per change ("reconnecting… (heartbeat timeout: …)", "reconnected after
10.2 s", "connection lost: relay closed the connection (…)").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vrdiplomacy.gestures.handshake import State
from vrdiplomacy.input.frame import HandFrame, HandJoints, InputFrame
from vrdiplomacy.scene.avatars import hand_pose_from_frame
from vrdiplomacy.scene.hud import MeetingOverlay, place_hud
from vrdiplomacy.scene.math3d import Pose, quat_mul, quat_rotate
from vrdiplomacy.scene.model import Scene

log = logging.getLogger("vrdiplomacy.app")
VOTE_KEYS = frozenset({"chair_vote", "vote_yes", "vote_no", "vote_abstain"})
"""Desktop keys of the votes (V: the chair opens or closes a recorded vote; F1/F2/F3: yes, no, abstain)."""
CHAIR_KEYS = frozenset({"chair_grant", "chair_revoke", "chair_mute", "chair_time", "chair_next_item"}) | VOTE_KEYS
"""Desktop keys that are the chair's procedure actions (G, R, M) or votes, not gestures."""

@dataclass
class ClientOptions:
    """How the live client behaves.

    key_hold: seconds a gesture made with a desktop key lasts; recognize: pass the frames to the
    gesture recognizer (off: only keys make gestures); hud: show the head-up card (room
    security, handshake offers) below the view; log_hud: log the card's lines when they change;
    news_s: seconds a handshake message stays on the card; mapping: the controller mapping
    (:class:`~vrdiplomacy.gestures.mapping.ControllerMapping`, from the user's config) the
    recognizer synthesizes controller hands with (None: the default).
    """

    key_hold: float = 2.5
    recognize: bool = True
    hud: bool = True
    log_hud: bool = True
    news_s: float = 6.0
    mapping: Any = None
    panels: bool = True


def place_pose(origin: Pose | None, pose: Pose) -> Pose:
    """A play-space pose in scene coordinates (the play space's origin at ``origin``)."""
    if origin is None:
        return pose
    return Pose((origin.position + quat_rotate(origin.orientation, pose.position)).astype(np.float32),
                quat_mul(origin.orientation, pose.orientation))


def _place_joints(origin: Pose, j: HandJoints) -> HandJoints:
    pos = origin.position[None, :] + np.stack([quat_rotate(origin.orientation, p) for p in j.positions])
    ori = np.stack([quat_mul(origin.orientation, q) for q in j.orientations])
    return HandJoints(pos.astype(np.float32), ori.astype(np.float32), j.radii, j.valid)


def _place_hand(origin: Pose, h: HandFrame) -> HandFrame:
    c = h.controller
    placed = replace(c, aim=None if c.aim is None else place_pose(origin, c.aim),
                     grip=None if c.grip is None else place_pose(origin, c.grip))
    return HandFrame(h.source, None if h.joints is None else _place_joints(origin, h.joints), placed)


def place_frame(origin: Pose | None, inp: InputFrame) -> InputFrame:
    """An InputFrame in scene coordinates: head, joints, grip and aim poses moved by ``origin``."""
    if origin is None:
        return inp
    return InputFrame(inp.time, place_pose(origin, inp.head), _place_hand(origin, inp.left),
                      _place_hand(origin, inp.right), inp.keys)


@dataclass
class ClientView:
    """What the frame loop draws, read in the session's thread: the others' avatars, the card's
    lines and whether it is an alert, handshake news since the last frame, and the gesture events
    this frame sent (:class:`~vrdiplomacy.gestures.events.GestureEvent`), and the link messages
    since the last frame ("reconnecting… (…)", "reconnected after N s", "connection lost: …")."""

    avatars: list[Any]
    lines: tuple[str, ...]
    alert: bool
    news: list[str] = field(default_factory=list)
    sent: list[Any] = field(default_factory=list)
    link: list[str] = field(default_factory=list)
    insecure: bool = False  # the room is not end-to-end encrypted: the card is amber
    meeting: Any = None  # the session's MeetingView (vrdiplomacy.session.meeting_view)


class LiveClient:
    """``on_frame(frame)`` for :func:`vrdiplomacy.xr.runloop.run` (see the module docstring).

    ``host``: the running :class:`~vrdiplomacy.session.host.SessionThread`; ``held``: the
    HeldPose its session reads the user's pose from; ``scene``: whose avatars and HUD are set;
    ``origin``: the play space's pose in the scene (None: frames are in scene coordinates);
    ``recorder``: a :class:`~vrdiplomacy.gestures.record.Recorder` that gets each InputFrame.
    """

    def __init__(self, host: Any, held: Any, scene: Scene, origin: Pose | None = None,
                 options: ClientOptions | None = None, recorder: Any = None) -> None:
        self.host, self.held, self.scene, self.origin = host, held, scene, origin
        self.o = options or ClientOptions()
        self.recorder = recorder
        self.frames = 0
        self.sent: list[Any] = []  # the gesture events the last frame sent
        self.keys_pressed = 0
        self.news: list[tuple[float, str]] = []
        self._keys_until: dict[str, float] = {}
        self._mapped = False
        self._last_lines: tuple[str, ...] | None = None
        self.link: Any = None  # the session's LinkStatus (read on the session's thread)
        self.meeting: Any = None  # the last MeetingView drawn
        self._last_sent: tuple[str, float] | None = None  # our own last gesture start sent (name, session time)

    # ------------------------------------------------------------ frame loop's thread

    def on_frame(self, frame: Any) -> None:
        inp = frame.input
        if self.recorder is not None:
            self.recorder.write(inp)
        chair = inp.keys & CHAIR_KEYS  # pressed this frame (held gesture keys come back every frame)
        draft = frozenset(k for k in inp.keys if k.startswith("draft_"))  # the joint text's edit mode
        if chair or draft:
            inp = replace(inp, keys=inp.keys - CHAIR_KEYS - draft)
        placed = place_frame(self.origin, self.hold_keys(inp))
        left, right = hand_pose_from_frame(placed.left), hand_pose_from_frame(placed.right)
        self.held.set(placed.head, left.pose if left.visible else None, right.pose if right.visible else None)
        view = self.host.call(lambda: self._in_session(placed, chair, draft))
        self.frames += 1
        self.sent = view.sent
        self.scene.avatars = view.avatars
        for n in view.news:
            log.info("%s", n)
            self.news.append((inp.time, n))
        for msg in view.link:
            log.log(logging.INFO if msg.startswith("reconnected") else logging.WARNING, "%s", msg)
        lines = view.lines
        if self.news and inp.time - self.news[-1][0] < self.o.news_s:
            lines = lines + (self.news[-1][1],)
        if self.o.hud:
            self.scene.hud = place_hud(placed.head, lines, view.alert, insecure=view.insecure)
        if view.meeting is not None:
            self.meeting = view.meeting
            self.scene.meeting = MeetingOverlay(view.meeting, placed.head if self.o.panels else None,
                                                stereo=len(getattr(frame, "views", ())) > 1)
        if self.o.log_hud and view.lines != self._last_lines:
            self._last_lines = view.lines
            log.info("HUD: %s", " | ".join(view.lines))

    def hold_keys(self, inp: InputFrame) -> InputFrame:
        """The frame with every gesture key pressed in the last ``key_hold`` seconds held down."""
        t = inp.time
        for k in inp.keys:
            if k not in self._keys_until or self._keys_until[k] <= t:
                self.keys_pressed += 1
            self._keys_until[k] = t + self.o.key_hold
        self._keys_until = {k: u for k, u in self._keys_until.items() if u > t}
        held = frozenset(self._keys_until)
        return inp if held == inp.keys else replace(inp, keys=held)

    # ------------------------------------------------------------ session's thread

    def _in_session(self, inp: InputFrame, chair: frozenset[str] = frozenset(),
                    draft: frozenset[str] = frozenset()) -> ClientView:
        s = self.host.session
        news = [s.vote_key(k) if k in VOTE_KEYS else s.chair_key(k) for k in sorted(chair)]
        if draft:
            news.extend(s.drafting.desktop_keys(draft))
            s.flush_drafting()
        if self.o.mapping is not None and not self._mapped:
            from vrdiplomacy.gestures.recognizer import GestureRecognizer

            s.gestures.recognizer = GestureRecognizer(mapping=self.o.mapping)
            self._mapped = True
        sent = []
        if self.o.recognize or inp.keys:
            sent = s.push_frame(for_recognizer(inp) if self.o.recognize else _keys_only(inp))
        while (e := s.gestures.next_event()) is not None:
            news.append(handshake_news(s, e))
        lines, alert = s.security.hud_lines(s.now)
        lines = (*lines, *s.reception.hud_lines(s.now))  # at a reception: our place, the latest greeting
        link = self.link = s.state.link
        link_lines, link_alert = link.hud_lines(s.now)
        if link_lines:  # the link first: nothing else on the card holds while it is down
            lines, alert = (*link_lines, *lines), alert or link_alert
        rooms = s.rooms
        if rooms.space or rooms.s.listen or rooms.s.interpret:  # away from the plenary, or on a channel
            lines = (*lines, rooms.status_line())
        said = []
        while (msg := link.next_message()) is not None:
            said.append(msg)
        return ClientView(s.state.avatars(s.now), tuple(lines), alert, news, sent, said, not s.security.secured,
                          self._meeting(s, sent))

    def _meeting(self, s: Any, sent: list[Any]) -> Any:
        """The session's MeetingView, acknowledging the gesture this client last sent when the view
        does not already (the session's view only knows gestures the procedure took in)."""
        for ev in sent:
            if ev.phase == "start":
                self._last_sent = (ev.gesture.value, s.now)
        view = s.meeting_view(s.now)
        if self._last_sent is not None and self._last_sent[1] > view.last_sent_at:
            view = replace(view, last_sent_gesture=self._last_sent[0], last_sent_at=self._last_sent[1])
        return view


def for_recognizer(inp: InputFrame) -> InputFrame:
    """The frame as the recognizer reads it: a hand that comes from a controller goes in as the
    controller's state only (grip pose, trigger, squeeze, thumb sensors), so the recognizer
    builds the hand with its own controller model and the user's controller mapping; the hand
    the backend synthesized around the grip is for drawing, and a different model."""
    if inp.left.source != "controller" and inp.right.source != "controller":
        return inp

    def hand(h: HandFrame) -> HandFrame:
        return HandFrame(h.source, None, h.controller) if h.source == "controller" else h

    return InputFrame(inp.time, inp.head, hand(inp.left), hand(inp.right), inp.keys)


def _keys_only(inp: InputFrame) -> InputFrame:
    return InputFrame(inp.time, inp.head, HandFrame(), HandFrame(), inp.keys)


def handshake_news(s: Any, e: Any) -> str:
    """One line for a handshake state change with a peer (``PeerHandshakeEvent``)."""
    m = s.state.members.get(e.peer)
    who = (m.delegation or m.identity) if m is not None else f"delegate {e.peer}"
    st = e.event.state
    if st is State.INVITED:
        return f"{who} offers you a handshake: offer your right hand (or press H) to accept"
    if st is State.OFFERED:
        return f"you offered {who} a handshake"
    if st is State.AGREED:
        return f"handshake with {who} agreed: bring your right hands together"
    if st is State.SHAKEN:
        return f"you shook hands with {who}"
    return f"handshake with {who}: {st.value}"
