"""Simulated delegates: they take seats, look around, speak recorded speech and make gestures.

A bot is a real :class:`~vrdiplomacy.session.runtime.DelegateSession` (its own relay client,
Opus voice path and pose stream); only its inputs are scripted:

* :class:`ScheduledSpeech` is its microphone: recorded speech (Debian alsa-utils' voice
  announcements) at its turns, silence between them, so bots take turns like delegates;
* :class:`BotMotion` is its headset: the head sways and turns towards whoever is speaking
  (from the speaking levels the bot receives), the hands rest on the desk and move while the
  bot speaks, and gestures move them (a raised hand goes up, applause claps, a nod nods);
* :meth:`Bot.run_gestures` sends its gestures as
  :class:`~vrdiplomacy.gestures.events.GestureEvent` room events (start, then end);
* the bots follow the meeting's procedure (:mod:`vrdiplomacy.meeting`): the first bot chairs
  (it claims the role, sets the agenda, the phase and the speaking time, and gives the floor to
  the first on the list whenever it is open); the others raise a hand (a real raised-hand
  gesture, which asks for the floor), speak only once they hold it, yield when done, and raise a
  hand again a while later. Every third turn a bot speaks on past its time: the timer ends its
  turn and the floor passes to the next on the list, and the bot falls silent.

Everything is deterministic in the bot's index and the session clock (and, for the procedure,
in the relay's order of the bots' actions).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import AssetError, ConfigError
from vrdiplomacy.meeting import wire as mw
from vrdiplomacy.meeting.roles import role_index
from vrdiplomacy.scene.avatars import SEATED_EYE_HEIGHT, avatar_at, pose_gesture
from vrdiplomacy.scene.layout import Layout, Seat
from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll, quat_rotate, quat_slerp, yaw_towards
from vrdiplomacy.session.runtime import DelegateSession, PoseTriple
from vrdiplomacy.session.state import RoomState
from vrdiplomacy.voice.devices import FS, read_wav

F32 = npt.NDArray[np.float32]
ALSA_SOUNDS = "/usr/share/sounds/alsa"
# gesture, hand that makes it, seconds held
BOT_GESTURES: tuple[tuple[str, str, float], ...] = (
    ("raise_hand", "right", 3.0), ("nod", "none", 1.6), ("thumbs_up", "right", 2.0), ("wave", "right", 2.0),
    ("head_shake", "none", 1.6), ("applause", "both", 2.5), ("open_palms", "both", 2.0), ("point", "right", 2.0),
)
AGENDA = ("Adoption of the agenda", "Climate finance", "Maritime boundaries", "Any other business")


def speech_clips(directory: str = ALSA_SOUNDS) -> list[tuple[str, F32]]:
    """The recorded speech clips (name, 48 kHz mono), Noise.wav left out."""
    files = sorted(f for f in glob.glob(f"{directory}/*.wav") if "Noise" not in f)
    if not files:
        raise AssetError(f"no speech recordings in {directory} (Debian/Ubuntu: apt install alsa-utils)")
    return [(f.rsplit("/", 1)[-1], read_wav(f)) for f in files]


@dataclass
class BotPlan:
    """One bot's script: its ``seat``, ``identity``, the ``clip`` it speaks (name, samples), the
    session times ``speak_at`` its turns start (only when it does not follow the procedure), its
    ``gestures`` as (time, name, hand, hold), its meeting ``role`` ("chair" or "delegate"),
    whether it follows the ``procedure`` (asks for the floor and speaks only when given it),
    ``raise_at`` when it first raises its hand, ``pause_s`` how long after a turn it asks again
    and ``turn_s`` the speaking time a chair bot sets."""

    index: int
    seat: Seat
    identity: str
    clip: tuple[str, F32]
    speak_at: list[float] = field(default_factory=list)
    gestures: list[tuple[float, str, str, float]] = field(default_factory=list)
    role: str = "delegate"
    procedure: bool = True
    raise_at: float = 1.0
    pause_s: float = 4.0
    turn_s: float = 6.0


def bot_seats(layout: Layout, n: int, viewer_seat: str | None = None, cone_deg: float = 42.0) -> list[Seat]:
    """``n`` seats for bots: the nearest ones in front of the viewer's seat (within ``cone_deg``
    either side of where it faces, so the viewer sees them), then the nearest others."""
    if n < 0:
        raise ConfigError(f"number of bots must be >= 0, got {n}")
    seats = [s for s in layout.seats if s.seat_id != viewer_seat]
    if n > len(seats):
        raise ConfigError(f"scene '{layout.scene}' has {len(seats)} free seats, cannot seat {n} bots")
    if not viewer_seat:
        return sorted(seats, key=lambda s: s.index)[:n]
    v = layout.seat(viewer_seat)
    vp = np.asarray(v.position, np.float64)

    def key(s: Seat) -> tuple[bool, float]:
        d = np.asarray(s.position, np.float64) - vp
        off = (yaw_towards(vp, s.position) - v.yaw_deg + 180.0) % 360.0 - 180.0
        return (abs(off) > cone_deg, float(np.hypot(d[0], d[2])))

    return sorted(seats, key=key)[:n]


def plan_bots(layout: Layout, n: int, viewer_seat: str | None = None, clips: list[tuple[str, F32]] | None = None,
              lead_s: float = 0.8, gap_s: float = 0.45, gesture_every_s: float = 9.0,
              procedure: bool = True) -> list[BotPlan]:
    """Scripts for ``n`` bots: seats from :func:`bot_seats`, one speech clip each, gestures
    spread over time. With ``procedure`` (and two bots or more) the first bot chairs and the
    others ask for the floor one after another (``gap_s`` apart) and speak when given it;
    ``speak_at`` holds the turns they would take without a chair (one after another, repeating)."""
    seats = bot_seats(layout, n, viewer_seat)
    clips = clips if clips is not None else (speech_clips() if n else [])
    if n and not clips:
        raise AssetError("no speech clips for the bots")
    longest = max((c[1].size for c in clips), default=0) / FS
    turn = longest + gap_s
    cycle = max(1, n) * turn
    plans = []
    for i, seat in enumerate(seats):
        who = seat.delegation or seat.seat_id
        start = lead_s + i * turn
        chairs = procedure and n >= 2 and i == 0
        plan = BotPlan(i, seat, f"bot-{who.lower()}", clips[i % len(clips)], [start + k * cycle for k in range(64)],
                       role="chair" if chairs else "delegate", procedure=procedure and n >= 2,
                       raise_at=lead_s + max(0, i - 1) * gap_s, pause_s=2.0 + 1.3 * i, turn_s=round(longest + 1.5, 1))
        g0 = 1.5 + 1.1 * i
        for k in range(16):
            g, hand, hold = BOT_GESTURES[(i + k * 3) % len(BOT_GESTURES)]
            if plan.procedure and g in ("raise_hand", "lower_hand"):
                g, hand, hold = "nod", "none", 1.6  # hands go up for the floor, not at random
            plan.gestures.append((g0 + k * gesture_every_s, g, hand, hold))
        plans.append(plan)
    return plans


class ScheduledSpeech:
    """A microphone that speaks ``clip`` at the session times in ``speak_at`` (silence
    otherwise). Reads advance a sample clock, so the speech lands at exact samples."""

    def __init__(self, clip: F32, speak_at: list[float], fs: int = FS) -> None:
        self.name = "speech"
        self.fs = fs
        self.clip = np.asarray(clip, dtype=np.float32)
        self.starts = [int(round(t * fs)) for t in sorted(speak_at)]
        self.pos = 0
        self.cut: int | None = None  # silent from this sample on (a speaker who lost the floor)

    def speaking(self, t: float) -> bool:
        """Whether the clip is playing at session time ``t``."""
        s = int(t * self.fs)
        if self.cut is not None and s >= self.cut:
            return False
        return any(0 <= s - a < self.clip.size for a in self.starts)

    def say(self, times: int = 1, lead: int = 960) -> int:
        """Speak the clip ``times`` times from ``lead`` samples on; the sample where it ends."""
        self.cut = None
        a = self.pos + lead
        self.starts = [s for s in self.starts if s + self.clip.size > self.pos]
        self.starts.extend(a + k * self.clip.size for k in range(times))
        return a + times * self.clip.size

    def hush(self) -> None:
        """Fall silent now (what was still to be said is dropped)."""
        self.cut = self.pos
        self.starts = [s for s in self.starts if s + self.clip.size > self.pos and s < self.pos]

    def read(self, n: int) -> F32:
        out = np.zeros(n, dtype=np.float32)
        lo, hi = self.pos, self.pos + n
        for a in self.starts:
            b = a + self.clip.size
            if b <= lo or a >= hi:
                continue
            s0, s1 = max(a, lo), min(b, hi)
            out[s0 - lo : s1 - lo] = self.clip[s0 - a : s1 - a]
        if self.cut is not None and self.cut < hi:
            out[max(self.cut - lo, 0):] = 0.0
        self.pos = hi
        return out

    def close(self) -> None:
        self.starts = []


def _smooth_angle(current: float, target: float, rate: float) -> float:
    d = (target - current + 180.0) % 360.0 - 180.0
    return current + d * rate


class HeadMotion:
    """Where a seated delegate looks at session time ``t``: towards whoever is speaking loudest
    (from ``state``'s speaking levels, when within 100 degrees of the seat's facing), else
    slowly around the room; turns are smoothed (time constant ``turn_s``). ``state`` may be
    set after construction (None: always the idle look-around)."""

    def __init__(self, seat: Seat, state: RoomState | None = None, phase: float = 0.0, turn_s: float = 0.35) -> None:
        self.seat = seat
        self.state = state
        self.phase = phase
        self.turn_s = turn_s
        self.eye = np.asarray(seat.position, np.float32) + np.array([0.0, SEATED_EYE_HEIGHT, 0.0], np.float32)
        self.yaw = seat.yaw_deg
        self.pitch = -8.0
        self.last_t = 0.0

    def _look_target(self, t: float) -> tuple[float, float] | None:
        if self.state is None:
            return None
        levels = self.state.speaking(t)
        if not levels:
            return None
        cid = max(levels, key=lambda k: levels[k])
        m = self.state.members.get(cid)
        if m is None:
            return None
        p = m.mouth()
        d = p - self.eye
        horiz = float(np.hypot(d[0], d[2]))
        return yaw_towards(self.eye, p), math.degrees(math.atan2(float(d[1]), max(horiz, 1e-3)))

    def __call__(self, t: float) -> tuple[float, float]:
        """(yaw, pitch) in degrees at ``t``."""
        dt = min(max(t - self.last_t, 0.0), 0.5)
        self.last_t = t
        ph = self.phase
        seat_yaw = self.seat.yaw_deg
        look = self._look_target(t)
        if look is not None and abs((look[0] - seat_yaw + 180.0) % 360.0 - 180.0) < 100.0:
            ty, tp = look
        else:  # idle: look around the room
            ty = seat_yaw + 28.0 * math.sin(0.21 * t + ph) + 10.0 * math.sin(0.53 * t + 2 * ph)
            tp = -8.0 + 5.0 * math.sin(0.37 * t + ph)
        rate = 1.0 - math.exp(-dt / self.turn_s)
        self.yaw = _smooth_angle(self.yaw, ty, rate)
        self.pitch += (tp - self.pitch) * rate
        return self.yaw, self.pitch

    def pose(self, t: float) -> Pose:
        yaw, pitch = self(t)
        return Pose(self.eye.copy(), quat_from_yaw_pitch_roll(math.radians(yaw), math.radians(pitch)))


class BotMotion:
    """The bot's headset: head and hand poses (scene coordinates) at session time ``t``."""

    def __init__(self, plan: BotPlan, state: RoomState, speech: ScheduledSpeech) -> None:
        self.plan = plan
        self.speech = speech
        seat = plan.seat
        self.head = HeadMotion(seat, state, 1.7 * plan.index)
        self.rest = avatar_at(10_000 + plan.index, seat.delegation or seat.seat_id, seat.position, seat.yaw_deg)
        self.gesture: tuple[str, float, float] | None = None  # name, start, hold
        self._targets: dict[str, tuple[Pose, Pose]] = {}

    def _gesture_hands(self, name: str) -> tuple[Pose, Pose]:
        if name not in self._targets:
            seat = self.plan.seat
            a = pose_gesture(avatar_at(0, "x", seat.position, seat.yaw_deg), name)
            self._targets[name] = (a.left.pose, a.right.pose)
        return self._targets[name]

    def __call__(self, t: float) -> PoseTriple:
        yaw, pitch = self.head(t)
        left, right = self.rest.left.pose, self.rest.right.pose
        across = self.rest.root.orientation
        if self.speech.speaking(t):  # beat gestures while speaking
            lift = 0.06 * abs(math.sin(2.0 * math.pi * 1.6 * t))
            right = Pose(right.position + np.array([0.0, lift, 0.0], np.float32), right.orientation)
        g = self.gesture
        if g is not None:
            name, start, hold = g
            tau = t - start
            w = min(1.0, tau / 0.3, max(0.0, (hold - tau) / 0.3))
            if name == "nod":
                pitch += -16.0 * abs(math.sin(2.0 * math.pi * 1.4 * tau)) * w
            elif name == "head_shake":
                yaw += 20.0 * math.sin(2.0 * math.pi * 1.8 * tau) * w
            else:
                gl, gr = self._gesture_hands(name)
                if name == "wave":
                    gr = Pose(gr.position + quat_rotate(across, (0.07 * math.sin(2 * math.pi * 2.0 * tau), 0.0, 0.0)),
                              gr.orientation)
                elif name == "applause":
                    sep = 0.05 * (1.0 + math.sin(2 * math.pi * 3.0 * tau))
                    gl = Pose(gl.position + quat_rotate(across, (-sep, 0.0, 0.0)), gl.orientation)
                    gr = Pose(gr.position + quat_rotate(across, (sep, 0.0, 0.0)), gr.orientation)
                left, right = _blend(left, gl, w), _blend(right, gr, w)
        head = Pose(self.head.eye.copy(), quat_from_yaw_pitch_roll(math.radians(yaw), math.radians(pitch)))
        return head, left, right


def _blend(a: Pose, b: Pose, w: float) -> Pose:
    if w <= 0.0:
        return a
    if w >= 1.0:
        return b
    return Pose((a.position * (1 - w) + b.position * w).astype(np.float32), quat_slerp(a.orientation, b.orientation, w))


class Bot:
    """A scripted delegate: its plan, its session, its motion and microphone."""

    def __init__(self, plan: BotPlan, session: DelegateSession, motion: BotMotion) -> None:
        self.plan = plan
        self.session = session
        self.motion = motion
        self.turns = 0  # turns this bot spoke (a delegate) or floors it gave (the chair)
        self.overruns = 0  # turns the timer ended
        if plan.procedure:
            motion.speech.starts = []  # it speaks when the chair gives it the floor, not on a schedule

    async def run_gestures(self) -> None:
        """Send the plan's gestures at their times (start, hold, end), forever; and follow the
        meeting's procedure (see the module docstring)."""
        if not self.plan.procedure:
            await self._gestures()
            return
        side = asyncio.create_task(self._gestures())
        try:
            await (self._chair() if self.plan.role == "chair" else self._delegate())
        finally:
            side.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await side

    async def _chair(self, tick: float = 0.1, item_every_s: float = 30.0) -> None:
        """Preside: claim the chair, set the agenda, phase and speaking time; whenever the floor is
        open and someone waits, give it to the first on the list; move the agenda on now and then."""
        s = self.session
        s.meeting_act(mw.CLAIM_ROLE, value=role_index("chair"))
        s.meeting_act(mw.AGENDA, value=1, data="\n".join(AGENDA))
        s.meeting_act(mw.PHASE, value=1)  # general debate
        s.meeting_act(mw.SET_TIME, value=int(self.plan.turn_s * 1000))
        granted_at = -1e9
        next_item, item = item_every_s, 1
        while True:
            await asyncio.sleep(tick)
            now = s.now
            p = s.meeting.at(s.local_ms(now))
            if p.speaker is None and p.queue and now - granted_at > 1.0 and s.meeting.may(s.state.me, "chair"):
                s.meeting_act(mw.GRANT)
                granted_at = now
                self.turns += 1
            if now >= next_item:
                next_item += item_every_s
                item = item % (len(AGENDA) - 1) + 1
                s.meeting_act(mw.AGENDA_ITEM, value=item)

    async def _delegate(self, tick: float = 0.05) -> None:
        """Ask for the floor (a raised hand), speak when given it, yield when done, ask again later."""
        s, speech = self.session, self.motion.speech
        raise_at = self.plan.raise_at
        lowered_at = None
        asked_at = -1e9
        turn: tuple[int, int, bool] | None = None  # (grant stamp, sample the speech ends, overrunning)
        while True:
            await asyncio.sleep(tick)
            now = s.now
            me = s.state.me
            p = s.meeting.at(s.local_ms(now))
            if lowered_at is not None and now >= lowered_at:
                self.motion.gesture, lowered_at = None, None
                s.send_gesture("raise_hand", "end", "right", duration=2.0)
            if turn is None and p.speaker == me:
                overrun = (self.plan.index + self.turns) % 3 == 2
                turn = (p.granted_ms, speech.say(3 if overrun else 1), overrun)
                self.turns += 1
                if self.motion.gesture is not None and self.motion.gesture[0] == "raise_hand":
                    self.motion.gesture, lowered_at = None, None
                    s.send_gesture("raise_hand", "end", "right", duration=max(0.0, now - asked_at))
            elif turn is not None and (p.speaker != me or p.granted_ms != turn[0]):
                speech.hush()  # the floor passed (the timer, or the chair): silent at once
                self.overruns += turn[2]
                turn, raise_at = None, now + self.plan.pause_s
            elif turn is not None and speech.pos >= turn[1]:
                s.meeting_act(mw.YIELD)  # done before the time ran out
                turn, raise_at = None, now + self.plan.pause_s
            elif turn is None and now >= raise_at and p.position(me) is None and p.speaker != me:
                self.motion.gesture = ("raise_hand", now, 2.0)
                s.send_gesture("raise_hand", "start", "right")  # asks for the floor (DelegateSession)
                lowered_at, raise_at = now + 2.0, now + 1e9
                asked_at = now
            elif turn is None and raise_at > now + 1e8 and now - asked_at > 3.0 and p.position(me) is None \
                    and p.speaker != me:
                raise_at = now + self.plan.pause_s  # taken off the list (or the request was lost): ask again

    async def _gestures(self) -> None:
        s = self.session
        for at, name, hand, hold in self.plan.gestures:
            delay = at - s.now
            if delay < -hold:
                continue
            await asyncio.sleep(max(0.0, delay))
            self.motion.gesture = (name, s.now, hold)
            s.send_gesture(name, "start", hand)
            await asyncio.sleep(hold)
            self.motion.gesture = None
            s.send_gesture(name, "end", hand, duration=hold)


__all__ = ["BOT_GESTURES", "Bot", "BotMotion", "HeadMotion", "BotPlan", "ScheduledSpeech", "bot_seats", "plan_bots", "speech_clips"]
