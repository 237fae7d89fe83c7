"""What the secretariat's node writes down (sans-I/O): room changes in, :class:`~vrdiplomacy.record.entry.Note` out.

:class:`Observer` is handed, at each step, the node's room state (members from the verified
roster in a secured room, from the relay otherwise), its floor queue and the meeting procedure's
notes (:class:`~vrdiplomacy.session.meeting_view.MeetingNote`), with the wall clock ``now_us``.
It returns notes for:

* **membership** (from the room state, so names are the verified certificates' in a secured room,
  never a relay id): ``present`` (in the room when the record began), ``joined``, ``left``,
  ``away`` (the relay lost the member's link) and ``back``;
* **the floor**, from the floor queue: ``floor_requested``, ``floor_withdrawn``,
  ``floor_granted``, ``floor_released`` — unless the meeting procedure's notes are the source
  (``procedure_notes``), which then say what happened to the floor themselves;
* **gestures** others made (start only; raise/lower hand are floor requests): ``gesture``;
* **the procedure's notes** (chair actions, statements, agenda, ...), kept as they are, their
  member keys turned into names; their ``joined``/``left`` are dropped because membership is
  written from the verified roster above.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vrdiplomacy.record.entry import NOBODY, Note, Party
from vrdiplomacy.session.meeting import FloorEvent, FloorQueue, minutes_line
from vrdiplomacy.session.meeting_view import MeetingNote
from vrdiplomacy.session.state import RemoteMember, RoomState

GESTURE_TEXT = {
    "nod": "nods", "head_shake": "shakes their head", "thumbs_up": "gives a thumbs up",
    "thumbs_down": "gives a thumbs down", "wave": "waves", "applause": "applauds", "point": "points",
    "open_palms": "shows open palms", "handshake": "offers a handshake",
}
FLOOR_KINDS = {"requested": "floor_requested", "withdrawn": "floor_withdrawn", "granted": "floor_granted",
               "released": "floor_released"}
FLOOR_TEXT = {"requested": "asks for the floor", "withdrawn": "withdraws the request for the floor",
              "granted": "has the floor", "released": "ends the turn at the floor"}
LEFT_TEXT = {"withdrawn": "no longer asks for the floor (left the room)",
             "released": "no longer has the floor (left the room)"}
MEMBERSHIP_NOTES = frozenset({"joined", "left"})


@dataclass
class ObserveSettings:
    """settle_s: members seen within this many seconds of the first observation once the node is
    in the room were already there ("present") rather than joining (the relay lists them right
    after its welcome; in a secured room each member appears once its signed presence statement
    is opened, which members restate a settling time after the roster changed, so a second or
    more after the node's own admission on a busy machine: at 0.5 s a chair already in the room
    was sometimes written down as joining); gestures: write others' gestures down."""

    settle_s: float = 2.0
    gestures: bool = True


def _us(seconds: float) -> int:
    return round(seconds * 1e6)


class Observer:
    """Turns a node's view of the room into notes (see the module docstring).

    ``country(key)``: a member's delegation country from the verified roster (secured rooms),
    None when unknown; ``procedure_notes``: the meeting procedure's notes are the floor's source;
    ``resumed``: this node continues a record (members already there "were in the room when the
    record resumed"); ``initial()``: in a secured room, the fingerprints the verified roster listed
    when the node was admitted. Those members were in the room, however late their signed presence
    statements open (a second or more on a busy machine), so they are noted "present", not
    "joined"; the settling time covers only rooms without such a roster.
    """

    def __init__(self, settings: ObserveSettings | None = None, procedure_notes: bool = False,
                 country: Callable[[int], str | None] | None = None, resumed: bool = False,
                 initial: Callable[[], Iterable[str]] | None = None) -> None:
        self.s = settings or ObserveSettings()
        self.resumed = resumed
        self.procedure_notes = procedure_notes
        self.country = country or (lambda key: None)
        self._present: dict[int, tuple[str, str]] = {}  # key -> ("present" | "away", who: fingerprint or name)
        self._first_us: int | None = None
        self._initial_of = initial
        self._initial: set[str] = set()  # fingerprints in the room at admission, not yet seen
        self._gestures_seen = 0
        self._countries: dict[int, str] = {}
        self._known: dict[int, tuple[Party, tuple[tuple[str, str], ...]]] = {}
        self.dropped_notes = 0

    # ------------------------------------------------------------ naming

    def member(self, state: RoomState, key: int | None) -> tuple[Party, tuple[tuple[str, str], ...]]:
        """The party a member key names, and its identification fields."""
        if key is None:
            return NOBODY, ()
        m: RemoteMember | None = state.members.get(key)
        if m is None and key in self._known:  # gone: named as when last seen (a roster index may be reused)
            return self._known[key]
        m = m or state.left_members.get(key)
        if m is None:
            return Party(f"member #{key}"), (("verified", "0"),)
        country = self.country(key)
        if country:
            self._countries[key] = country  # still named so once the roster dropped the member
        delegation = self._countries.get(key) or (m.delegation if m.delegation != m.identity else "")
        fields = [("role", m.role)] if m.role else []
        fields.append(("verified", "1" if m.verified else "0"))
        if m.fingerprint:
            fields.append(("fingerprint", m.fingerprint))
        named = Party(m.identity, delegation), tuple(fields)
        if key in state.members:
            self._known[key] = named
        return named

    def _note(self, state: RoomState, now_us: int, kind: str, key: int | None, text: str,
              subject: int | None = None, extra: Iterable[tuple[str, str]] = ()) -> Note:
        """A note by member ``key``; ``text`` is what they did ("asks for the floor"), after their name."""
        actor, afields = self.member(state, key)
        subj, sfields = self.member(state, subject)
        data = [(f"actor.{k}", v) for k, v in afields] + [(f"subject.{k}", v) for k, v in sfields] + list(extra)
        who = actor.label() if actor.name else ""
        return Note(now_us, kind, actor, subj, f"{who} {text}" if who and text else text, tuple(data))

    # ------------------------------------------------------------ observing

    def observe(self, state: RoomState, floor: FloorQueue | None, notes: Iterable[MeetingNote], now_us: int,
                session_t0_us: int = 0, ready: bool = True) -> list[Note]:
        """Everything that changed since the last call, in order: membership, the floor, gestures,
        then the procedure's notes. ``session_t0_us`` is the wall time of session time 0 (gestures
        and the floor queue carry session times; the procedure's notes carry the relay's UNIX time). ``ready``: the node is in the room
        (connected; in a secured room, in a verified roster); until then membership is not noted."""
        out: list[Note] = []
        if ready and self._first_us is None:
            self._first_us = now_us
            if self._initial_of is not None:
                self._initial = set(self._initial_of())
        settling = self._first_us is None or now_us - self._first_us <= _us(self.s.settle_s)
        current = {k: ("away" if m.state == "away" else "present", m.fingerprint or m.identity)
                   for k, m in state.members.items() if m.state in ("present", "away") and k != state.me}
        if not ready:
            current = dict(self._present)
        for k, (how, who) in sorted(current.items()):
            was = self._present.get(k)
            if was is not None and was[1] != who:  # someone else under the same key: the other one left
                out.append(self._left(state, now_us, k))
                was = None
            if was is None:
                if settling or who in self._initial:
                    self._initial.discard(who)
                    out.append(self._note(state, now_us, "present", k, "was in the room when the record "
                                          + ("resumed" if self.resumed else "began")))
                else:
                    out.append(self._note(state, now_us, "joined", k, "joined the room"))
            elif was[0] != how:
                out.append(self._note(state, now_us, how if how == "away" else "back", k,
                                      "lost the connection to the relay" if how == "away" else "is back"))
        for k in sorted(set(self._present) - set(current)):
            out.append(self._left(state, now_us, k))
        self._present = current
        if floor is not None and not self.procedure_notes:
            while (fe := floor.next_event()) is not None:
                out.append(self._floor(state, fe, session_t0_us))
        if self.s.gestures:
            log = state.gesture_log
            for t, key, name, phase in log[self._gestures_seen:]:
                if phase == "start" and name not in ("raise_hand", "lower_hand") and key != state.me:
                    out.append(self._note(state, session_t0_us + _us(t), "gesture", key,
                                          GESTURE_TEXT.get(name, f"makes the gesture {name}"), extra=(("gesture", name),)))
            self._gestures_seen = len(log)
        for n in notes:
            if n.kind in MEMBERSHIP_NOTES:
                self.dropped_notes += 1
                continue
            note = self._note(state, _us(n.time), n.kind, n.actor, "", n.subject, n.data)  # the relay's stamp, UNIX time
            out.append(Note(note.time_us, note.kind, note.actor, note.subject, self._line(n, note), note.data))
        return out

    @staticmethod
    def _line(n: MeetingNote, note: Note) -> str:
        """The procedure note's line with the record's own names ("France (FR)", verified ones from
        the roster), so the minutes name everyone one way; the procedure's own text otherwise."""
        if n.kind.startswith("vote_"):  # the votes' own lines (ballot/notes.py): they name voters by certificate
            return n.text
        data = dict(n.data)
        try:
            value = int(data.get("value", "0"))
        except ValueError:
            return n.text
        actor = note.actor.label() if n.actor is not None and note.actor.name else "The procedure"
        subject = note.subject.label() if note.subject.name else "nobody"
        return minutes_line(n.kind, actor, subject, value, data.get("detail", ""))

    def _left(self, state: RoomState, now_us: int, key: int) -> Note:
        """Member ``key`` left: named as when last seen (the key may already be someone else's)."""
        known = self._known.get(key)
        if known is None:
            return self._note(state, now_us, "left", key, "left the room")
        party, fields = known  # kept: a floor event of the member who left still names them
        return Note(now_us, "left", party, NOBODY, f"{party.label()} left the room",
                    tuple((f"actor.{k}", v) for k, v in fields))

    def _floor(self, state: RoomState, fe: FloorEvent, session_t0_us: int) -> Note:
        text = FLOOR_TEXT.get(fe.kind, fe.kind)
        if fe.kind in ("withdrawn", "released") and fe.client_id not in state.members:
            text = LEFT_TEXT[fe.kind]
        return self._note(state, session_t0_us + _us(fe.time), FLOOR_KINDS.get(fe.kind, f"floor_{fe.kind}"),
                          fe.client_id, text)
