"""What the meeting looks like right now, as plain data for screens, panels and the HUD.

This is the one interface between the meeting's procedure (who holds the floor, the speakers'
list, the agenda, mutes, rooms) and everything that shows it: the chamber's speaker screens
(textures in the scene), the participants panel, the delegate's own status line and the chair's
controls. The renderer never reads the procedure itself; it is handed a :class:`MeetingView`
each frame (``DelegateSession.meeting_view(now)``) and draws it. A view is immutable and cheap to
compare, so a screen texture is redrawn only when the view it shows changed
(:meth:`MeetingView.screen_key`).

Member keys are the room state's keys (the roster index in a secured room, the relay client id
otherwise), the same keys :class:`~vrdiplomacy.session.state.RoomState` uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vrdiplomacy.text.view import DraftView
from vrdiplomacy.ballot.view import VoteBoardView

PHASES = ("opening", "general_debate", "negotiation", "drafting", "voting", "closing", "suspended")
"""Negotiation phases a chair can set, in the usual order of a session."""


@dataclass(frozen=True)
class Participant:
    """One line of the participants panel."""

    key: int
    name: str  # the verified certificate name in a secured room, else the claimed identity
    delegation: str  # e.g. "France"
    role: str  # observer, interpreter, advisor, delegate, head, host, chair, secretariat, guest
    present: bool = True
    speaking: bool = False  # voice active now
    muted: bool = False  # muted by the chair
    verified: bool = False
    room: str = "plenary"  # the room (space) the member is in now
    hand_raised: bool = False


@dataclass(frozen=True)
class QueueEntry:
    """One place on the speakers' list."""

    key: int
    name: str
    delegation: str
    kind: str = "speaker"  # "speaker", "point_of_order" or "reply" (right of reply)


@dataclass(frozen=True)
class MeetingView:
    """The meeting at one instant.

    ``speaker`` holds the floor (None: the floor is open); ``speaking_time_s`` is the time the
    chair set for the current turn (0: unlimited) and ``remaining_s`` what is left of it (negative
    once overrun); ``queue`` is the speakers' list, first in line first; ``agenda`` the items with
    ``agenda_index`` the current one (-1: none). ``me`` is the viewing delegate's own line
    (None before it is known); ``my_place`` its 1-based place on the list (None: not waiting);
    ``last_sent_gesture`` / ``last_sent_at`` acknowledge the delegate's own last gesture sent;
    ``chair_controls`` is True when the viewer may act as chair (grant, revoke, time, mute).
    """

    time: float = 0.0
    speaker: QueueEntry | None = None
    speaking_time_s: float = 0.0
    remaining_s: float = 0.0
    queue: tuple[QueueEntry, ...] = ()
    agenda: tuple[str, ...] = ()
    agenda_index: int = -1
    phase: str = "opening"
    participants: tuple[Participant, ...] = ()
    me: Participant | None = None
    my_place: int | None = None
    mic_on: bool = True
    push_to_talk: bool = False
    listening: str = "floor"  # "floor" or a language channel such as "fr"
    last_sent_gesture: str | None = None
    last_sent_at: float = -1e9
    chair_controls: bool = False
    notices: tuple[str, ...] = field(default=())  # short lines for the delegate ("The floor is yours")
    draft: DraftView | None = None  # the room's joint text (session/drafting.py); None: no draft yet
    vote: VoteBoardView | None = None  # the vote the chamber's vote board shows (session/votes.py)

    @property
    def agenda_item(self) -> str:
        """The current agenda item's text ("" when none)."""
        if 0 <= self.agenda_index < len(self.agenda):
            return self.agenda[self.agenda_index]
        return ""

    @property
    def next_five(self) -> tuple[QueueEntry, ...]:
        """The next five on the speakers' list (the chamber screens show these)."""
        return self.queue[:5]

    def screen_key(self) -> tuple[object, ...]:
        """What a chamber screen shows, to the second: redraw its texture only when this changes."""
        remaining = int(self.remaining_s) if self.speaking_time_s > 0 else None
        return (self.speaker, remaining, self.next_five, self.agenda_item, self.phase)


@dataclass(frozen=True)
class MeetingNote:
    """One decision-relevant happening, for the record (``DelegateSession.drain_meeting_notes()``).

    ``kind``: "joined", "left", "floor_requested", "floor_withdrawn", "floor_granted",
    "floor_revoked", "statement_began", "statement_ended", "time_set", "muted", "unmuted",
    "point_of_order", "right_of_reply", "agenda_set", "agenda_item", "phase", "room_moved",
    "vote_opened", "vote_closed", ... (new kinds may be added; a reader keeps unknown ones as
    they are). ``actor`` did it (member key, None: the procedure itself, e.g. a timer ran out),
    ``subject`` it was done to (None: nobody in particular), ``text`` the human-readable line
    for the minutes ("Chair gave the floor to France"), ``data`` any further fields. ``time`` is
    UNIX seconds: the relay's stamp for procedure actions (the same on every client), the local
    estimate of the relay's clock for joins and leaves.
    """

    time: float
    kind: str
    actor: int | None
    subject: int | None
    text: str
    data: tuple[tuple[str, str], ...] = ()
