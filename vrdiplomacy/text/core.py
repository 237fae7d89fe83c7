"""The joint text of one client (sans-I/O): local edits out, peers' updates in, history kept.

:class:`TextCore` holds the room's documents (:class:`~vrdiplomacy.text.document.JointText`).
A local edit is applied at once (a CRDT needs no round trip) and queued as an :class:`Update`
for the room's ``text`` stream, where the end-to-end layer seals and signs it. ``receive(payload,
sender, now)`` merges a peer's update; ``sender`` is the verified member name, the update's
**author** in the history. Only updates from members ``may_edit`` accepts are merged (the others
are dropped and counted: every replica drops the same ones, so they still converge); any member
may ask for a document (:meth:`TextCore.join`) and read it.

Cursors (awareness): :meth:`TextCore.set_cursor` queues a small :class:`~vrdiplomacy.text.wire.Cursor`
message for :meth:`TextCore.cursors_to_send` (the session sends it as an ephemeral event: not
stored, not replayed, not in the CRDT); a peer's lands in :attr:`TextCore.cursors` by its author
(a character position, shown clamped to the text). Only editors' cursors are kept.

History: one :class:`HistoryEntry` per update as it merged (our own included, as it came back from
the relay), with the author, its sequence number, the time and the version's digest. An update
that arrives before one it builds on is held (:meth:`JointText.apply`) and merges, credited to
its own author, right after the update that completes it.

After a disconnection, :meth:`TextCore.resync` sends our state vector (asking peers to answer with
theirs): each peer replies with what we lack and we reply with what they lack, so offline edits
merge both ways. Bracket owners: the editing API lets only a bracket's owner resolve it; an update
from anyone else that removes a bracket is merged (replicas must converge) but reported as a
``violation`` event on every replica, with its author.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass

from vrdiplomacy.errors import ConfigError, ProtocolError
from vrdiplomacy.text import wire
from vrdiplomacy.text.document import JointText

STREAM = wire.STREAM
MAX_DOCS = 64
MAX_HISTORY = 10_000  # entries kept per document (the oldest are dropped)
MAX_PENDING_PER_SENDER = 4  # unfinished multi-part messages kept per sender


@dataclass(frozen=True)
class HistoryEntry:
    author: str
    seq: int  # the author's update number; 0 for a sync reply
    at: float
    digest: str
    kind: str = "edit"  # or "sync"


@dataclass(frozen=True)
class TextEvent:
    """kind: "changed", "violation" (``detail``: the bracket removed by someone not its owner)."""

    kind: str
    doc: str
    who: str
    detail: str = ""


@dataclass(frozen=True)
class PeerCursor:
    """A peer's caret: character ``index``, editing or not, when seen."""

    doc: str
    index: int
    editing: bool
    at: float


@dataclass
class TextCounters:
    received: int = 0
    merged: int = 0
    malformed: int = 0
    not_allowed: int = 0
    violations: int = 0
    sent: int = 0
    cursors: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class TextCore:
    """One client's documents (see the module docstring)."""

    def __init__(self, me: str, may_edit: Callable[[str], bool], client_id: int | None = None) -> None:
        self.me = me
        self.may_edit = may_edit
        self.client_id = client_id
        self.docs: dict[str, JointText] = {}
        self.history: dict[str, deque[HistoryEntry]] = {}
        self.counters = TextCounters()
        self._seq = 0
        self._msg_id = 0
        self._parts: dict[tuple[str, str, int], dict[int, bytes]] = {}
        self._out: deque[tuple[str, bytes]] = deque()
        self._events: deque[TextEvent] = deque(maxlen=4096)
        self.cursors: dict[str, PeerCursor] = {}
        self._cursor_out: list[bytes] = []

    def doc(self, doc_id: str) -> JointText:
        d = self.docs.get(doc_id)
        if d is None:
            if len(self.docs) >= MAX_DOCS:
                raise ConfigError(f"at most {MAX_DOCS} documents in a room")
            d = self.docs[doc_id] = JointText(self.client_id)
            self.history[doc_id] = deque(maxlen=MAX_HISTORY)
        return d

    # ------------------------------------------------------------ local edits

    def _local(self, doc_id: str, update: bytes) -> None:
        self._seq += 1
        self._send(bytes(wire.Update(doc_id, self._seq, update)))

    def insert(self, doc_id: str, index: int, s: str) -> None:
        self._require_edit()
        self._local(doc_id, self.doc(doc_id).insert(index, s))

    def delete(self, doc_id: str, start: int, end: int) -> None:
        self._require_edit()
        self._local(doc_id, self.doc(doc_id).delete(start, end))

    def bracket(self, doc_id: str, start: int, end: int) -> str:
        """Bracket ``start..end`` as ours; returns the new bracket's id."""
        self._require_edit()
        bid = f"{self.me}#{self._seq + 1}"
        self._local(doc_id, self.doc(doc_id).bracket(start, end, bid, self.me))
        return bid

    def resolve(self, doc_id: str, bracket_id: str, keep: bool = True) -> None:
        self._require_edit()
        self._local(doc_id, self.doc(doc_id).resolve(bracket_id, self.me, keep))

    def join(self, doc_id: str) -> None:
        """Ask the room for document ``doc_id`` (peers answer with what we lack, and ask us back)."""
        self._send(bytes(wire.Sync(doc_id, self.doc(doc_id).state_vector(), answer=True)))

    def load(self, doc_id: str, snapshot: bytes) -> None:
        """Restore a saved document (:meth:`JointText.snapshot`), e.g. after a crash; then :meth:`join`."""
        self.doc(doc_id).apply(snapshot)

    def resync(self) -> None:
        """After a reconnection: exchange what each side lacks, for every document."""
        for doc_id, d in self.docs.items():
            self._send(bytes(wire.Sync(doc_id, d.state_vector(), answer=True)))

    def set_cursor(self, doc_id: str, index: int, editing: bool = True) -> None:
        """Tell the room where our caret is in ``doc_id`` (character ``index``); the latest one
        wins (:meth:`cursors_to_send`)."""
        self._cursor_out = [bytes(wire.Cursor(doc_id, max(0, index), editing))]

    def cursors_to_send(self) -> list[bytes]:
        """Cursor messages for the room (ephemeral events)."""
        out, self._cursor_out = self._cursor_out, []
        return out

    def _require_edit(self) -> None:
        if not self.may_edit(self.me):
            raise ConfigError(f"{self.me} may not edit the text")

    # ------------------------------------------------------------ network input

    def receive(self, payload: bytes, sender: str, now: float = 0.0) -> None:
        if not wire.is_text(payload):
            return
        self.counters.received += 1
        try:
            msg = wire.parse(payload)
        except ProtocolError:
            self.counters.malformed += 1
            return
        if isinstance(msg, wire.Part):
            whole = self._reassemble(sender, msg)
            if whole is not None:
                self.counters.received -= 1  # the whole message counts once
                self.receive(whole, sender, now)
            return
        if isinstance(msg, wire.Cursor):
            if sender != self.me and self.may_edit(sender):
                self.counters.cursors += 1
                self.cursors[sender] = PeerCursor(msg.doc, msg.index, msg.editing, now)
            elif sender != self.me:
                self.counters.not_allowed += 1
            return
        if not isinstance(msg, wire.Sync) and not self.may_edit(sender):  # any member may read
            self.counters.not_allowed += 1
            return
        if msg.doc not in self.docs and len(self.docs) >= MAX_DOCS:
            self.counters.not_allowed += 1
            return
        d = self.docs.get(msg.doc)
        if isinstance(msg, wire.Sync):
            if d is not None and sender != self.me:
                try:
                    diff = d.diff_since(msg.state_vector)
                except ProtocolError:
                    self.counters.malformed += 1
                    return
                if len(diff) > 2:  # an empty update encodes as two zero bytes
                    self._send(bytes(wire.SyncReply(msg.doc, diff)))
                if msg.answer and d.may_have_news(msg.state_vector):  # an empty joiner has nothing for us:
                    self._send(bytes(wire.Sync(msg.doc, d.state_vector())))  # no N x N flood when empty clients join
            return
        fresh = d is None
        if d is None:
            d = JointText(self.client_id)  # kept only if the update is well formed
        seq, kind = (msg.seq, "edit") if isinstance(msg, wire.Update) else (0, "sync")
        before = {b.id: b.owner for b in d.brackets()}

        def merged(tag: object) -> None:  # this update, or a held one it completed (its own author)
            nonlocal before
            author, n, how = tag  # type: ignore[misc]
            self._merged(msg.doc, d, author, n, how, now, before)
            before = {b.id: b.owner for b in d.brackets()}

        try:
            d.apply(msg.update, (sender, seq, kind), merged)
        except ProtocolError:
            self.counters.malformed += 1
            return
        if fresh:
            self.docs[msg.doc] = d
            self.history.setdefault(msg.doc, deque(maxlen=MAX_HISTORY))

    def _merged(self, doc: str, d: JointText, sender: str, seq: int, kind: str, now: float,
                before: dict[str, str]) -> None:
        self.counters.merged += 1
        after = {b.id for b in d.brackets()}
        for bid, owner in before.items():
            if bid not in after and owner != sender:
                self.counters.violations += 1
                self._events.append(TextEvent("violation", doc, sender, f"removed {owner}'s bracket {bid}"))
        self.history.setdefault(doc, deque(maxlen=MAX_HISTORY)).append(HistoryEntry(sender, seq, now, d.digest(), kind))
        self._events.append(TextEvent("changed", doc, sender))

    def _reassemble(self, sender: str, p: wire.Part) -> bytes | None:
        key = (sender, p.doc, p.msg_id)
        have = self._parts.get(key)
        if have is None:
            if sum(1 for k in self._parts if k[0] == sender) >= MAX_PENDING_PER_SENDER:
                self.counters.malformed += 1  # a sender with too many unfinished messages: dropped
                return None
            have = self._parts[key] = {}
        have[p.index] = p.chunk
        if len(have) < p.count:
            return None
        del self._parts[key]
        if set(have) != set(range(p.count)):
            self.counters.malformed += 1
            return None
        return b"".join(have[i] for i in range(p.count))

    # ------------------------------------------------------------ output

    def _send(self, payload: bytes) -> None:
        self.counters.sent += 1
        self._msg_id += 1
        doc = wire.parse(payload).doc
        for piece in wire.split(doc, self._msg_id, payload):
            self._out.append((STREAM, piece))

    def data_to_send(self) -> list[tuple[str, bytes]]:
        out = list(self._out)
        self._out.clear()
        return out

    def next_event(self) -> TextEvent | None:
        return self._events.popleft() if self._events else None
