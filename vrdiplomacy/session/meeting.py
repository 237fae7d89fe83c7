"""The meeting layer (sans-I/O): who asked for the floor, in which order, and who holds it.

Gestures that mean something in a meeting end up here: a raised hand (``raise_hand`` start)
requests the floor, a lowered hand (``lower_hand`` start) withdraws the request. Requests are
kept in the order they were made. Room events reach every client, the sender too, in the
relay's order, so every client that feeds the gestures it receives into its own
:class:`FloorQueue` holds the same queue. The chair grants the floor to the first in line
(:meth:`FloorQueue.grant_next`); the speaker's request leaves the queue when granted.

Requests are keyed by member: in a secured room the roster index of the member whose key opened
and whose signature verified the raised hand (a relay cannot queue France's hand under the
Chair's name); in a room without end-to-end encryption, the relay's client id. The field keeps
its historical name ``client_id``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from vrdiplomacy.gestures.events import GestureEvent
from vrdiplomacy.gestures.types import Gesture

KINDS = ("requested", "withdrawn", "granted", "released")


@dataclass(frozen=True)
class FloorRequest:
    """A delegate (member key ``client_id``, see the module docstring) waiting for the floor since ``since`` (seconds)."""

    client_id: int
    since: float


@dataclass(frozen=True)
class FloorEvent:
    """A change of the floor for the UI: ``kind`` (one of :data:`KINDS`), who, when."""

    kind: str
    client_id: int
    time: float


class FloorQueue:
    """Floor requests in the order they were made, and the current speaker (None: nobody).

    Asking twice keeps the first place; withdrawing without a request changes nothing (both are
    counted in :attr:`ignored`). Every change is queued as a :class:`FloorEvent`
    (:meth:`next_event`).
    """

    def __init__(self) -> None:
        self._queue: dict[int, FloorRequest] = {}
        self.speaker: int | None = None
        self.ignored = 0
        self._events: deque[FloorEvent] = deque(maxlen=1024)

    @property
    def queue(self) -> list[int]:
        """Member keys waiting for the floor, first in line first."""
        return list(self._queue)

    def position(self, client_id: int) -> int | None:
        """1-based place in the queue, or None when not waiting."""
        for i, cid in enumerate(self._queue, 1):
            if cid == client_id:
                return i
        return None

    def request(self, client_id: int, now: float) -> bool:
        """``client_id`` asks for the floor; False when already waiting or speaking."""
        if client_id in self._queue or client_id == self.speaker:
            self.ignored += 1
            return False
        self._queue[client_id] = FloorRequest(client_id, now)
        self._events.append(FloorEvent("requested", client_id, now))
        return True

    def withdraw(self, client_id: int, now: float) -> bool:
        """``client_id`` withdraws its request; False when it had none."""
        if self._queue.pop(client_id, None) is None:
            self.ignored += 1
            return False
        self._events.append(FloorEvent("withdrawn", client_id, now))
        return True

    def grant_next(self, now: float) -> int | None:
        """Give the floor to the first in line (the previous speaker's turn ends); its id or None."""
        if not self._queue:
            return None
        self.release(now)
        cid = next(iter(self._queue))
        del self._queue[cid]
        self.speaker = cid
        self._events.append(FloorEvent("granted", cid, now))
        return cid

    def release(self, now: float) -> None:
        """The speaker's turn ends."""
        if self.speaker is not None:
            self._events.append(FloorEvent("released", self.speaker, now))
            self.speaker = None

    def member_left(self, client_id: int, now: float) -> None:
        """A delegate left the room: its request and its turn end."""
        if client_id in self._queue:
            self.withdraw(client_id, now)
        if client_id == self.speaker:
            self.release(now)

    def on_gesture(self, sender: int, ev: GestureEvent, now: float) -> bool:
        """Fold in a gesture of member ``sender`` (its verified key in a secured room); True when it
        meant something here."""
        if ev.phase != "start":
            return False
        if ev.gesture is Gesture.RAISE_HAND:
            return self.request(sender, now)
        if ev.gesture is Gesture.LOWER_HAND:
            return self.withdraw(sender, now)
        return False

    def next_event(self) -> FloorEvent | None:
        return self._events.popleft() if self._events else None
