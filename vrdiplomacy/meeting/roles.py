"""Room roles and what each may do: the one permission table of the meeting.

Roles come from the chair-signed roster in a secured room (each member's room role, never above
its certificate's; the relay knows the role from the authority-signed invitation it admitted the
connection with). In a room without end-to-end encryption a role is only *claimed* by the
client (:data:`vrdiplomacy.meeting.wire.CLAIM_ROLE`, default ``delegate``): anyone may claim to
chair, so such a room is for practice, not for a real meeting.

Permissions (``PERMISSIONS[role]``)::

    role         ask_floor speak chair agenda vote edit_text closed_rooms
    guest            -       -     -     -     -      -          -
    observer         -       -     -     -     -      -          -
    interpreter      -       x     -     -     -      -          x
    advisor          -       x     -     -     -      x          x
    delegate         x       x     -     -     x      x          x
    head             x       x     -     -     x      x          x
    secretariat      -       x     -     x     -      x          x
    host             x       x     x     x     -      x          x
    chair            x       x     x     x     -      x          x

``ask_floor``: raise a hand, withdraw it, raise a point of order, ask for the right of reply,
and so be granted the floor; ``speak``: have one's voice forwarded to the room (the relay drops
the voice of a role without it, and of a member the chair muted; an interpreter's voice goes to
its language channel); ``chair``: grant, revoke, set
the speaking time, mute and unmute, clear a member's requests; ``agenda``: set the agenda, the
current item and the phase; ``vote``: cast a vote; ``edit_text``: change a draft text;
``closed_rooms``: enter a closed-door room (a bilateral is further restricted to its two
delegations by the rooms layer).
"""

from __future__ import annotations

from vrdiplomacy.errors import ProtocolError

ROLES = ("guest", "observer", "interpreter", "advisor", "delegate", "head", "secretariat", "host", "chair")
"""Every room role, from the least to the most (the order of :data:`vrdiplomacy.crypto.roster.ROLE_RANK`)."""

PERMISSION_NAMES = ("ask_floor", "speak", "chair", "agenda", "vote", "edit_text", "closed_rooms")

_MEMBER = frozenset({"ask_floor", "speak", "vote", "edit_text", "closed_rooms"})
_PRESIDING = frozenset({"ask_floor", "speak", "chair", "agenda", "edit_text", "closed_rooms"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "guest": frozenset(),
    "observer": frozenset(),
    "interpreter": frozenset({"speak", "closed_rooms"}),
    "advisor": frozenset({"speak", "edit_text", "closed_rooms"}),
    "delegate": _MEMBER,
    "head": _MEMBER,
    "secretariat": frozenset({"speak", "agenda", "edit_text", "closed_rooms"}),
    "host": _PRESIDING,
    "chair": _PRESIDING,
}
"""What each role may do (see the module docstring's table)."""

DEFAULT_ROLE = "delegate"
"""The role of a member of a plain room who claimed none."""


def may(role: str, permission: str) -> bool:
    """Whether ``role`` has ``permission`` (an unknown role has none)."""
    if permission not in PERMISSION_NAMES:
        raise ProtocolError(f"unknown permission {permission!r}")
    return permission in PERMISSIONS.get(role, frozenset())


def role_index(role: str) -> int:
    """The wire number of ``role`` (its place in :data:`ROLES`)."""
    try:
        return ROLES.index(role)
    except ValueError:
        raise ProtocolError(f"unknown role {role!r}; roles are {', '.join(ROLES)}") from None


def role_name(index: int) -> str:
    if not 0 <= index < len(ROLES):
        raise ProtocolError(f"unknown role number {index}")
    return ROLES[index]


def permission_table() -> list[tuple[str, list[str]]]:
    """(role, permissions it has, in :data:`PERMISSION_NAMES` order) for every role, least first."""
    return [(r, [p for p in PERMISSION_NAMES if p in PERMISSIONS[r]]) for r in ROLES]
