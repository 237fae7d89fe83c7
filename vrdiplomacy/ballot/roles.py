"""Who chairs a vote (room roles by verified name, from a SecureRoom's signed roster) and which
meeting session a vote belongs to (:func:`meeting_nonce`).

Used by the vote command's live client (:mod:`vrdiplomacy.ballot.live`), the session's votes
(:mod:`vrdiplomacy.session.votes`) and the joint text.
"""

from __future__ import annotations

import hashlib
from typing import Any

CHAIR_ROLES = frozenset({"chair", "host"})


def roster_names(room: Any) -> dict[str, str]:
    """Verified member name -> room role, from the signed roster of a SecureRoom."""
    r = room.roster
    return {} if r is None else {m.identity.name: m.role for m in r.members.values()}


class RoleBook:
    """Room roles by verified name, remembered after a member leaves.

    An event is opened (and its sender verified) when it arrives, but read by the application a
    moment later: by then its sender may have left and the roster dropped it. Its role is the one
    of the last roster that listed it (it was a member when it signed: the event opened)."""

    def __init__(self, room: Any) -> None:
        self.room = room
        self.roles: dict[str, str] = {}
        self._seen: object = None

    def refresh(self) -> dict[str, str]:
        r = self.room.roster
        if r is not self._seen:
            self._seen = r
            self.roles.update(roster_names(self.room))
        return self.roles

    def role(self, name: str) -> str:
        return self.refresh().get(name, "")


def meeting_nonce(room: Any) -> str | None:
    """The meeting session's nonce (12 hex digits) of a :class:`~vrdiplomacy.net.secure.SecureRoom`:
    the same on every member's client (the admission key is signed by the room authority and
    verified by each), new each time the authority's client starts the room. None while unknown."""
    key = getattr(room, "authority_key", None)
    if not key:
        return None
    return hashlib.sha256(b"vrdiplomacy/vote-session\0" + bytes(room.room_id) + b"\0" + key).hexdigest()[:12]
