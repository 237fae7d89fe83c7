"""The meeting side of :class:`~vrdiplomacy.session.runtime.DelegateSession` (a mixin).

What the procedure (:class:`~vrdiplomacy.session.meeting.MeetingSession`, :attr:`meeting`) looks
like to this delegate (:meth:`MeetingClient.meeting_view`, the one interface screens, panels and
the HUD read), the notes for the record (:meth:`MeetingClient.drain_meeting_notes`), our own
actions (:meth:`MeetingClient.meeting_act`; a raised hand asks for the floor by itself; the
chair's desktop keys, :meth:`MeetingClient.chair_key`), and members arriving and leaving (the
chair's client sends newcomers a snapshot and clears who left from the list).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.gestures.events import GestureEvent
from vrdiplomacy.gestures.types import Gesture
from vrdiplomacy.meeting import wire as mw
from vrdiplomacy.meeting.procedure import KIND_NAMES, Note
from vrdiplomacy.meeting.roles import may
from vrdiplomacy.session.meeting import MeetingSession, note_text
from vrdiplomacy.session.meeting_view import (
    MeetingNote,
    MeetingView,
    Participant,
    QueueEntry,
)
from vrdiplomacy.text.view import DraftView

if TYPE_CHECKING:
    from vrdiplomacy.net.client_io import Client
    from vrdiplomacy.scene.layout import Layout
    from vrdiplomacy.session.drafting import SessionDrafting
    from vrdiplomacy.session.gestures import SessionGestures
    from vrdiplomacy.session.rooms import SessionRooms
    from vrdiplomacy.session.runtime import SessionSettings
    from vrdiplomacy.session.state import RoomState
    from vrdiplomacy.voice.devices import InputDevice

log = logging.getLogger("vrdiplomacy.session")


class MeetingClient:
    """The meeting methods of a delegate's session (mixed into ``DelegateSession``)."""

    state: RoomState
    meeting: MeetingSession
    drafting: SessionDrafting
    rooms: SessionRooms
    gestures: SessionGestures
    layout: Layout | None
    client: Client | None
    mic: InputDevice | None
    s: SessionSettings
    now: float  # DelegateSession's property: session time in seconds
    _wall_t0: float
    _delegation: str | None
    _gesture_sent_at: float
    _meeting_members: set[int]

    def local_ms(self, now: float) -> int:
        """UNIX milliseconds at session time ``now``."""
        return int((self._wall_t0 + now) * 1000.0)

    def my_delegation(self) -> str:
        """Our delegation: our seat's in the layout, else our identity."""
        if self._delegation is None:
            seats = self.layout.seats if self.layout is not None else []
            self._delegation = next((x.delegation for x in seats if x.seat_id == self.s.seat and x.delegation),
                                    self.s.identity)
        return self._delegation

    def member_name(self, key: int | None) -> str:
        """A member's name as the meeting shows it (its delegation when the seat has one)."""
        if key is None:
            return "nobody"
        if key == self.state.me:
            return self.my_delegation()
        m = self.state.members.get(key) or self.state.left_members.get(key)
        if m is None:
            return f"#{key}"
        return m.delegation if m.delegation and m.delegation != m.identity else m.identity

    def meeting_view(self, now: float) -> MeetingView:
        """The meeting as screens, panels and the HUD show it at session time ``now``: the
        procedure every client folds alike (:attr:`meeting`), its timer run to ``now``."""
        st, mt = self.state, self.meeting
        local = self.local_ms(now)
        p = mt.at(local)
        relay_now = mt.relay_ms(local)

        mine = self.my_delegation()

        def line(key: int) -> tuple[str, str]:
            m = st.members.get(key) or st.left_members.get(key)
            if m is None:
                return (self.s.identity, mine) if key == st.me else (f"#{key}", "")
            return m.identity, m.delegation

        waiting = {k for k, _ in p.queue}
        speaking = st.speaking(now)
        parts = tuple(
            Participant(m.key, m.identity, m.delegation, mt.role(m.key) if st.secured or m.key in p.claimed else
                        (m.role or mt.role(m.key)), m.state == "present", speaking.get(m.key, 0.0) > 0.0,
                        m.key in p.muted, m.verified, self.rooms.room_of(m.key, st), m.key in waiting)
            for m in sorted(st.members.values(), key=lambda m: m.key))
        my_role = mt.role(st.me)
        me = Participant(st.me, self.s.identity, mine, my_role, True, False, st.me in p.muted, st.secured,
                         self.rooms.room_of(st.me, st), st.me in waiting)
        speaker = None if p.speaker is None else QueueEntry(p.speaker, *line(p.speaker), KIND_NAMES[p.speaker_kind])
        queue = tuple(QueueEntry(k, *line(k), KIND_NAMES[kind]) for k, kind in p.queue)
        notices: list[str] = []
        if p.speaker is not None and p.speaker == st.me:
            notices.append("The floor is yours")
        if st.me in p.muted:
            notices.append("The chair muted you")
        notices.extend(mt.refusals)
        if hasattr(self, "votes"):
            notices.extend(self.votes.notices())  # a vote waiting for ours (session/votes.py)
        last = self.gestures.sent[-1] if self.gestures.sent else None
        return MeetingView(
            time=now, speaker=speaker, speaking_time_s=p.limit_ms / 1000.0 if p.speaker is not None else p.default_ms / 1000.0,
            remaining_s=p.remaining_ms(relay_now) / 1000.0, queue=queue, agenda=p.agenda, agenda_index=p.agenda_index,
            phase=p.phase, participants=parts, me=me, my_place=p.position(st.me),
            mic_on=self.mic is not None and st.me not in p.muted, listening=self.rooms.s.listen or "floor",
            last_sent_gesture=last.gesture.value if last is not None else None,
            last_sent_at=self._gesture_sent_at, chair_controls=may(my_role, "chair"), notices=tuple(notices),
            draft=self.draft_view(now),
            vote=self.votes.board_view() if hasattr(self, "votes") else None)

    def draft_view(self, now: float) -> DraftView | None:
        """The room's joint text as the panel shows it (None while the draft is empty and nobody types)."""
        seats = {x.seat_id: x.delegation for x in self.layout.seats if x.delegation} if self.layout is not None else {}
        by_name = {m.identity: seats.get(m.seat) or m.delegation or m.identity for m in self.state.members.values()}
        view = self.drafting.view(now, lambda name: by_name.get(name, name), self.my_delegation())
        return view if view.runs or view.typing is not None else None

    def drain_meeting_notes(self) -> list[MeetingNote]:
        """Every decision-relevant happening since the last call, for the record: the procedure's
        (requests, grants, statements, time, mutes, points of order, replies, agenda, phase; timed
        by the relay's stamps, the same on every client) and members joining and leaving."""
        out = []
        for n in self.meeting.drain_notes():
            data = (("value", str(n.value)),) + ((("detail", n.text),) if n.text else ())
            out.append(MeetingNote(n.at_ms / 1000.0, n.kind, n.actor, n.subject, note_text(n, self.member_name), data))
            closing = self.drafting.closing_note(out[-1])  # the joint text when an item closes
            if closing is not None:
                out.append(closing)
        if hasattr(self, "votes"):  # the votes' notes (session/votes.py): opened, cast, closed, verified result
            out.extend(self.votes.drain_notes())
        return out

    def meeting_act(self, action: int | str, subject: int | None = None, value: int = 0, data: bytes | str = b"") -> int:
        """Send a procedure action (``action``: a :mod:`vrdiplomacy.meeting.wire` number or name
        such as "grant", "mute"); ``subject`` a member key. Returns the room event's sequence
        number (0: held until the end-to-end layer is ready). Whether it was accepted shows in
        :attr:`meeting` (our action seen back, or the relay's refusal)."""
        target = 0
        if subject is not None:
            if subject == self.state.me:
                target = self.client.client_id if self.client is not None else 0
            else:
                m = self.state.members.get(subject)
                target = m.client_id if m is not None else (0 if self.state.secured else subject)
            if not target:  # the relay routes by it (the floor, whose voice it drops)
                raise ConfigError(f"{self.member_name(subject)} has not told the room its relay handle yet; try again")
        self.meeting.act(action, subject, value, data, target)
        return self.flush_meeting()

    def chair_key(self, key: str) -> str:
        """A chair's desktop key ("chair_grant", "chair_revoke", "chair_mute", "chair_time": one more
        minute of speaking time, "chair_next_item"): the action, or the
        one line saying why not; returns the line the card shows."""
        me = self.state.me
        if not self.meeting.may(me, "chair"):
            return f"Only the chair can do that (your role: {self.meeting.role(me)})"
        p = self.meeting.at(self.local_ms(self.now))
        if key == "chair_grant":
            if not p.queue:
                return "Nobody is on the speakers' list"
            self.meeting_act(mw.GRANT)
            return f"You gave the floor to {self.member_name(p.queue[0][0])}"
        if key == "chair_revoke":
            if p.speaker is None:
                return "Nobody holds the floor"
            self.meeting_act(mw.REVOKE)
            return f"You ended {self.member_name(p.speaker)}'s statement"
        if key == "chair_mute":
            if p.speaker is None:
                return "Nobody holds the floor to mute"
            muted = p.speaker in p.muted
            self.meeting_act(mw.UNMUTE if muted else mw.MUTE, p.speaker)
            return f"You {'unmuted' if muted else 'muted'} {self.member_name(p.speaker)}"
        if key == "chair_time":
            limit = (p.limit_ms if p.speaker is not None else p.default_ms) or 0
            self.meeting_act(mw.SET_TIME, value=limit + 60_000)
            return f"Speaking time set to {(limit + 60_000) / 60_000:g} min"
        if key == "chair_next_item":
            if p.agenda_index + 1 >= len(p.agenda):
                return "No further agenda item"
            self.meeting_act(mw.AGENDA_ITEM, value=p.agenda_index + 1)
            return f"Agenda item {p.agenda_index + 2}: {p.agenda[p.agenda_index + 1]}"
        return f"unknown chair key {key!r}"

    def meeting_report(self) -> dict[str, object]:
        """The procedure's figures at the end of a session (actions folded, ignored by reason, ...)."""
        mt = self.meeting
        view = self.meeting_view(self.now)
        return {"actions": mt.procedure.applied, "ignored": dict(mt.procedure.ignored), "counters": dict(mt.counters),
                "refusals": list(mt.refusals),
                "summary": f"{mt.procedure.applied} procedure actions; speaker "
                           f"{view.speaker.delegation or view.speaker.name if view.speaker else 'none'}; "
                           f"{len(view.queue)} waiting; phase {view.phase}"}

    def flush_meeting(self) -> int:
        """Send the procedure actions the meeting glue queued; the last one's sequence number."""
        seq = 0
        if self.client is None:
            return seq
        for pending in self.meeting.data_to_send():
            seq = self.client.send_event(pending.body, stream=mw.STREAM, header=pending.header)
        return seq

    def _gesture_to_procedure(self, ev: GestureEvent) -> None:
        """A raised hand asks for the floor, a lowered one withdraws (when our role may ask)."""
        if ev.phase != "start" or ev.gesture not in (Gesture.RAISE_HAND, Gesture.LOWER_HAND):
            return
        me = self.state.me
        p = self.meeting.at(self.local_ms(self.now))  # the timer may have passed the floor since the last action
        if ev.gesture is Gesture.RAISE_HAND and self.meeting.may(me, "ask_floor") and \
                p.position(me) is None and p.speaker != me:
            self.meeting_act(mw.REQUEST)
        elif ev.gesture is Gesture.LOWER_HAND and p.position(me) is not None:
            self.meeting_act(mw.WITHDRAW)

    def _meeting_presence(self, now: float) -> None:
        """Members who arrived or left since the last look: notes for the record, and the chair's
        client tells newcomers the procedure's state and clears who left from the list."""
        st, mt = self.state, self.meeting
        present = {k for k, m in st.members.items() if m.state != "left"}
        if (st.secured and st.me >= 0 and mt.roles) or (not st.secured and st.me):
            present.add(st.me)
        if present == self._meeting_members:
            return
        at = mt.relay_ms(self.local_ms(now))
        for key in sorted(present - self._meeting_members):
            mt.note(Note(at, "joined", key, key, 0, self.member_name(key)))
            mt.member_joined(key)
        for key in sorted(self._meeting_members - present):
            mt.note(Note(at, "left", key, key, 0, self.member_name(key)))
            mt.member_left(key)
        self._meeting_members = present
        self.flush_meeting()

