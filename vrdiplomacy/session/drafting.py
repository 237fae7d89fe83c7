"""The room's joint text in a delegate's session (:attr:`DelegateSession.drafting`).

Every client of a room keeps the draft: a :class:`~vrdiplomacy.text.core.TextCore` fed from the
room's event stream (the same updates ``vrdiplomacy text`` sends: sealed and signed in a secured
room, their author the member whose key opened them) and asked for the document when the session
starts (peers answer with what we lack, :meth:`~vrdiplomacy.text.core.TextCore.join`).

Edits come from the desktop window's edit mode (a key opens it, typed characters gather into a
line, Enter inserts the line at our caret: :meth:`SessionDrafting.type_line`) and from the control
socket (``vrdiplomacy text edit ... --session``: :meth:`SessionDrafting.edit`). An update goes out
as a reliable room event: the client keeps it until the relay, which journals it with fsync
before acknowledging, has acknowledged it, and sends it again after a reconnection
(:mod:`vrdiplomacy.net.client_events`); :meth:`SessionDrafting.unacked` tells how many of ours
are still waiting.

Cursors: where our caret is goes to the room as a small ephemeral event (``Client.send_ephemeral``:
sealed, not stored, never in the document): a character position, clamped to the text. :meth:`SessionDrafting.view` gives the panel its
:class:`~vrdiplomacy.text.view.DraftView`, recomputed only when something changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vrdiplomacy.errors import ConfigError, ProtocolError
from vrdiplomacy.session.meeting_view import MeetingNote
from vrdiplomacy.text import wire
from vrdiplomacy.text.core import TextCore
from vrdiplomacy.text.edits import apply_edit
from vrdiplomacy.text.view import Caret, DraftView, Run

log = logging.getLogger("vrdiplomacy.session")

MAX_LINE = 2000  # characters one desktop line may add


@dataclass
class DraftSettings:
    """doc: the document the chamber shows and the desktop and ``--session`` edits go to;
    cursor_s: seconds a peer's caret stays on the panel after its last news."""

    doc: str = "draft"
    cursor_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.doc or len(self.doc.encode()) > wire.MAX_DOC_ID:
            raise ConfigError(f"document id must be 1..{wire.MAX_DOC_ID} bytes")


class SessionDrafting:
    """One client's draft; ``me`` our name as the room attributes our updates (the certificate's
    name in a secured room), ``may_edit(name)`` whether a member's updates are merged."""

    def __init__(self, me: str, may_edit: Callable[[str], bool], settings: DraftSettings | None = None) -> None:
        self.s = settings or DraftSettings()
        self.me = me
        self.core = TextCore(me, may_edit)
        self.typing: str | None = None  # the desktop's line being typed (None: not in edit mode)
        self.wrong_stream = 0
        self.not_sent = 0  # updates the client could not queue (sent with the next resync instead)
        self._resync = False
        self._caret: Any = None  # our caret (JointText.anchor: follows peers' edits); None: the end of the text
        self._own: list[int] = []  # the room event numbers of our updates not known acknowledged
        self._changes = 0
        self._view: tuple[tuple[object, ...], DraftView] | None = None
        self._item: int | None = None  # the agenda item last moved to (for closing_note)
        self.core.join(self.s.doc)

    # ------------------------------------------------------------ network

    def receive(self, payload: bytes, sender: str, now: float, stream: str = "room") -> bool:
        """A room event from ``sender``; False when it is not a text message. Updates count only on
        the stored ``room`` stream; the ephemeral path carries cursors only."""
        if not wire.is_text(payload):
            return False
        if stream != "room" and payload[2:3] != bytes([wire.CURSOR]):
            self.wrong_stream += 1
            return True
        merged, cursors = self.core.counters.merged, self.core.counters.cursors
        self.core.receive(payload, sender, now)
        if self.core.counters.merged != merged or self.core.counters.cursors != cursors:
            self._changes += 1
        if self.typing is not None and self.core.counters.merged != merged and sender != self.me:
            self.core.set_cursor(self.s.doc, self.caret)  # a peer's edit moved our caret: tell where it is now
        while (e := self.core.next_event()) is not None:
            if e.kind == "violation":
                log.warning("joint text %s: %s %s", e.doc, e.who, e.detail)
        return True

    def connected(self, resumed: bool) -> None:
        """After a (re)connection: a resumed session gets the events it missed from the relay's
        journal; a fresh one exchanges state vectors with the room."""
        if not resumed or self._resync:
            self._resync = False
            self.core.resync()

    def flush(self, client: Any) -> None:
        """Send what the core queued: updates as reliable room events, our caret as an ephemeral one."""
        if client is None:
            return
        for stream, payload in self.core.data_to_send():
            try:
                seq = client.send_event(payload, stream=stream)
            except ProtocolError as e:  # the client holds too many unacknowledged events (relay gone long)
                self.not_sent += 1
                self._resync = True  # our document keeps the edit: it goes with the next state exchange
                log.warning("joint text: an update could not be queued (%s); it is sent on reconnection", e)
                continue
            if payload[2] in (wire.UPDATE, wire.PART):  # our edits (a large one in parts), not syncs
                self._own.append(seq)
        for payload in self.core.cursors_to_send():
            client.send_ephemeral(payload)

    def unacked(self, client: Any) -> int:
        """How many of our updates the relay has not acknowledged yet (they are sent again after a
        reconnection); 0 without a client."""
        if client is None:
            return 0
        first = client.core.reliable.first_unacked
        held = len(getattr(client, "_held", ()))  # waiting for the end-to-end layer: not numbered yet
        self._own = [s for s in self._own if s == 0 or s >= first]
        return sum(1 for s in self._own if s) + min(held, sum(1 for s in self._own if not s))

    # ------------------------------------------------------------ local edits

    @property
    def caret(self) -> int:
        """Our caret's character position now (the end of the text unless moved)."""
        d = self.core.doc(self.s.doc)
        return len(d.text()) if self._caret is None else d.anchor_index(self._caret[0])

    def _move(self, index: int, editing: bool = True) -> None:
        self._caret = (self.core.doc(self.s.doc).anchor(index),)
        self.core.set_cursor(self.s.doc, index, editing)
        self._changes += 1

    def edit(self, op: tuple[Any, ...], doc: str | None = None) -> None:
        """One edit (the ``vrdiplomacy text edit`` forms: ("insert", pos, text), ("append", text),
        ("delete", a, b), ("bracket", a, b), ("resolve", id, keep)); raises ConfigError when not allowed."""
        doc = doc or self.s.doc
        apply_edit(self.core, doc, op)
        self._changes += 1
        if doc == self.s.doc and op[0] in ("insert", "append"):
            text = str(op[-1])
            at = int(op[1]) if op[0] == "insert" else len(self.core.doc(doc).text()) - len(text)
            self._move(at + len(text), editing=self.typing is not None)

    def begin_typing(self) -> None:
        """The desktop's edit mode: our caret shows on every panel."""
        if not self.core.may_edit(self.me):
            raise ConfigError(f"{self.me} may not edit the text")
        self.typing = ""
        self._move(self.caret)

    def type_line(self, line: str) -> int:
        """Insert ``line`` at our caret (a space before it when it follows a word); returns the
        number of characters inserted."""
        line = line[:MAX_LINE]
        if not line:
            return 0
        at = self.caret
        text = self.core.doc(self.s.doc).text()
        if at and text[at - 1:at] not in (" ", "\n", "") and not line.startswith((" ", ",", ".", ";", ":")):
            line = " " + line
        if text[at:at + 1] not in (" ", "\n", "", ",", ".", ";", ":") and not line.endswith((" ", "\n")):
            line = line + " "
        self.edit(("insert", at, line))
        return len(line)

    def end_typing(self) -> None:
        self.typing = None
        self._move(self.caret, editing=False)

    def desktop_keys(self, keys: frozenset[str]) -> list[str]:
        """The desktop window's edit mode (``vrdiplomacy.xr.desktop``: E opens it): ``draft_edit``,
        ``draft_text:<line so far>``, ``draft_line:<line>`` (Enter), ``draft_end`` (Escape).
        Returns the lines for the card (an insertion, or why not)."""
        news: list[str] = []
        if "draft_edit" in keys:
            try:
                self.begin_typing()
            except ConfigError as e:
                news.append(f"You may not edit the joint text ({e})")
        if self.typing is None:
            return news
        for k in sorted(k for k in keys if k.startswith("draft_line:")):
            try:
                n = self.type_line(k[len("draft_line:"):])
            except ConfigError as e:
                news.append(f"Not inserted: {e}")
                continue
            if n:
                news.append(f"Inserted {n} characters into the joint text ({self.s.doc})")
        typed = next((k for k in keys if k.startswith("draft_text:")), None)
        if typed is not None:
            self.typing = typed[len("draft_text:"):][:MAX_LINE]
        elif any(k.startswith("draft_line:") for k in keys):
            self.typing = ""
        if "draft_end" in keys:
            self.end_typing()
        return news

    def closing_note(self, note: MeetingNote) -> MeetingNote | None:
        """For the record: when the chair moves to another agenda item (the one before closes) or
        sets the closing phase, a ``joint_text`` note with the draft as this client holds it (its
        rendered text with brackets, version, bracket owners); None otherwise or when it is empty."""
        data = dict(note.data)
        try:
            value = int(data.get("value", "0"))
        except ValueError:
            return None
        if note.kind == "agenda_item":
            closed, self._item = (self._item if self._item is not None else value - 1), value
        elif note.kind == "phase" and data.get("detail") == "closing":
            closed = self._item if self._item is not None else 0
        else:
            return None
        d = self.core.docs.get(self.s.doc)
        if closed is None or closed < 0 or d is None or not d.text():
            return None
        text = d.render()
        owners = "; ".join(f"{b.id} {b.owner}" for b in d.brackets())
        return MeetingNote(note.time, "joint_text", note.actor, None,
                           f"Joint text at the close of agenda item {closed + 1}: {text}",
                           (("value", str(closed)), ("detail", text), ("doc", self.s.doc), ("version", d.digest()),
                            ("brackets", owners)))

    # ------------------------------------------------------------ reading

    def history(self, doc: str | None = None) -> list[Any]:
        return list(self.core.history.get(doc or self.s.doc, ()))

    def view(self, now: float, delegation_of: Callable[[str], str], my_code: str) -> DraftView:
        """What the panel shows: the draft, the carets of those editing (peers' seen within
        ``cursor_s``), the line being typed here."""
        peers = tuple(sorted((n, c.index, c.editing, c.at) for n, c in self.core.cursors.items()
                             if c.doc == self.s.doc and c.editing and now - c.at <= self.s.cursor_s))
        key = (self._changes, self.typing, peers, my_code)
        if self._view is not None and self._view[0] == key:
            return self._view[1]
        d = self.core.doc(self.s.doc)
        runs = tuple(Run(s, bid or "", d.owner(bid) if bid else "") for s, bid in d.runs())
        carets = []
        n = len(d.text())
        for name, index, _editing, _at in peers:
            carets.append(Caret(delegation_of(name), min(index, n)))
        if self.typing is not None:
            carets.append(Caret(my_code, self.caret, mine=True))
        view = DraftView(self.s.doc, runs, tuple(carets), self.typing, d.digest(), self.core.counters.merged)
        self._view = (key, view)
        return view


# ------------------------------------------------------------ the control socket (vrdiplomacy text ... --session)

TEXT_ACTIONS = ("text_show", "text_edit")
"""Control-socket actions (:mod:`vrdiplomacy.app.meeting_control`): ``subject`` the document (None:
the session's), ``data`` for text_edit the edit as a JSON list (``["append", "text"]``)."""


def show_lines(drafting: SessionDrafting, doc: str | None = None) -> list[str]:
    """A document as ``vrdiplomacy text show`` prints it: the text, its brackets and their owners."""
    doc = doc or drafting.s.doc
    d = drafting.core.doc(doc)
    out = [d.render()]
    out.extend(f"  [{b.id}] {b.owner}: {b.text}" for b in d.brackets())
    hist = drafting.history(doc)
    out.append(f"  ({len(hist)} update{'' if len(hist) == 1 else 's'} merged, version {d.digest()})")
    return out


def parse_edit(data: str) -> tuple[Any, ...]:
    """The edit a control command carries (a JSON list), checked."""
    import json

    try:
        op = json.loads(data)
    except ValueError:
        raise ConfigError("the edit is not JSON") from None
    forms = {"insert": (int, str), "append": (str,), "delete": (int, int), "bracket": (int, int), "resolve": (str, bool)}
    if not isinstance(op, list) or not op or op[0] not in forms or len(op) != 1 + len(forms[op[0]]) or \
            not all(isinstance(v, t) and not (t is int and isinstance(v, bool)) for v, t in zip(op[1:], forms[op[0]])):
        raise ConfigError(f"unknown edit {op!r}")
    return tuple(op)


async def control(session: Any, action: str, doc: str | None, data: str, timeout: float = 5.0) -> tuple[bool, str]:
    """Run a control-socket text action on a running session (its event loop): show the draft, or
    make an edit as the session's member and answer once the relay stored and sent it back."""
    import asyncio

    dr: SessionDrafting = session.drafting
    doc = doc or dr.s.doc
    if doc not in dr.core.docs:  # a document this client has not asked the room for yet
        dr.core.join(doc)
        session.flush_drafting()
        await asyncio.sleep(min(1.0, timeout / 4))
    if action == "text_show":
        return True, "\n".join(show_lines(dr, doc))
    try:
        op = parse_edit(data)
        mine = sum(1 for h in dr.history(doc) if h.author == dr.me)
        dr.edit(op, doc)
    except ConfigError as e:
        return False, f"refused: {e}"
    session.flush_drafting()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while sum(1 for h in dr.history(doc) if h.author == dr.me) <= mine:
        if loop.time() > deadline:
            return False, (f"no answer from the relay within {timeout:g} s (the edit is kept and sent again "
                           "once the relay is back)")
        await asyncio.sleep(0.01)
    return True, "ok: " + "\n".join(show_lines(dr, doc))
