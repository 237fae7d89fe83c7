"""The bulletin board of one vote: every vote message in room order, checked, and its result.

:class:`Board` is a deterministic state machine: every client feeds it the same messages in the
relay's order (``apply(sender, message)``, ``sender`` the verified member name that signed the
event) and gets the same accepted ballots and the same result. A message is either accepted or
rejected with a reason (counted; a rejection never raises). The board's JSON form
(:meth:`Board.to_json`) is the list of entries with their verdicts and the declared result;
:func:`verify_board` replays it from scratch, so anyone can check a published vote offline
(``vrdiplomacy vote verify BOARD.json``).

Stages: ``ceremony`` (secret votes: waiting for every trustee's commitment and shares) → ``open``
(ballots accepted) → ``closed`` (the chair closed it; trustees decrypt the sums) → ``tallied``;
or ``failed``: the chair closed a secret ballot whose key ceremony never finished, or declared
the tally's deadline passed (:class:`~vrdiplomacy.ballot.wire.Fail`) while too few trustees had
decrypted. The board itself names the trustees that were missing (:attr:`Board.failure`), so every
client shows the same reason ("tally failed: trustees France, Germany absent").

Ballot rules (each a rejection reason): the sender signs as the voter it names; the voter is in
the electorate; one ballot per voter (a second is ``duplicate``); no ciphertext may repeat an
earlier ballot's (``copy``: a copied ballot re-labelled for another voter also fails its proofs,
since they hash the voter id); every proof verifies; nothing after the close.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from vrdiplomacy.ballot import ceremony as ce
from vrdiplomacy.ballot import group as g
from vrdiplomacy.ballot import proofs as zk
from vrdiplomacy.ballot import wire
from vrdiplomacy.ballot.election import ElectionContext, Manifest, verify_ballot
from vrdiplomacy.errors import CryptoError, ProtocolError

BOARD_FORMAT = "vrdiplomacy-board/1"
MAX_REJECTED_KEPT = 1000  # rejected entries kept on one board (the rest only counted)


@dataclass
class Entry:
    """One message on the board: who signed it, its bytes, and the verdict ("" = accepted)."""

    sender: str
    message: bytes
    rejected: str = ""


@dataclass(frozen=True)
class Result:
    """A vote's outcome: counts per option; for a recorded vote, each voter's choice too."""

    vote_id: str
    options: tuple[str, ...]
    counts: tuple[int, ...]
    ballots: int
    choices: tuple[tuple[str, str], ...] = ()  # recorded votes: (voter, option)

    def as_dict(self) -> dict[str, Any]:
        return {"vote_id": self.vote_id, "counts": dict(zip(self.options, self.counts)), "ballots": self.ballots,
                "choices": dict(self.choices)}


@dataclass
class Board:
    """The board of the vote ``manifest`` opened (see the module docstring)."""

    manifest: Manifest
    entries: list[Entry] = field(default_factory=list)
    stage: str = "ceremony"
    commitments: dict[int, ce.Commitment] = field(default_factory=dict)
    shares: dict[int, dict[int, bytes]] = field(default_factory=dict)  # dealer -> to -> sealed
    ballots: dict[str, wire.Cast] = field(default_factory=dict)
    recorded: dict[str, int] = field(default_factory=dict)
    partials: dict[int, tuple[tuple[g.Point, zk.DleqProof], ...]] = field(default_factory=dict)
    sums: tuple[zk.Ciphertext, ...] = ()
    result: Result | None = None
    rejected: Counter[str] = field(default_factory=Counter)
    context: ElectionContext | None = None
    failure: str = ""  # why the vote failed (stage "failed")
    _seen_points: set[bytes] = field(default_factory=set)
    _chain: list[bytes] = field(default_factory=list)  # hash chain over the entries (see digest)

    def __post_init__(self) -> None:
        if not self.manifest.secret:
            self.stage = "open"

    @classmethod
    def opened(cls, sender: str, msg: wire.Open, parts: list[wire.OpenPart] | None = None) -> Board:
        """The board of the vote ``msg`` opens; ``parts``: the pieces it came in (its first entries)."""
        b = cls(msg.manifest)
        b.entries.extend(Entry(sender, bytes(p)) for p in (parts or [msg]))
        return b

    # ------------------------------------------------------------ input

    def apply(self, sender: str, msg: wire.VoteMessage) -> str:
        """Fold in one message; returns "" if accepted, else the reason it was rejected."""
        try:
            self._apply(sender, msg)
            reason = ""
        except (CryptoError, ProtocolError) as e:
            reason = str(e) or type(e).__name__
        if reason:
            self.rejected[reason.split(":")[0]] += 1
            if sum(self.rejected.values()) > MAX_REJECTED_KEPT:
                return reason  # counted, not kept: a flood of bad ballots cannot grow the board without bound
        self.entries.append(Entry(sender, bytes(msg), reason))
        return reason

    def digest(self, count: int | None = None) -> bytes:
        """The hash chain of the first ``count`` entries (default: all): SHA-256 over the previous
        link, then each entry's sender, message and verdict (accepted or not). Two clients whose
        boards hold the same entries in the same order have the same digest."""
        n = len(self.entries) if count is None else count
        if not 0 <= n <= len(self.entries):
            raise ProtocolError(f"the board has {len(self.entries)} entries, not {n}")
        while len(self._chain) < n:
            e = self.entries[len(self._chain)]
            prev = self._chain[-1] if self._chain else b"vrdiplomacy/board-chain/v1"
            h = hashlib.sha256(prev)
            for part in (e.sender.encode(), e.message):
                h.update(len(part).to_bytes(4, "big") + part)
            h.update(b"\x01" if e.rejected else b"\x00")
            self._chain.append(h.digest())
        return self._chain[n - 1] if n else b"\x00" * 32

    def _apply(self, sender: str, msg: wire.VoteMessage) -> None:
        m = self.manifest
        if isinstance(msg, (wire.Open, wire.OpenPart)):
            raise ProtocolError("vote already open")
        if isinstance(msg, wire.Close):
            if sender != m.chair:
                raise ProtocolError(f"only the chair closes: {sender}")
            if self.stage in ("closed", "tallied", "failed"):
                raise ProtocolError("already closed")
            self._close()
            return
        if isinstance(msg, wire.Fail):
            if sender != m.chair:
                raise ProtocolError(f"only the chair declares a vote failed: {sender}")
            if self.stage not in ("ceremony", "closed"):
                raise ProtocolError(f"a vote {self.stage} cannot fail")
            self._fail()
            return
        if self.stage == "failed":
            raise ProtocolError("failed: the vote failed before this message")
        if isinstance(msg, wire.Commit):
            self._commit(sender, msg)
        elif isinstance(msg, wire.Shares):
            self._shares(sender, msg)
        elif isinstance(msg, (wire.Cast, wire.RecordedCast)):
            self._cast(sender, msg)
        elif isinstance(msg, wire.Partial):
            self._partial(sender, msg)

    def _trustee(self, sender: str, index: int) -> None:
        if not self.manifest.secret:
            raise ProtocolError("a recorded vote has no trustees")
        if self.manifest.trustee_index(sender) != index:
            raise ProtocolError(f"not trustee {index}: {sender}")

    def _commit(self, sender: str, msg: wire.Commit) -> None:
        c = msg.commitment
        self._trustee(sender, c.index)
        if c.index in self.commitments:
            raise ProtocolError(f"duplicate: trustee {c.index} already committed")
        c.verify(self.ceremony_id, self.manifest.threshold)
        self.commitments[c.index] = c
        if len(self.commitments) == len(self.manifest.trustees):
            self.context = ElectionContext(self.manifest, ce.joint_key(list(self.commitments.values())))
            self._maybe_open()

    def _shares(self, sender: str, msg: wire.Shares) -> None:
        self._trustee(sender, msg.dealer)
        if msg.dealer in self.shares:
            raise ProtocolError(f"duplicate: trustee {msg.dealer} already dealt")
        others = {i for i in range(1, len(self.manifest.trustees) + 1) if i != msg.dealer}
        if {to for to, _ in msg.sealed} != others or len(msg.sealed) != len(others):
            raise ProtocolError(f"trustee {msg.dealer} dealt to the wrong trustees")
        self.shares[msg.dealer] = dict(msg.sealed)
        self._maybe_open()

    def _maybe_open(self) -> None:
        n = len(self.manifest.trustees)
        if self.stage == "ceremony" and len(self.commitments) == n and len(self.shares) == n:
            self.stage = "open"

    def _cast(self, sender: str, msg: wire.Cast | wire.RecordedCast) -> None:
        m = self.manifest
        voter = msg.ballot.voter if isinstance(msg, wire.Cast) else msg.voter
        if self.stage in ("closed", "tallied"):
            raise ProtocolError("closed: the vote was closed before this ballot")
        if self.stage != "open":
            raise ProtocolError("not open: the key ceremony is not finished")
        if voter != sender:
            raise ProtocolError(f"impersonation: ballot for {voter!r} signed by {sender!r}")
        if voter not in m.voters:
            raise ProtocolError(f"not a voter: {voter!r}")
        if voter in self.ballots or voter in self.recorded:
            raise ProtocolError(f"duplicate: {voter!r} already voted")
        if isinstance(msg, wire.RecordedCast):
            if m.secret:
                raise ProtocolError("a secret vote takes encrypted ballots only")
            if not 0 <= msg.choice < len(m.options):
                raise ProtocolError(f"no option {msg.choice}")
            self.recorded[voter] = msg.choice
            return
        if not m.secret or self.context is None:
            raise ProtocolError("a recorded vote takes plain choices only")
        pts = {p for c in msg.ballot.ciphertexts for p in (c.a, c.b)}
        if pts & self._seen_points:
            raise ProtocolError("copy: the ballot repeats a ciphertext of an earlier ballot")
        verify_ballot(self.context, msg.ballot)
        self._seen_points |= pts
        self.ballots[voter] = msg

    def absent_trustees(self) -> tuple[str, ...]:
        """The trustees the vote still waits for: in the ceremony, those whose commitment or shares
        are missing; once closed, those who have not published their partial decryption."""
        m = self.manifest
        if not m.secret or self.stage in ("open", "tallied"):
            return ()
        if self.stage == "ceremony" or (self.stage == "failed" and len(self.shares) < len(m.trustees)):
            if len(self.commitments) < len(m.trustees):  # shares are dealt once every commitment is in
                return tuple(t for i, t in enumerate(m.trustees, 1) if i not in self.commitments)
            return tuple(t for i, t in enumerate(m.trustees, 1) if i not in self.shares)
        return tuple(t for i, t in enumerate(m.trustees, 1) if i not in self.partials)

    def not_voted(self) -> tuple[str, ...]:
        """The voters with no accepted ballot (in the manifest's order); none in a secret ballot
        whose key was never made (nobody could vote)."""
        n = len(self.manifest.trustees)
        if self.manifest.secret and (len(self.commitments) < n or len(self.shares) < n):
            return ()
        return tuple(v for v in self.manifest.voters if v not in self.ballots and v not in self.recorded)

    def _fail(self) -> None:
        m = self.manifest
        absent = self.absent_trustees()
        if self.stage == "ceremony":
            why = "the trustees' key was never made"
        else:
            why = f"tally failed: {len(self.partials)} of {m.threshold} partial decryptions needed"
        self.stage = "failed"
        self.failure = why + (f"; trustee{'s' if len(absent) > 1 else ''} {', '.join(absent)} absent" if absent else "")

    def _close(self) -> None:
        m = self.manifest
        if self.stage == "ceremony":  # a secret ballot closed before its key was made: no ballot could be cast
            self._fail()
            return
        if not m.secret:
            counts = [0] * len(m.options)
            for c in self.recorded.values():
                counts[c] += 1
            self.stage = "tallied"
            self.result = Result(m.vote_id, m.options, tuple(counts), len(self.recorded),
                                 tuple((v, m.options[c]) for v, c in sorted(self.recorded.items())))
            return
        self.stage = "closed"
        casts = list(self.ballots.values())
        self.sums = tuple(zk.add_all([c.ballot.ciphertexts[i] for c in casts]) for i in range(len(m.options)))
        if not casts:
            self.stage = "tallied"
            self.result = Result(m.vote_id, m.options, (0,) * len(m.options), 0)

    def _partial(self, sender: str, msg: wire.Partial) -> None:
        self._trustee(sender, msg.trustee)
        if self.stage not in ("closed", "tallied"):
            raise ProtocolError("not closed: a partial decryption before the close")
        if msg.trustee in self.partials:
            raise ProtocolError(f"duplicate: trustee {msg.trustee} already decrypted")
        if len(msg.shares) != len(self.sums) or self.context is None:
            raise ProtocolError("partial decryption of the wrong number of options")
        pub = ce.public_share(list(self.commitments.values()), msg.trustee)
        for i, ((mj, pr), ct) in enumerate(zip(msg.shares, self.sums)):
            if not ce.check_partial(self.context.hash, msg.trustee, i, pub, ct, mj, pr):
                raise ce.CeremonyError(f"partial decryption proof fails: trustee {msg.trustee}, option {i}")
        self.partials[msg.trustee] = msg.shares  # past the threshold: checked and kept, the tally stands
        if self.result is None and len(self.partials) >= self.manifest.threshold:
            use = sorted(self.partials)[: self.manifest.threshold]
            n = len(self.ballots)
            counts = tuple(ce.combine(ct, {j: self.partials[j][i][0] for j in use}, n) for i, ct in enumerate(self.sums))
            if sum(counts) != n:
                raise ce.CeremonyError(f"tally {counts} does not add up to {n} ballots")
            self.stage = "tallied"
            self.result = Result(self.manifest.vote_id, self.manifest.options, counts, n)

    @property
    def ceremony_id(self) -> bytes:
        return ce.ceremony_id(bytes(self.manifest))

    # ------------------------------------------------------------ output

    def to_json(self) -> str:
        return json.dumps({
            "format": BOARD_FORMAT,
            "vote_id": self.manifest.vote_id,
            "group": g.GROUP_NAME,
            "entries": [{"sender": e.sender, "kind": wire.KIND_NAMES.get(e.message[2], "?"), "message": e.message.hex(),
                         "rejected": e.rejected} for e in self.entries],
            "result": None if self.result is None else self.result.as_dict(),
        }, indent=1)


def opening(entries: list[tuple[str, bytes]]) -> tuple[Board, int]:
    """The board that the first of ``(sender, message bytes)`` open (the opening, or all of its
    parts from one sender), and how many entries that took; ProtocolError if they do not."""
    if not entries:
        raise ProtocolError("empty board")
    chair = entries[0][0]
    first = wire.parse(entries[0][1])
    parts: list[wire.OpenPart] | None = None
    if isinstance(first, wire.OpenPart):
        parts = []
        for sender, data in entries[:first.count]:
            p = wire.parse(data)
            if sender != chair or not isinstance(p, wire.OpenPart):
                raise ProtocolError("an opening in parts is interrupted")
            parts.append(p)
        first = wire.join_open(parts)
    if not isinstance(first, wire.Open):
        raise ProtocolError("a board starts with the vote's opening")
    if first.manifest.chair != chair:
        raise ProtocolError("the vote was not opened by its chair")
    return Board.opened(chair, first, parts), len(parts or [first])


def replay(entries: list[tuple[str, bytes]]) -> Board:
    """A board rebuilt from ``(sender, message bytes)``; the first must be the opening."""
    b, n = opening(entries)
    for sender, data in entries[n:]:
        try:
            msg = wire.parse(data)
        except ProtocolError as e:
            b.entries.append(Entry(sender, data, str(e)))
            b.rejected["malformed"] += 1
            continue
        if msg.vote_id != b.manifest.vote_id:
            raise ProtocolError(f"entry for another vote: {msg.vote_id!r}")
        b.apply(sender, msg)
    return b


def verify_board(text: str) -> Board:
    """Replay a published board and check every verdict and the declared result.

    Raises :class:`CryptoError` describing the first disagreement; returns the rebuilt board.
    """
    try:
        doc = json.loads(text)
        if doc.get("format") != BOARD_FORMAT:
            raise ProtocolError(f"not a {BOARD_FORMAT} file")
        if doc.get("group") != g.GROUP_NAME:
            raise ProtocolError(f"group {doc.get('group')!r} is not {g.GROUP_NAME}")
        raw = [(str(e["sender"]), bytes.fromhex(e["message"]), str(e.get("rejected", ""))) for e in doc["entries"]]
        declared = doc.get("result")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ProtocolError(f"malformed board: {e}") from e
    b = replay([(s, m) for s, m, _ in raw])
    for i, (e, (_, _, said)) in enumerate(zip(b.entries, raw)):
        if bool(e.rejected) != bool(said):
            what = f"rejected ({e.rejected})" if e.rejected else "accepted"
            raise CryptoError(f"entry {i} ({e.sender}) is {what}, the board says otherwise")
    mine = None if b.result is None else b.result.as_dict()
    if mine != declared:
        raise CryptoError(f"the declared result {declared} is not the tally {mine}")
    return b
