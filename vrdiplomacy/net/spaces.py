"""The client's side of spaces and interpretation channels (sans-I/O, used by
:class:`~vrdiplomacy.net.client_core.ClientCore`).

It keeps where this client wants to be (its :class:`~vrdiplomacy.net.wire_spaces.Place`, sent
again after every Welcome, so a reconnect or a relay restart puts it back) and where every member
is as the relay says (:class:`~vrdiplomacy.net.wire_spaces.Placed`), by relay client id. The
session uses :meth:`ClientSpaces.same_space` to drop voice, poses and space events from members
of other spaces: isolation does not rest on the relay's routing alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from vrdiplomacy.net.client_types import RoomEventReceived
from vrdiplomacy.net.wire_spaces import FLOOR, PLENARY, Place, Placed, SpaceEventIn

SPACE_STREAMS = ("gesture",)  # event streams that stay in the sender's space (the rest is room-wide)


@dataclass
class PlaceChanged:
    """Member ``client_id`` (a relay client id; ours too) is now in ``space``, interprets into
    ``interpret`` ("" none) and listens to ``listen`` ("" the floor)."""

    client_id: int
    space: str
    interpret: str
    listen: str


class ClientSpaces:
    """Wanted place, members' places (relay client ids), and counters of what was dropped."""

    def __init__(self) -> None:
        self.want = Place()
        self.places: dict[int, tuple[str, str, str]] = {}
        self.me = 0
        self.space_events_in = 0

    def place_of(self, client_id: int) -> tuple[str, str, str]:
        return self.places.get(client_id, (PLENARY, "", FLOOR))

    @property
    def my_space(self) -> str:
        """The space the relay has us in (the plenary until it confirmed another)."""
        return self.place_of(self.me)[0]

    def same_space(self, client_id: int) -> bool:
        """Whether member ``client_id`` is in our space (its media and space events are for us)."""
        return self.place_of(client_id)[0] == self.my_space

    def welcome(self, client_id: int) -> list[Place]:
        """A Welcome: the relay re-sends every place; ours goes again if it is not the plenary."""
        self.me = client_id
        self.places.clear()
        return [self.want] if self.want != Place() else []

    def receive(self, msg: Placed | SpaceEventIn) -> list[object]:
        """Events for the application from a Placed or a delivered space event."""
        if isinstance(msg, Placed):
            p = (msg.space, msg.interpret, msg.listen)
            if p == (PLENARY, "", FLOOR):
                self.places.pop(msg.client_id, None)
            else:
                self.places[msg.client_id] = p
            return [PlaceChanged(msg.client_id, *p)]
        self.space_events_in += 1
        return [RoomEventReceived(0, msg.sender, msg.payload)]

    def left(self, client_id: int) -> None:
        self.places.pop(client_id, None)
