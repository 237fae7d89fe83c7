"""Who is who in a room (sans-I/O): members proven by cryptography, relay client ids as handles.

The attribution rule: in an end-to-end encrypted room every voice frame, pose, gesture and event
belongs to the roster member whose key opened it (and, for events, whose signature verified it):
the ``member`` of :class:`~vrdiplomacy.net.client_core.VoiceReceived`,
:class:`~vrdiplomacy.net.client_core.PoseUpdate` and
:class:`~vrdiplomacy.net.client_core.RoomEventReceived`. The relay's client ids are transport
handles only. Names, countries and roles come from the chair-signed roster
(:class:`~vrdiplomacy.net.secure.RosterChanged`); a member's seat and relay client id come from its
own signed :class:`MemberPresence` statement. The relay's presence list is kept on the side, to
count who is connected to the room without being a verified member (an unsecured client, or a
participant the relay invented): the head-up card shows them.

A relay that labels a member's frame with the client id another verified member claimed is
re-labelling senders: the frame still goes to the member whose key opened it, and an alert
(:attr:`Attribution.alerts`) says what the relay did.

In a room without end-to-end encryption (``secured`` False) there is nothing to verify: the relay's
presence is all there is, and the UI labels it unverified.

:class:`MemberPresence` wire format (big-endian; sent as a signed room event on the "room" stream)::

    u8 tag 0x50 ('P')   u8 version 1   u32 relay client id   u8 seat length   seat (UTF-8)
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field

from vrdiplomacy.net.client_core import MemberUpdate
from vrdiplomacy.net.presence import MemberPresence, MemberStated
from vrdiplomacy.net.secure import MemberInfo, RosterChanged

__all__ = ["Attribution", "AttributionCounters", "MemberPresence", "MemberStated", "RelayParticipant"]
MAX_ALERTS = 256


@dataclass
class RelayParticipant:
    """Someone in the room as the relay reports it (unverified): client id, name, seat, state."""

    client_id: int
    identity: str
    seat: str
    state: str


@dataclass
class AttributionCounters:
    """Frames attributed by key; frames with no verified member (dropped in a secured room);
    frames the relay labelled with another verified member's client id; other label mismatches
    (e.g. a member that reconnected and has not restated its client id yet); presence statements
    taken, and those that named a client id another member had claimed."""

    verified: int = 0
    unattributed: int = 0
    relabelled: int = 0
    label_mismatch: int = 0
    presence: int = 0
    presence_conflict: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Attribution:
    """Verified members, their signed presence, and the relay's unverified view (module docstring)."""

    secured: bool = False
    roster: dict[int, MemberInfo] = field(default_factory=dict)
    roster_version: int = -1
    me_member: int | None = None
    me_client: int = 0
    presence: dict[int, MemberPresence] = field(default_factory=dict)  # member -> its own statement
    relay: dict[int, RelayParticipant] = field(default_factory=dict)
    counters: AttributionCounters = field(default_factory=AttributionCounters)
    alerts: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_ALERTS))
    _reported: set[tuple[int, int, str]] = field(default_factory=set)

    # ------------------------------------------------------------ input

    def connected(self, client_id: int) -> None:
        self.me_client = client_id

    def relay_member(self, ev: MemberUpdate) -> None:
        """The relay's presence (unverified): kept to find participants who are not members."""
        if ev.state == "left":
            self.relay.pop(ev.client_id, None)
        else:
            self.relay[ev.client_id] = RelayParticipant(ev.client_id, ev.identity, ev.seat, ev.state)

    def roster_changed(self, ev: RosterChanged) -> tuple[list[int], list[int]]:
        """Install a verified roster; returns (members added or replaced, members gone)."""
        old = self.roster
        new = dict(ev.info)
        self.roster, self.roster_version, self.me_member = new, ev.version, ev.me
        added = [i for i, m in new.items() if i not in old or old[i].fingerprint != m.fingerprint]
        gone = [i for i, m in old.items() if i not in new or new[i].fingerprint != m.fingerprint]
        for i in gone:
            self.presence.pop(i, None)
        return added, gone

    def member_stated(self, ev: MemberStated) -> MemberPresence | None:
        """A verified member's own presence statement (opened and signature-checked); None when
        it names a relay client another member already claimed."""
        member, label, p = ev.member, ev.label, ev.presence
        other = self.bound(p.client_id)
        if other is not None and other != member:
            self.counters.presence_conflict += 1
            self._alert(f"{self.name(member)} and {self.name(other)} both claim relay client {p.client_id}")
            return None
        self.counters.presence += 1
        self.presence[member] = p
        self.check_label("presence", member, label)
        return p

    def check_label(self, what: str, member: int, label: int) -> None:
        """A frame of ``member`` arrived labelled by the relay as from client ``label``."""
        self.counters.verified += 1
        own = self.presence.get(member)
        if own is not None and own.client_id == label:
            return
        if member == self.me_member and label == self.me_client:
            return
        other = self.bound(label)
        if other is None or other == member:
            self.counters.label_mismatch += 1  # e.g. a reconnect before its new statement arrived
            return
        self.counters.relabelled += 1
        key = (member, other, what)
        if key not in self._reported:
            self._reported.add(key)
            self._alert(f"the relay labelled {self.name(member)}'s {what} as {self.name(other)}'s; "
                        f"shown as {self.name(member)}'s")

    # ------------------------------------------------------------ queries

    def bound(self, client_id: int) -> int | None:
        """The verified member whose own presence statement names relay client ``client_id``."""
        if client_id == self.me_client and self.me_member is not None:
            return self.me_member
        for i, p in self.presence.items():
            if p.client_id == client_id and i in self.roster:
                return i
        return None

    def name(self, member: int) -> str:
        m = self.roster.get(member)
        return f"member {member}" if m is None else m.name

    def unverified(self) -> list[RelayParticipant]:
        """Participants the relay shows present in a secured room who are not verified members
        (no member's signed presence names their client id). Empty in an unsecured room."""
        if not self.secured:
            return []
        return [p for cid, p in sorted(self.relay.items())
                if cid != self.me_client and p.state == "present" and self.bound(cid) is None]

    def next_alert(self) -> str | None:
        return self.alerts.popleft() if self.alerts else None

    def _alert(self, text: str) -> None:
        self.alerts.append(text)
