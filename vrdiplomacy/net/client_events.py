"""The client's side of reliable room events (sans-I/O, used by :class:`~vrdiplomacy.net.client_core.ClientCore`).

Sending: events are numbered per session (``client_seq``) and kept until the relay acknowledges
them, which it does once they are stored durably; after a reconnect the unacknowledged ones are
sent again and the relay drops those it already stored.

Receiving: the relay numbers a room's events in a log (``log_id``) whose sequence numbers survive
relay restarts. The client remembers the log and the last number it received, names both when it
resumes, gets what followed replayed, and drops anything at or below the last number: every event
arrives exactly once, in order. A gap (the relay no longer had the events to replay) is counted.
"""

from __future__ import annotations

from collections import deque

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.net import wire


class ReliableEvents:
    """Numbering, the unacknowledged queue, and the received position in the room's event log."""

    def __init__(self, max_unacked: int) -> None:
        self.max_unacked = max_unacked
        self.next_seq = 1
        self.unacked: deque[tuple[int, bytes]] = deque()
        self.log_id = 0  # the room event log that last_room_seq counts in (0: none yet)
        self.last_room_seq = 0
        self.duplicates = 0
        self.missed = 0
        self.replayed = 0  # events received that the relay had stored before our (re)connection
        self._replay_upto = 0
        self.acked_by_welcome = 0  # sent, stored by the relay, but acknowledged only on the resume (crash or drop)
        self.restored = False  # resuming with a token from an earlier process: renumber at the welcome

    def queue(self, payload: bytes) -> int:
        """Number a new event and keep it until acknowledged; returns its sequence number."""
        if len(payload) > wire.MAX_PAYLOAD:
            raise ProtocolError(f"room event of {len(payload)} bytes exceeds {wire.MAX_PAYLOAD}")
        if len(self.unacked) >= self.max_unacked:
            raise ProtocolError("too many unacknowledged room events; the relay is unreachable")
        seq = self.next_seq
        self.next_seq += 1
        self.unacked.append((seq, payload))
        return seq

    @property
    def first_unacked(self) -> int:
        return self.unacked[0][0] if self.unacked else self.next_seq

    def welcome(self, w: wire.Welcome, same_space: bool) -> list[wire.Event]:
        """Take the relay's event state from a Welcome; returns the events to send again.
        ``same_space``: the session resumed in the same room (no room change under way)."""
        if not same_space or not w.log_id or w.log_id != self.log_id:
            # a new sequence space (a fresh session, another room, a relay that lost its state):
            # events from here on; on the same log the relay replays what followed last_room_seq
            self.last_room_seq = w.room_seq
        self._replay_upto = w.room_seq
        self.log_id = w.log_id
        if self.restored:
            # a new process of ours resumed the session: our numbering continues after the relay's
            self.restored = False
            self.unacked = deque((w.acked_seq + 1 + i, p) for i, (_, p) in enumerate(self.unacked))
            self.next_seq = w.acked_seq + 1 + len(self.unacked)
        before = len(self.unacked)
        self.acked(w.acked_seq)
        self.acked_by_welcome += before - len(self.unacked)
        return [wire.Event(seq, payload) for seq, payload in self.unacked]

    def acked(self, client_seq: int) -> None:
        while self.unacked and self.unacked[0][0] <= client_seq:
            self.unacked.popleft()

    def received(self, room_seq: int) -> bool:
        """Whether a delivered event is new (False: a duplicate, dropped)."""
        if room_seq <= self.last_room_seq:
            self.duplicates += 1
            return False
        self.missed += room_seq - self.last_room_seq - 1
        self.last_room_seq = room_seq
        self.replayed += room_seq <= self._replay_upto
        return True
