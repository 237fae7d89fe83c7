"""The vote protocol of one client (sans-I/O): open, cast, close, tally, result.

:class:`VoteCore` takes room events (``receive(payload, sender, now)``, ``sender`` the verified
member name that signed the event) and returns the vote messages to send
(:meth:`VoteCore.data_to_send`: ``(stream, payload)`` pairs for
:meth:`~vrdiplomacy.net.client_io.Client.send_event`) and what happened
(:meth:`VoteCore.next_event`). The clock is passed in. Nothing is applied when it is sent: every
message, our own included, changes state only when it comes back from the relay in room order
(the relay echoes a room event to its sender), so every client applies the same messages in the
same order and computes the same boards and results.

Roles:

* **chair** (``is_chair(name)``, from the signed roster; the meeting layer provides it): opens a vote
  on an agenda item (:meth:`VoteCore.open`) and closes it (:meth:`VoteCore.close`, or
  automatically at ``closes_at`` in :meth:`VoteCore.tick`).
* **trustees** (named in the manifest): their cores run the key ceremony and the partial
  decryptions by themselves — commit when the vote opens, deal shares once every commitment is in,
  check their shares, decrypt the sums when the vote closes.
* **voters** (named in the manifest): :meth:`VoteCore.cast` — a plain signed choice in a recorded
  vote, an encrypted ballot with proofs in a secret one.

Every client verifies every proof (:class:`~vrdiplomacy.ballot.board.Board`); a bad message is
rejected with a reason and counted, never raised.

**Meeting-session binding** (``session``): where the room names its meeting session (a nonce every
member knows; :func:`vrdiplomacy.ballot.roles.meeting_nonce` derives it from the room authority's
admission key, fresh each time the chair's client starts the room), a vote's id ends in
``@<nonce>`` (:func:`session_vote_id`) and an opening whose id carries another nonce is rejected
("stale"): an old vote replayed to a fresh client, from an earlier meeting in the same room, opens
nowhere. The id is in the manifest, hence in the ceremony id and every proof's transcript.

**Trustee persistence** (``keystore``, a :class:`~vrdiplomacy.ballot.keystore.TrusteeStore`): a
trustee's secrets are written before its commitment goes out and again once its key share is
known; a restarted client that sees the vote again (the board replayed) takes them up instead of
starting a second ceremony, so it can still decrypt. The file goes once the vote is tallied.

**Missed messages** (a restarted client's new keys cannot open what was sealed before; a late
joiner): the client asks, one member restates the boards and the others confirm them by digest
(:mod:`vrdiplomacy.ballot.sync`).

**Deadlines** (a vote whose trustees or voters left must not hang): the chair's client closes a
vote at its closing time; a secret ballot whose key ceremony has not finished
``deadline_s`` after its opening, or whose tally has not ``deadline_s`` after its close, is
declared failed (:class:`~vrdiplomacy.ballot.wire.Fail`); every board then names the trustees that
were missing (:attr:`~vrdiplomacy.ballot.board.Board.failure`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from vrdiplomacy.ballot import wire
from vrdiplomacy.ballot.board import Board, Result, opening
from vrdiplomacy.ballot.ceremony import CeremonyError, Trustee
from vrdiplomacy.ballot.election import Manifest, encrypt_ballot
from vrdiplomacy.ballot.events import VoteEvent
from vrdiplomacy.ballot.keystore import TrusteeStore
from vrdiplomacy.ballot.sync import BoardSync
from vrdiplomacy.errors import ConfigError, ProtocolError

STREAM = wire.STREAM
MAX_EVENT = 7600  # bytes of one vote message: a sealed room event carries about 8 KB (larger openings go in parts)
DEFAULT_DEADLINE_S = 120.0  # a secret ballot's key ceremony, and its tally after the close, must finish within this
MAX_VOTES = 256  # votes one client keeps (the oldest tallied ones are dropped first)
SESSION_SEP = "@"


def session_vote_id(label: str, nonce: str) -> str:
    """The id of vote ``label`` ("item-4/1") in the meeting session ``nonce``."""
    if not label or SESSION_SEP in label:
        raise ConfigError(f"a vote's label is a non-empty name without '{SESSION_SEP}', not {label!r}")
    return f"{label}{SESSION_SEP}{nonce}"


def vote_label(vote_id: str) -> str:
    """The label people use for a vote (its id without the meeting-session nonce)."""
    return vote_id.rsplit(SESSION_SEP, 1)[0] if SESSION_SEP in vote_id else vote_id


@dataclass
class VoteCounters:
    received: int = 0
    malformed: int = 0
    unknown_vote: int = 0
    rejected: int = 0
    stale: int = 0  # openings of another meeting session (replayed old votes)
    sent: int = 0
    trustee_restored: int = 0  # ceremonies taken up again from the key store after a restart

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class VoteCore(BoardSync):
    """One client's side of every vote in a room (see the module docstring).

    me: our verified member name; is_chair: whether a member may open and close votes;
    session: the meeting session's nonce now (None while unknown), or None for no binding;
    keystore: where our trustee secrets are kept across restarts (None: in memory only);
    present: the members in the room now, in roster order (who restates a board to a newcomer).
    """

    def __init__(self, me: str, is_chair: Callable[[str], bool], session: Callable[[], str | None] | None = None,
                 keystore: TrusteeStore | None = None, present: Callable[[], Sequence[str]] | None = None) -> None:
        self.me = me
        self.is_chair = is_chair
        self.session = session
        self.keystore = keystore
        self.present = present or (lambda: ())
        self.deadlines: dict[str, float] = {}  # vote id -> deadline_s of the votes we chair (default DEFAULT_DEADLINE_S)
        self._since: dict[str, tuple[str, float]] = {}  # vote id -> (stage, when we saw it reach that stage)
        self._fail_sent: set[str] = set()
        self._init_sync()
        self.boards: dict[str, Board] = {}
        self.counters = VoteCounters()
        self._trustee: dict[str, Trustee] = {}
        self._dealt: set[str] = set()
        self._decrypted: set[str] = set()
        self._close_sent: set[str] = set()
        self._out: deque[tuple[str, bytes]] = deque()
        self._events: deque[VoteEvent] = deque(maxlen=4096)
        self._opening: dict[str, list[wire.OpenPart]] = {}  # sender -> the parts of its opening so far

    # ------------------------------------------------------------ local actions

    def open(self, manifest: Manifest) -> None:
        """Open a vote (we must be its chair)."""
        manifest.check()
        if manifest.chair != self.me or not self.is_chair(self.me):
            raise ConfigError("only the chair opens a vote")
        if manifest.vote_id in self.boards:
            raise ConfigError(f"vote {manifest.vote_id!r} exists")
        stale = self._stale(manifest.vote_id)
        if stale:
            raise ConfigError(stale)
        # each message fits one sealed room event even when a member restates it (ballot/sync.py)
        limit = MAX_EVENT - len(bytes(wire.Restated(manifest.vote_id, 0, 1, manifest.chair, b"")))
        try:
            msgs = wire.open_messages(manifest, limit)
        except ProtocolError as e:
            raise ConfigError(f"{e}: fewer voters or shorter names") from e
        for msg in msgs:
            self._send(msg)

    def cast(self, vote_id: str, choice: int | str) -> None:
        """Vote ``choice`` (option index or name) in ``vote_id``."""
        b = self.boards.get(vote_id)
        if b is None:
            raise ConfigError(f"no vote {vote_id!r}")
        m = b.manifest
        idx = m.options.index(choice) if isinstance(choice, str) and choice in m.options else choice
        if not isinstance(idx, int) or not 0 <= idx < len(m.options):
            raise ConfigError(f"{choice!r} is not one of {', '.join(m.options)}")
        if self.me not in m.voters:
            raise ConfigError(f"{self.me} is not a voter in {vote_id!r}")
        if b.stage != "open":
            raise ConfigError(f"vote {vote_id!r} is {b.stage}, not open")
        if self.me in b.ballots or self.me in b.recorded:
            raise ConfigError(f"{self.me} already voted in {vote_id!r}")
        if not self.confirmed(vote_id):  # a forged board could carry a key its restater can decrypt with
            raise ConfigError(f"vote {vote_id!r} ran before this client joined and no other member has confirmed "
                              "the board restated to it yet; try again in a moment")
        if m.secret:
            assert b.context is not None
            self._send(wire.Cast(vote_id, encrypt_ballot(b.context, self.me, idx)))
        else:
            self._send(wire.RecordedCast(vote_id, self.me, idx))

    def close(self, vote_id: str) -> None:
        b = self.boards.get(vote_id)
        if b is None or b.manifest.chair != self.me:
            raise ConfigError(f"we do not chair vote {vote_id!r}")
        if vote_id not in self._close_sent and b.stage in ("ceremony", "open"):
            self._close_sent.add(vote_id)
            self._send(wire.Close(vote_id))

    def tick(self, now: float) -> None:
        """The chair's client closes its votes at their closing time and declares a secret ballot
        failed whose ceremony or tally is past its deadline; a client that asked for boards asks
        again while nobody answered."""
        self.sync_tick(now)
        for vid, b in self.boards.items():
            if b.manifest.chair != self.me:
                continue
            if b.manifest.closes_at and now >= b.manifest.closes_at:
                self.close(vid)
            stage, since = self._since.get(vid, (b.stage, now))
            if stage == b.stage and b.stage in ("ceremony", "closed") and vid not in self._fail_sent \
                    and now - since >= self.deadlines.get(vid, DEFAULT_DEADLINE_S):
                self._fail_sent.add(vid)
                absent = b.absent_trustees()
                self._send(wire.Fail(vid, f"deadline passed; waiting for {', '.join(absent) or 'nobody'}"))

    def _stage_seen(self, b: Board, now: float) -> None:
        vid = b.manifest.vote_id
        if self._since.get(vid, ("",))[0] != b.stage:
            self._since[vid] = (b.stage, now)

    # ------------------------------------------------------------ network input

    def receive(self, payload: bytes, sender: str, now: float = 0.0) -> None:
        """Fold in one room event (any event: ones that are not votes are ignored)."""
        if not wire.is_vote(payload):
            return
        self.counters.received += 1
        try:
            msg = wire.parse(payload)
        except ProtocolError as e:
            self.counters.malformed += 1
            self._events.append(VoteEvent("rejected", "", sender, f"malformed: {e}"))
            return
        if isinstance(msg, (wire.Sync, wire.Restated, wire.Digest)):
            self._sync_message(sender, msg, now)
            return
        if isinstance(msg, wire.Open):
            self._opened(sender, msg, now)
            return
        if isinstance(msg, wire.OpenPart):
            self._open_part(sender, msg, now)
            return
        b = self.boards.get(msg.vote_id)
        if b is None:
            if not self._keep_pending(sender, msg):
                self.counters.unknown_vote += 1
            return
        self._apply_live(b, sender, msg, now)

    def _apply_live(self, b: Board, sender: str, msg: wire.VoteMessage, now: float) -> None:
        """One message on an existing board, with its events, and what we owe as a trustee."""
        before = b.stage
        reason = b.apply(sender, msg)
        if reason:
            self.counters.rejected += 1
            self._events.append(VoteEvent("rejected", msg.vote_id, sender, reason))
        else:
            if isinstance(msg, (wire.Cast, wire.RecordedCast)):
                self._events.append(VoteEvent("accepted", msg.vote_id, sender))
            if b.stage != before:
                self._stage_events(b, before, sender)
        self._stage_seen(b, now)
        if msg.vote_id in self.sync_state:
            self._check_digests(msg.vote_id)
        self._act_as_trustee(b)

    def _stage_events(self, b: Board, before: str, sender: str, detail: str = "") -> None:
        vid = b.manifest.vote_id
        if b.stage == "failed":
            self._events.append(VoteEvent("failed", vid, sender, b.failure))
            return
        kind = {"open": "ready", "closed": "closed", "tallied": "tallied"}[b.stage]
        if kind == "tallied" and before == "open":
            self._events.append(VoteEvent("closed", vid, sender, detail))
        self._events.append(VoteEvent(kind, vid, sender, detail, result=b.result))

    def _board_from_restatement(self, by: str, entries: list[tuple[str, bytes]], now: float) -> Board | None:
        """A board rebuilt from ``by``'s restated entries (see :mod:`vrdiplomacy.ballot.sync`),
        every message checked again here; None when it does not start with its chair's opening."""
        try:
            b, n = opening(entries)
        except ProtocolError:
            return None
        m = b.manifest
        if not self.is_chair(m.chair) or self._stale(m.vote_id) or m.vote_id in self.boards:
            return None
        for sender, data in entries[n:]:
            try:
                msg = wire.parse(data)
            except ProtocolError:
                return None
            if not isinstance(msg, (wire.Open, wire.Commit, wire.Shares, wire.Cast, wire.RecordedCast, wire.Close,
                                    wire.Partial, wire.Fail)) or msg.vote_id != m.vote_id:
                return None
            b.apply(sender, msg)
        if not self._room_for(m.vote_id):
            return None
        self.boards[m.vote_id] = b
        self._since[m.vote_id] = (b.stage, now)
        self._events.append(VoteEvent("restated", m.vote_id, by))
        if b.stage in ("tallied", "failed"):
            self._stage_events(b, b.stage, by, "restated")
        self._take_up_trustee(b, restated=True)
        return b

    def _synced(self, b: Board) -> None:
        """A restated board was confirmed: what we owe as a trustee on it."""
        self._act_as_trustee(b)

    def _open_part(self, sender: str, part: wire.OpenPart, now: float) -> None:
        """A piece of an opening: kept until its last one (a sender's events arrive in order)."""
        if not self.is_chair(sender):
            self._opening.pop(sender, None)
            self.counters.rejected += 1
            self._events.append(VoteEvent("rejected", part.vote_id, sender, f"not the chair: {sender}"))
            return
        have = [] if part.index == 0 else self._opening.pop(sender, [])
        if part.index != len(have) or (have and (have[0].vote_id, have[0].count) != (part.vote_id, part.count)):
            self._opening.pop(sender, None)
            self.counters.malformed += 1
            self._events.append(VoteEvent("rejected", part.vote_id, sender,
                                          f"malformed: opening part {part.index} of {part.count} out of sequence"))
            return
        have.append(part)
        if len(have) < part.count:
            self._opening[sender] = have
            return
        try:
            whole = wire.join_open(have)
        except ProtocolError as e:
            self.counters.malformed += 1
            self._events.append(VoteEvent("rejected", part.vote_id, sender, f"malformed: {e}"))
            return
        self._opened(sender, whole, now, have)

    def _opened(self, sender: str, msg: wire.Open, now: float = 0.0, parts: list[wire.OpenPart] | None = None) -> None:
        m = msg.manifest
        if m.vote_id in self.boards:
            self.counters.rejected += 1
            self._events.append(VoteEvent("rejected", m.vote_id, sender, "duplicate: vote already open"))
            return
        if sender != m.chair or not self.is_chair(sender):
            self.counters.rejected += 1
            self._events.append(VoteEvent("rejected", m.vote_id, sender, f"not the chair: {sender}"))
            return
        stale = self._stale(m.vote_id)
        if stale:
            self.counters.rejected += 1
            self.counters.stale += 1
            self._events.append(VoteEvent("rejected", m.vote_id, sender, stale))
            return
        if not self._room_for(m.vote_id):
            self.counters.rejected += 1
            return
        b = Board.opened(sender, msg, parts)
        self.boards[m.vote_id] = b
        self._since[m.vote_id] = (b.stage, now)
        self._events.append(VoteEvent("opened", m.vote_id, sender))
        if b.stage == "open":
            self._events.append(VoteEvent("ready", m.vote_id, sender))
        self._take_up_trustee(b, restated=False)

    def _room_for(self, vote_id: str) -> bool:
        """Whether one more board fits (the oldest finished one goes if need be)."""
        if len(self.boards) < MAX_VOTES:
            return True
        done = [v for v, b in self.boards.items() if b.stage in ("tallied", "failed")]
        if not done:
            return False
        del self.boards[done[0]]
        return True

    def _take_up_trustee(self, b: Board, restated: bool) -> None:
        """Our trustee part in a vote we just got the board of: the secrets from our key file
        after a restart, else a fresh one (unless the ceremony went on without us: then our part is
        lost, and said so)."""
        m = b.manifest
        idx = m.trustee_index(self.me)
        if not idx:
            return
        t = None
        if self.keystore is not None:
            try:
                t = self.keystore.load(b.ceremony_id, idx)
            except CeremonyError as e:
                self._events.append(VoteEvent("ceremony_failed", m.vote_id, self.me, str(e)))
                return
        if t is not None:  # we took part before a restart: the same secrets, no second commitment
            self.counters.trustee_restored += 1
            self._trustee[m.vote_id] = t
            if t.key_share is not None or idx in b.shares:  # ours went out already
                self._dealt.add(m.vote_id)
            if restated and idx not in b.commitments and b.stage == "ceremony":  # it never went out
                self._send(wire.Commit(m.vote_id, t.commitment()))
            if not restated:
                self._act_as_trustee(b)
            return
        if restated and (idx in b.commitments or b.stage != "ceremony"):
            if b.stage not in ("tallied", "failed"):
                self._events.append(VoteEvent("ceremony_failed", m.vote_id, self.me,
                                              "our trustee key share of this vote is lost (no key file): the other "
                                              "trustees must decrypt without us"))
            return
        t = Trustee(b.ceremony_id, idx, len(m.trustees), m.threshold)
        self._trustee[m.vote_id] = t
        self._keep(t)
        self._send(wire.Commit(m.vote_id, t.commitment()))

    def _stale(self, vote_id: str) -> str:
        """Why vote ``vote_id`` is not of our meeting session ("" if it is, or nothing binds it)."""
        if self.session is None:
            return ""
        nonce = self.session()
        if nonce is None:
            return f"stale: vote {vote_id} arrived before this client knew its meeting session"
        if not vote_id.endswith(SESSION_SEP + nonce):
            return f"stale: vote {vote_id} is not of this meeting session ({nonce})"
        return ""

    def _keep(self, t: Trustee) -> None:
        if self.keystore is not None:
            try:
                self.keystore.save(t)
            except OSError as e:  # the vote goes on; only a restart would lose the share
                self._events.append(VoteEvent("rejected", "", self.me, f"cannot keep the trustee key share: {e}"))

    def _act_as_trustee(self, b: Board) -> None:
        vid = b.manifest.vote_id
        t = self._trustee.get(vid)
        if t is None or not self.confirmed(vid):
            return
        if t.index in b.shares:
            self._dealt.add(vid)
        if t.index in b.partials:
            self._decrypted.add(vid)
        n = len(b.manifest.trustees)
        comms = [b.commitments[i] for i in sorted(b.commitments)]
        if len(comms) == n and vid not in self._dealt:
            self._dealt.add(vid)
            self._send(wire.Shares(vid, t.index, tuple(sorted(t.shares_for(comms).items()))))
        if len(b.shares) == n and t.key_share is None and len(comms) == n:
            try:
                t.receive_shares(comms, {d: s[t.index] for d, s in b.shares.items() if d != t.index})
            except CeremonyError as e:
                self._events.append(VoteEvent("ceremony_failed", vid, self.me, str(e)))
                self._trustee.pop(vid)
                return
            self._keep(t)
        if b.stage == "closed" and t.key_share is not None and vid not in self._decrypted:
            self._decrypted.add(vid)
            assert b.context is not None
            self._send(wire.Partial(vid, t.index, tuple(t.partial(b.context.hash, b.sums))))
        if b.stage in ("tallied", "failed") and self.keystore is not None:
            self.keystore.forget(t.ceremony, t.index)  # done: the secret share is of no further use

    # ------------------------------------------------------------ output

    def _send(self, msg: wire.VoteMessage | wire.SyncMessage) -> None:
        self.counters.sent += 1
        self._out.append((STREAM, bytes(msg)))

    def data_to_send(self) -> list[tuple[str, bytes]]:
        out = list(self._out)
        self._out.clear()
        return out

    def next_event(self) -> VoteEvent | None:
        return self._events.popleft() if self._events else None

    def trustee_done(self, vote_id: str) -> bool:
        """Whether we owe vote ``vote_id`` nothing more as a trustee: not one of its trustees, our
        partial decryption is on the board, or our part of the ceremony failed."""
        b = self.boards.get(vote_id)
        if b is None:
            return True
        idx = b.manifest.trustee_index(self.me)
        return not idx or idx in b.partials or vote_id not in self._trustee

    def result(self, vote_id: str) -> Result | None:
        b = self.boards.get(vote_id)
        return None if b is None else b.result
