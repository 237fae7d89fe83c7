"""Boards for clients that missed a vote's messages (a mixin of :class:`~vrdiplomacy.ballot.protocol.VoteCore`).

A room event is sealed to the keys of the members present when it was sent. A trustee whose client
crashed (``kill -9``) comes back as a new process with new keys: the relay does not replay the
room's history to it and could not, since what was sealed before would not open for the new keys.
A delegate who joins late has the same gap. Neither can follow a vote it has no board of, and a
trustee without its board cannot publish its partial decryption: the tally would hang.

So a client that starts asks (:class:`~vrdiplomacy.ballot.wire.Sync`, once it is in the verified
roster and knows the meeting session; again after :data:`SYNC_RETRY_S` while nobody restated
anything, at most :data:`SYNC_TRIES` times), and for each vote of the meeting that is not over,
and the last :data:`RESTATE_DONE` that are:

* **one member restates** the board (:class:`~vrdiplomacy.ballot.wire.Restated`: every entry as it
  sits on its board, the original sender's name and message bytes, in board order). The restater
  is the vote's chair when it is in the roster, else the first other roster member; a repeated ask
  goes to the next one (the chosen one may be in the roster but crashed);
* **every other member** that has the board sends its digest (:class:`~vrdiplomacy.ballot.wire.Digest`:
  the hash chain of its entries and verdicts, :meth:`~vrdiplomacy.ballot.board.Board.digest`).

The newcomer replays the restated entries through a fresh :class:`~vrdiplomacy.ballot.board.Board`
(every proof checked again by itself), then the vote messages that reached it live meanwhile (kept
while it waited, bounded), and compares the digests: a member other than the restater whose digest
matches **confirms** the board. A restater could attribute a recorded choice or a ballot to a
member who never sent it (the messages are signed by the restater, not by their authors); a
matching digest from another member rules that out for the entries it covers, and a mismatch is
reported ("disputed"). A restarted trustee takes its secrets up from its key file
(:class:`~vrdiplomacy.ballot.keystore.TrusteeStore`) and publishes its partial decryption only on a
confirmed board: a forged board could otherwise ask it to decrypt a single voter's ballot. A
late voter likewise casts only on a confirmed board (a forged one could carry a key its restater
alone can decrypt with). In a room of two, nobody can confirm: the vote then ends at its deadline.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vrdiplomacy.ballot import wire
from vrdiplomacy.ballot.board import MAX_REJECTED_KEPT, Board
from vrdiplomacy.ballot.election import MAX_TRUSTEES, MAX_VOTERS
from vrdiplomacy.ballot.events import VoteEvent
from vrdiplomacy.errors import ProtocolError

SYNC_RETRY_S = 10.0  # ask again after this long while nobody answered
SYNC_TRIES = 3
SYNC_ANSWER_EVERY_S = 5.0  # a member's ask is not answered this soon after its previous one (no amplification)
RESTATE_DONE = 4  # finished votes restated besides the running ones (older ones: the record)
MAX_PENDING = 2000  # live vote messages kept per client while its boards are being restated
# entries of one restated board: its opening's parts, every trustee's commitment, shares and partial
# decryption, every voter's ballot, the close or failure, and the rejected entries a board keeps
MAX_RESTATED_ENTRIES = wire.MAX_OPEN_PARTS + 3 * MAX_TRUSTEES + MAX_VOTERS + 2 + MAX_REJECTED_KEPT
MAX_BUILDING_BYTES = 16 << 20  # restated bytes held at once, all boards being built together


@dataclass
class _Building:
    """A board being restated to us by ``by``."""

    by: str
    total: int
    entries: list[tuple[str, bytes]] = field(default_factory=list)
    size: int = 0  # bytes held


@dataclass
class SyncState:
    """Per-board restatement facts (for boards built from a restatement)."""

    restated_by: str = ""
    confirmed_by: set[str] = field(default_factory=set)
    disputed_by: set[str] = field(default_factory=set)
    digests: list[tuple[str, int, bytes]] = field(default_factory=list)  # not yet checkable (count ahead of ours)


@dataclass
class SyncCounters:
    sync_sent: int = 0
    sync_answered: int = 0
    restated_sent: int = 0
    restated_boards: int = 0  # boards we rebuilt from a restatement
    restated_ignored: int = 0  # restated entries of boards we had
    restated_refused: int = 0  # restatements out of order or not starting with the chair's opening
    digests_matched: int = 0
    digests_disputed: int = 0
    pending_kept: int = 0
    pending_dropped: int = 0


class BoardSync:
    """The sync side of :class:`~vrdiplomacy.ballot.protocol.VoteCore` (see the module docstring)."""

    me: str
    boards: dict[str, Board]
    is_chair: Callable[[str], bool]
    present: Callable[[], Sequence[str]]
    _events: deque[VoteEvent]

    if TYPE_CHECKING:
        def _send(self, msg: wire.VoteMessage | wire.SyncMessage) -> None: ...
        def _stale(self, vote_id: str) -> str: ...
        def _board_from_restatement(self, by: str, entries: list[tuple[str, bytes]], now: float) -> Board | None: ...
        def _apply_live(self, b: Board, sender: str, msg: wire.VoteMessage, now: float) -> None: ...
        def _synced(self, b: Board) -> None: ...

    def _init_sync(self) -> None:
        self.sync = SyncCounters()
        self.sync_state: dict[str, SyncState] = {}
        self._building: dict[str, _Building] = {}
        self._pending: dict[str, list[tuple[str, wire.VoteMessage]]] = {}
        self._early_digests: dict[str, list[tuple[str, int, bytes]]] = {}
        self._asked_at: float | None = None
        self._asks = 0
        self._answered: dict[str, float] = {}
        self._heard_back = False
        self._ask_id = secrets.token_hex(8)
        self._answered_ids: set[tuple[str, str]] = set()

    # ------------------------------------------------------------ asking

    def request_sync(self, now: float) -> None:
        """Ask the room for the boards we lack (a started client; :meth:`sync_tick` asks again).
        Every ask of one client carries the same random id: members answer an id once."""
        self._asked_at, self._asks = now, self._asks + 1
        self.sync.sync_sent += 1
        self._send(wire.Sync(f"{self._ask_id}/{self._asks}"))

    def sync_tick(self, now: float) -> None:
        if self._asked_at is not None and not self._heard_back and self._asks < SYNC_TRIES \
                and now - self._asked_at >= SYNC_RETRY_S:
            self.request_sync(now)

    def _shared(self) -> list[str]:
        """The votes a newcomer is told about: every one not over, and the last finished ones."""
        done = [v for v, b in self.boards.items() if b.stage in ("tallied", "failed")]
        keep = set(done[-RESTATE_DONE:])
        return [v for v, b in self.boards.items() if b.stage not in ("tallied", "failed") or v in keep]

    def _restater(self, b: Board, asker: str, attempt: int) -> str | None:
        """Who restates ``b`` to ``asker``: its chair, then the other members in roster order, one
        per attempt (a restater that is in the roster but gone leaves the next ask to the next)."""
        chair = b.manifest.chair
        here = [n for n in self.present() if n != asker and n != chair]
        if chair in self.present() and chair != asker:
            here.insert(0, chair)
        return here[(attempt - 1) % len(here)] if here else None

    def _answer(self, asker: str, ask_id: str, now: float) -> None:
        head, _, tail = ask_id.rpartition("/")
        attempt = int(tail) if head and tail.isdigit() and 0 < int(tail) <= SYNC_TRIES else 1
        if asker == self.me:
            return
        last = self._answered.get(asker)
        self._answered[asker] = now  # the member's last ask, answered or not
        if (asker, ask_id) in self._answered_ids or (last is not None and now - last < SYNC_ANSWER_EVERY_S):
            return
        if len(self._answered_ids) < 4096:
            self._answered_ids.add((asker, ask_id))
        answered = False
        for vid in self._shared():
            b = self.boards[vid]
            if self._restater(b, asker, attempt) == self.me:
                n = len(b.entries)
                for i, e in enumerate(b.entries):
                    self._send(wire.Restated(vid, i, n, e.sender, e.message))
                self.sync.restated_sent += 1
            else:
                self._send(wire.Digest(vid, len(b.entries), b.digest()))
            answered = True
        self.sync.sync_answered += answered

    # ------------------------------------------------------------ receiving

    def _sync_message(self, sender: str, msg: wire.SyncMessage, now: float) -> None:
        if isinstance(msg, wire.Sync):
            self._answer(sender, msg.vote_id, now)
            return
        if sender != self.me and isinstance(msg, wire.Restated):
            self._heard_back = True  # (digests alone do not do: their restater may be gone)
        if isinstance(msg, wire.Digest):
            self._digest(sender, msg.vote_id, msg.count, msg.digest)
            return
        self._restated(sender, msg, now)

    def _restated(self, sender: str, msg: wire.Restated, now: float) -> None:
        vid = msg.vote_id
        if vid in self.boards:
            self.sync.restated_ignored += 1
            return
        bl = self._building.get(vid)
        if bl is None:
            if msg.position != 0 or sender == self.me:
                self.sync.restated_ignored += 1
                return
            if msg.total > MAX_RESTATED_ENTRIES:
                self.sync.restated_refused += 1
                return
            bl = self._building[vid] = _Building(sender, msg.total)
        if bl.by != sender:
            self.sync.restated_ignored += 1  # a second restater: the first one's board is being built
            return
        if msg.position != len(bl.entries) or msg.total != bl.total:
            self.sync.restated_refused += 1
            del self._building[vid]
            return
        held = sum(b.size for b in self._building.values())  # a few boards at most
        if held + len(msg.message) > MAX_BUILDING_BYTES:
            self.sync.restated_refused += 1
            del self._building[vid]
            return
        bl.entries.append((msg.sender, msg.message))
        bl.size += len(msg.message)
        if len(bl.entries) < bl.total:
            return
        del self._building[vid]
        b = self._board_from_restatement(sender, bl.entries, now)
        if b is None:
            self.sync.restated_refused += 1
            return
        self.sync.restated_boards += 1
        st = self.sync_state[vid] = SyncState(sender)
        seen = {(s, m) for s, m in bl.entries}
        for s, live in self._pending.pop(vid, []):
            if (s, bytes(live)) not in seen:
                self._apply_live(b, s, live, now)
        for d in self._early_digests.pop(vid, []):
            st.digests.append(d)
        self._check_digests(vid)

    def _keep_pending(self, sender: str, msg: wire.VoteMessage) -> bool:
        """A live message of a vote we have no board of, while we wait for its restatement."""
        if self._asked_at is None or isinstance(msg, wire.Open):
            return False
        if sum(len(v) for v in self._pending.values()) >= MAX_PENDING:
            self.sync.pending_dropped += 1
            return False
        self._pending.setdefault(msg.vote_id, []).append((sender, msg))
        self.sync.pending_kept += 1
        return True

    def _digest(self, sender: str, vid: str, count: int, digest: bytes) -> None:
        if sender == self.me:
            return
        if vid not in self.boards:
            early = self._early_digests.setdefault(vid, [])
            if len(early) < 64:
                early.append((sender, count, digest))
            return
        st = self.sync_state.get(vid)
        if st is None:  # our own board (we followed the vote live): a cross-check only
            b = self.boards[vid]
            if count <= len(b.entries) and b.digest(count) != digest:
                self.sync.digests_disputed += 1
            return
        st.digests.append((sender, count, digest))
        self._check_digests(vid)

    def _check_digests(self, vid: str) -> None:
        """Compare the digests we can (their count within our board) with our board's."""
        st, b = self.sync_state[vid], self.boards[vid]
        later = []
        was = bool(st.confirmed_by)
        for who, count, digest in st.digests:
            if count > len(b.entries):
                later.append((who, count, digest))
                continue
            if who == st.restated_by:
                continue
            try:
                ok = b.digest(count) == digest
            except ProtocolError:
                ok = False
            if ok:
                st.confirmed_by.add(who)
                self.sync.digests_matched += 1
            else:
                st.disputed_by.add(who)
                self.sync.digests_disputed += 1
                self._events.append(VoteEvent("rejected", vid, who, f"disputed: the board {st.restated_by} restated "
                                              f"disagrees with {who}'s"))
        st.digests = later
        if st.confirmed_by and not was:
            self._events.append(VoteEvent("confirmed", vid, ", ".join(sorted(st.confirmed_by))))
            self._synced(b)

    def confirmed(self, vote_id: str) -> bool:
        """Whether we may act on board ``vote_id``: followed live, or restated and confirmed by
        another member's matching digest."""
        st = self.sync_state.get(vote_id)
        return st is None or bool(st.confirmed_by)
