"""What a delegate must see of a secured room: its code and its alerts (sans-I/O, plain data).

:class:`SecurityStatus` folds the :mod:`vrdiplomacy.net.secure` events of a session
(:class:`~vrdiplomacy.net.secure.RoomCodeChanged`, :class:`~vrdiplomacy.net.secure.RosterChanged`,
:class:`~vrdiplomacy.net.secure.KeysChanged`, :class:`~vrdiplomacy.net.secure.SecurityAlert`) into
what the head-up card shows (:meth:`SecurityStatus.hud_lines`): the room code, to compare aloud,
and for ``alert_s`` seconds after a roster change, a security alert or a relay notice
(:class:`~vrdiplomacy.net.client_core.RelayNotice`, e.g. "an unsecured client was refused"), that
news in its place. A room without end-to-end encryption says so on the card instead.

The card never shows a secured room while someone in it is not verified: as long as the relay
shows a participant who is no verified member of the signed roster
(:meth:`SecurityStatus.set_unverified`), the card says "1 participant not verified" and the name
the relay gives, in the alert colour, in place of the room code (other news goes on a third line).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from vrdiplomacy.net.client_core import RelayNotice
from vrdiplomacy.net.secure import KeysChanged, RoomCodeChanged, RosterChanged, SecureEvent, SecurityAlert, hud_lines


def _count(n: int) -> str:
    return f"{n} participant" + ("" if n == 1 else "s")


def _who(entry: str) -> str:
    """"France (FR), head" -> "France (FR)": the card has room for names, not roles."""
    return entry.split(", ")[0]


@dataclass
class SecuritySettings:
    """alert_s: seconds a roster change or security alert replaces the room code on the card.
    history: alerts kept for the session report."""

    alert_s: float = 8.0
    history: int = 50


@dataclass
class SecurityStatus:
    """The secured room as the HUD shows it; ``secured`` False for a room without E2EE."""

    secured: bool = False
    settings: SecuritySettings = field(default_factory=SecuritySettings)
    code: str | None = None
    roster_version: int = 0
    members: int = 0
    alerts: deque[tuple[float, str]] = field(default_factory=deque)
    code_changes: int = 0
    security_alerts: int = 0
    relay_notices: int = 0
    unverified: tuple[str, ...] = ()  # relay names of participants who are not verified members
    _banner: tuple[float, str, str, bool] | None = None  # (since, title, text, red)

    def set_unverified(self, names: list[str] | tuple[str, ...], now: float) -> None:
        """Who the relay shows in the room without being a verified member (relay names)."""
        names = tuple(names)
        if names == self.unverified:
            return
        if names:
            self._log(now, f"{_count(len(names))} not verified (relay names: {', '.join(names)})")
        elif self.unverified:
            self._log(now, "every participant is a verified member again")
        self.unverified = names

    def apply(self, ev: SecureEvent | RelayNotice, now: float) -> None:
        """Fold one event of the secure room (or a relay notice) in (others are not passed here)."""
        if isinstance(ev, RoomCodeChanged):
            if ev.code != self.code:
                self.code_changes += 1
                if self.code is not None:  # the first code is no news; a new one is
                    self._note(now, "Room code changed", "compare the new code aloud", False)
            self.code, self.roster_version = ev.code, ev.roster_version
        elif isinstance(ev, RosterChanged):
            self.members = len(ev.members)
            if ev.added or ev.removed or not ev.member:
                parts = []
                if ev.added:
                    parts.append("joined: " + ", ".join(_who(n) for n in ev.added))
                if ev.removed:
                    parts.append("left: " + ", ".join(_who(n) for n in ev.removed))
                if not ev.member:
                    parts.append("you are not a member")
                self._note(now, f"Roster v{ev.version}: {len(ev.members)} members", "; ".join(parts), not ev.member)
            self._log(now, ev.alert_text())
        elif isinstance(ev, SecurityAlert):
            self.security_alerts += 1
            self._note(now, "Security alert", ev.message, True)
        elif isinstance(ev, KeysChanged):
            self._log(now, ev.alert_text())
        elif isinstance(ev, RelayNotice):
            self.relay_notices += 1
            self._note(now, "Relay notice", ev.message, True)

    def _note(self, now: float, title: str, text: str, red: bool) -> None:
        self._banner = (now, title, text, red)
        self._log(now, f"{title}: {text}")

    def _log(self, now: float, text: str) -> None:
        self.alerts.append((now, text))
        while len(self.alerts) > self.settings.history:
            self.alerts.popleft()

    def hud_lines(self, now: float) -> tuple[tuple[str, ...], bool]:
        """The card's lines at ``now`` and whether it is an alert."""
        if not self.secured:  # the amber card (HudPanel.insecure), with its reason, for as long as it is so
            return ("Not end-to-end encrypted", "the relay's host can listen"), False
        b = self._banner
        news = b is not None and now - b[0] < self.settings.alert_s
        if self.unverified:  # first, and never the room code (which reads as "secured") while someone is not
            lines = (f"{_count(len(self.unverified))} not verified", "relay says: " + ", ".join(self.unverified))
            if news and b is not None:
                lines += (f"{b[1]}: {b[2]}",)
            return lines, True
        if news and b is not None:
            return (b[1], b[2]), b[3]
        return tuple(hud_lines(self.code)), False

    def report(self) -> dict[str, object]:
        return {"secured": self.secured, "room_code": self.code, "roster_version": self.roster_version,
                "members": self.members, "code_changes": self.code_changes, "security_alerts": self.security_alerts,
                "relay_notices": self.relay_notices, "unverified": list(self.unverified),
                "log": [f"{t:.1f}s {text}" for t, text in self.alerts]}
