"""Who may edit the joint text, and the edit forms the command line, the control socket and the
desktop share (no I/O; :mod:`vrdiplomacy.text.live` and :mod:`vrdiplomacy.session.drafting` use them)."""

from __future__ import annotations

from typing import Any

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.text.core import TextCore

EDITOR_ROLES = frozenset({"chair", "host", "head", "delegate", "advisor"})
"""Room roles whose updates are merged (not observer or interpreter)."""


class RosterRoles:
    """Room roles by verified name from a SecureRoom's signed roster, remembered after a member
    leaves (its updates read a moment after they opened still count)."""

    def __init__(self, room: Any) -> None:
        self.room = room
        self.roles: dict[str, str] = {}
        self._seen: object = None

    def role(self, name: str) -> str:
        r = self.room.roster
        if r is not None and r is not self._seen:
            self._seen = r
            self.roles.update({m.identity.name: m.role for m in r.members.values()})
        return self.roles.get(name, "")


def apply_edit(core: TextCore, doc: str, edit: tuple[Any, ...]) -> None:
    """One edit: ("insert", pos, text) | ("append", text) | ("delete", a, b) | ("bracket", a, b) |
    ("resolve", id, keep)."""
    op = edit[0]
    if op == "insert":
        core.insert(doc, int(edit[1]), str(edit[2]))
    elif op == "append":
        core.insert(doc, len(core.doc(doc).text()), str(edit[1]))
    elif op == "delete":
        core.delete(doc, int(edit[1]), int(edit[2]))
    elif op == "bracket":
        core.bracket(doc, int(edit[1]), int(edit[2]))
    elif op == "resolve":
        core.resolve(doc, str(edit[1]), bool(edit[2]))
    else:
        raise ConfigError(f"unknown edit {op!r}")
