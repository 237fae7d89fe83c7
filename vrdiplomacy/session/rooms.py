"""Rooms within the room and interpretation, as one delegate's session lives them (sans-I/O).

:class:`SessionRooms` sits between the relay client and the room state / listening mix of a
:class:`~vrdiplomacy.session.runtime.DelegateSession`:

* it asks the relay for our place (space, the channel we interpret into, the one we listen to:
  :meth:`SessionRooms.move`, :meth:`SessionRooms.listen_to`, sent again after every reconnect);
* it drops voice, poses and space events from members of other spaces (:meth:`SessionRooms.drops`),
  whatever the relay forwards: a closed-door room stays closed at every client too; and voice from a
  member the relay labels an interpreter when the signed roster says it is not one (secured room);
* every block (:meth:`SessionRooms.tick`) it marks members of other spaces ``elsewhere`` in the room
  state (no avatar, no voice position) and sets the mix's :class:`~vrdiplomacy.session.audio.MixPlan`:
  the floor holder at rostrum level, our channel's interpreter over the ducked floor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from vrdiplomacy.net.client_types import (
    PoseReceived,
    PoseUpdate,
    RelayError,
    RoomEventReceived,
    VoiceReceived,
)
from vrdiplomacy.net.spaces import ClientSpaces, PlaceChanged
from vrdiplomacy.net.wire_spaces import (
    ERR_PLACE_REFUSED,
    check_language,
    check_space,
    space_label,
)
from vrdiplomacy.session.audio import ListenerMix, MixPlan

log = logging.getLogger("vrdiplomacy.session")

ELSEWHERE = "elsewhere"  # RoomState member state of a member in another space (not shown, not heard)
REFRESH = 25  # audio blocks (0.5 s) between refreshes of who is where in the room state


@dataclass
class RoomsSettings:
    """Where a delegate starts: ``space`` ("" the plenary, "lounge", "bilateral:AAA+BBB");
    ``interpret`` the language channel it interprets into ("" none; needs the interpreter role in
    a secured room); ``listen`` the channel it hears ("" the floor); ``languages`` the channels a
    desktop key cycles through; ``duck_db`` the floor's level under a speaking channel."""

    space: str = ""
    interpret: str = ""
    listen: str = ""
    languages: tuple[str, ...] = ("en", "fr", "es", "ar", "ru", "zh")
    duck_db: float = -18.0

    def __post_init__(self) -> None:
        check_space(self.space)
        check_language(self.interpret)
        check_language(self.listen)
        for lang in self.languages:
            check_language(lang)


@dataclass
class RoomsCounters:
    """Media and events dropped because their sender is in another space (``other_space``) or
    claims a channel its roster role does not allow (``channel_refused``); places refused by the
    relay (``refused``)."""

    other_space: int = 0
    channel_refused: int = 0
    refused: int = 0


def rostrum_of(layout: Any) -> tuple[float, float, float] | None:
    """Where the floor is heard from: the layout's rostrum (else podium) point, at a speaker's
    mouth height (1 m above it); None without one (then from straight ahead)."""
    points = getattr(layout, "points", None) or {}
    for name in ("rostrum", "podium"):
        if name in points:
            x, y, z = (float(v) for v in points[name].position)
            return (x, y + 1.0, z)
    return None


class SessionRooms:
    """Our place and the others' (see the module docstring)."""

    def __init__(self, settings: RoomsSettings | None = None, secured: bool = False, layout: Any = None) -> None:
        self.s = settings or RoomsSettings()
        self.secured = secured
        self.rostrum = rostrum_of(layout)
        self.counters = RoomsCounters()
        self.spaces = ClientSpaces()
        self.client: Any = None
        self.refusal = ""  # the relay's last reason for refusing a place
        self._hidden: set[int] = set()  # state keys we marked elsewhere
        self._interpreters: frozenset[int] = frozenset()  # relay client ids of roster interpreters (secured)
        self._dirty = True
        self._n_members = -1
        self._keys_down: set[str] = set()
        self._ticks = 0
        self._by_cid: dict[int, int] = {}  # relay client id -> state key (from the last _hide)
        self._muted: frozenset[int] = frozenset()
        self._bilateral = self.s.space if self.s.space.startswith("bilateral:") else ""

    def attach(self, client: Any) -> None:
        """Use ``client``'s place bookkeeping and ask for the starting place."""
        self.client = client
        self.spaces = client.core.spaces
        if (self.s.space, self.s.interpret, self.s.listen) != ("", "", ""):
            client.place(self.s.space, self.s.interpret, self.s.listen)

    # ------------------------------------------------------------ our place

    @property
    def space(self) -> str:
        return self.spaces.my_space

    def move(self, space: str) -> None:
        """Ask the relay to move us to ``space`` (it may refuse: :attr:`refusal` says why)."""
        self.s.space = check_space(space)
        self._send()

    def listen_to(self, channel: str) -> None:
        self.s.listen = check_language(channel)
        self._send()

    def cycle_listen(self) -> str:
        """The next listening channel: the floor, then each of ``languages``; returns it."""
        order = ("", *self.s.languages)
        i = order.index(self.s.listen) if self.s.listen in order else 0
        self.listen_to(order[(i + 1) % len(order)])
        return self.s.listen

    def cycle_space(self) -> str:
        """The next room: the plenary, the lounge, then the bilateral room we started in (if any)."""
        order = ["", "lounge"] + ([self._bilateral] if self._bilateral else [])
        i = order.index(self.s.space) if self.s.space in order else 0
        self.move(order[(i + 1) % len(order)])
        return self.s.space

    def on_keys(self, keys: Any) -> None:
        """Desktop keys ("room", "listen") held in this frame: act on each press (a key held down
        over several frames acts once)."""
        down = {k for k in keys if k in ("room", "listen")}
        for k in down - self._keys_down:
            if k == "room":
                self.cycle_space()
            else:
                self.cycle_listen()
        self._keys_down = down

    def _send(self) -> None:
        if self.client is not None:
            self.client.place(self.s.space, self.s.interpret, self.s.listen)

    # ------------------------------------------------------------ input

    def drops(self, ev: object) -> bool:
        """True for an event the session must not use (consumed here, or dropped and counted)."""
        if isinstance(ev, PlaceChanged):
            self._dirty = True
            if ev.client_id == self.spaces.me:
                log.info("you are in the %s%s%s", space_label(ev.space),
                         f", interpreting into '{ev.interpret}'" if ev.interpret else "",
                         f", listening to '{ev.listen}'" if ev.listen else "")
            return True
        if isinstance(ev, RelayError) and ev.code == ERR_PLACE_REFUSED:
            self.counters.refused += 1
            self.refusal = ev.message
            log.warning("refused: %s", ev.message)
            return True
        if isinstance(ev, (VoiceReceived, PoseUpdate, PoseReceived)):
            src = ev.source
        elif isinstance(ev, RoomEventReceived) and ev.room_seq == 0:  # a space event
            src = ev.sender
        else:
            return False
        if not self.spaces.same_space(src):
            self.counters.other_space += 1
            return True
        if isinstance(ev, VoiceReceived) and self.secured and self.spaces.place_of(src)[1] and src not in self._interpreters:
            self.counters.channel_refused += 1  # the relay labels it an interpreter; the signed roster does not
            return True
        return False

    # ------------------------------------------------------------ every block

    def tick(self, mix: ListenerMix | None, state: Any) -> None:
        """Hide members of other spaces in ``state`` and set ``mix``'s plan (every audio block;
        the secured room's client id -> member map is refreshed every ``REFRESH`` blocks)."""
        members = state.members
        self._ticks += 1
        refresh = self._ticks % REFRESH == 0
        if self._dirty or refresh or len(members) != self._n_members or any(
                members[k].state != ELSEWHERE for k in self._hidden if k in members):
            self._dirty = False
            self._n_members = len(members)
            self._hide(state)
        if mix is None:
            return
        places = self.spaces.places
        channels: dict[int, str] = {}
        for cid, (_space, interp, _listen) in places.items():
            if interp and cid != self.spaces.me and self.spaces.same_space(cid):
                k = self._key_of(cid, state)
                if k is not None:
                    channels[k] = interp
        f = state.floor
        floor = self._key_of(f, state) if f and f != self.spaces.me and self.spaces.same_space(f) else None
        p = mix.plan
        if (p.floor, p.channels, p.listen, p.duck_db, p.muted) != (floor, channels, self.s.listen, self.s.duck_db,
                                                                   self._muted):
            mix.plan = MixPlan(floor, self.rostrum, channels, self.s.listen, self.s.duck_db, p.near_m, self._muted)

    def _key_of(self, cid: int, state: Any) -> int | None:
        """The state's member key of relay client id ``cid`` (itself in a plain room)."""
        if not self.secured:
            return cid if cid in state.members else None
        return self._by_cid.get(cid)

    def _keys(self, state: Any) -> dict[int, int]:
        """Relay client id -> the state's member key (the same in a plain room)."""
        if not self.secured:
            return {k: k for k in state.members}
        return {m.client_id: k for k, m in state.members.items() if m.client_id}

    def bind(self, state: Any) -> None:
        """Learn from the room state which relay client ids belong to roster interpreters."""
        self._interpreters = frozenset(m.client_id for m in state.members.values()
                                       if m.client_id and m.role == "interpreter")

    def _hide(self, state: Any) -> None:
        self.bind(state)
        keys = self._keys(state)
        self._by_cid = keys
        now_hidden = {k for cid, k in keys.items() if not self.spaces.same_space(cid)}
        for k in self._hidden - now_hidden:
            m = state.members.get(k)
            if m is not None and m.state == ELSEWHERE:
                m.state = "present"
        for k in now_hidden:
            m = state.members.get(k)
            if m is not None and m.state in ("present", "away"):
                m.state = ELSEWHERE
        self._hidden = now_hidden
        self._muted = frozenset(now_hidden)

    def room_of(self, key: int, state: Any) -> str:
        """Where the member with state key ``key`` is, as people read it ("plenary", "lounge",
        "bilateral room DEU-FRA"; ours for our own key): for participants panels and screens."""
        if key == state.me:
            return space_label(self.space)
        m = state.members.get(key)
        cid = key if not self.secured else (m.client_id if m is not None else 0)
        return space_label(self.spaces.place_of(cid)[0])

    def status_line(self) -> str:
        """Our room and channel in one line for the head-up card ("Lounge - listening: fr")."""
        where = space_label(self.space)
        line = where[:1].upper() + where[1:]
        if self.s.interpret:
            line += f" - interpreting into {self.s.interpret}"
        if self.s.listen:
            line += f" - listening: {self.s.listen}"
        return line

    def report(self) -> dict[str, Any]:
        return {"space": space_label(self.space), "listen": self.s.listen or "floor", "interpret": self.s.interpret,
                "places": {cid: list(p) for cid, p in self.spaces.places.items()}, **self.counters.__dict__}
