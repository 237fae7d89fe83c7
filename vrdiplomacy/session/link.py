"""The link to the relay as people are told about it (sans-I/O, plain data).

:class:`LinkStatus` folds the client's link events (:class:`~vrdiplomacy.net.client_core.Connected`,
:class:`~vrdiplomacy.net.client_core.Disconnected`, :class:`~vrdiplomacy.net.client_core.ReconnectFailed`,
a fatal :class:`~vrdiplomacy.net.client_core.RelayError`) with the session time ``now`` into

* a state: ``connecting`` (before the first session), ``up``, ``reconnecting`` (the link broke,
  the client is getting it back), ``lost`` (the relay refuses connections, i.e. its process is
  gone, or reconnecting has lasted ``lost_after_s``; the client still retries) and ``closed``
  (the relay refused the session for good: nothing more is tried);
* the head-up card's lines while the link is not up, and for ``news_s`` seconds after it is back
  ("Reconnected after 10.2 s");
* one message per change for the command line (:meth:`LinkStatus.next_message`):
  "reconnecting… (heartbeat timeout: no word from the relay for 6.1 s)", "connection lost: relay
  closed the connection (refused: nothing accepts connections at …; still retrying)",
  "reconnected after 10.2 s".

The cause named is the one that broke the link (heartbeat timeout, relay closed the connection,
refused, …: :data:`~vrdiplomacy.net.client_core.LINK_CAUSES`), not that of the later attempts.
The outage is counted from the last word from the relay, so a blackout found by a heartbeat
timeout reads as long as it really was.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from vrdiplomacy.net.client_core import LINK_CAUSES, Connected, Disconnected, ReconnectFailed, RelayError
from vrdiplomacy.net.wire import ERR_REPLACED


@dataclass
class LinkSettings:
    """lost_after_s: seconds of failed reconnecting after which the link is reported lost (a
    refused attempt, the relay's process being gone, reports it at once). news_s: seconds the
    card says "Reconnected after N s"."""

    lost_after_s: float = 15.0
    news_s: float = 6.0


@dataclass
class LinkStatus:
    """The link as the card and the command line tell it (see the module docstring)."""

    settings: LinkSettings = field(default_factory=LinkSettings)
    state: str = "connecting"
    cause: str = ""  # LINK_CAUSES key of what broke the link
    reason: str = ""  # the words of what broke it
    retry_reason: str = ""  # why the latest attempt to reconnect failed
    down_since: float = 0.0  # session time of the last word from the relay before the break
    last_outage_s: float = 0.0
    reconnected_at: float = -1e9  # when the card first said "Reconnected after" (news_s counts from there)
    _news_pending: bool = False
    outages: int = 0
    attempts: int = 0
    _messages: deque[str] = field(default_factory=deque)

    @property
    def up(self) -> bool:
        return self.state == "up"

    def apply(self, ev: object, now: float) -> None:
        """Fold one client event in (others are ignored)."""
        if isinstance(ev, Connected):
            if self.state in ("reconnecting", "lost"):
                self.last_outage_s = max(0.0, now - self.down_since)
                self.reconnected_at = now
                self._news_pending = True  # shown for news_s from the first frame that draws it
                self._say(f"reconnected after {self.last_outage_s:.1f} s"
                          + ("" if ev.resumed else " (a new session: the relay had lost ours)"))
            if self.state != "closed":
                self.state = "up"
            self.attempts = 0
        elif isinstance(ev, Disconnected):
            if self.state in ("reconnecting", "lost"):  # an attempt got through TCP, then broke
                self._failed(ev.cause, ev.reason, now)
                return
            if self.state == "closed":
                return
            self.outages += 1
            self.state = "reconnecting"
            self.cause, self.reason, self.retry_reason = ev.cause, ev.reason, ""
            self.down_since = now - ev.silent_s
            self.attempts = 0
            self._say(f"reconnecting… ({ev.reason})")
        elif isinstance(ev, ReconnectFailed):
            if self.state in ("reconnecting", "lost"):
                self._failed(ev.cause, ev.reason, now)
            elif self.state == "connecting" and ev.cause == "refused" and not self.cause:
                self.cause, self.reason = ev.cause, ev.reason  # joining: said by the caller once it gives up
        elif isinstance(ev, RelayError) and ev.fatal:
            self.state = "closed"
            # taken over by the same member elsewhere: the relay's words say it all
            told = ev.message if ev.code == ERR_REPLACED else f"refused by the relay: {ev.message}"
            self.cause, self.reason = "refused", told
            self._say(f"connection lost: {self.reason}")

    def _failed(self, cause: str, reason: str, now: float) -> None:
        self.attempts += 1
        self.retry_reason = reason
        if self.state == "reconnecting" and (cause == "refused" or now - self.down_since >= self.settings.lost_after_s):
            self._lose()

    def _lose(self) -> None:
        self.state = "lost"
        retry = f"{self.retry_reason}; " if self.retry_reason else ""
        self._say(f"connection lost: {self.what()} ({retry}still retrying)")

    def tick(self, now: float) -> None:
        """Report the link lost once reconnecting has lasted ``lost_after_s`` (call now and then)."""
        if self.state == "reconnecting" and now - self.down_since >= self.settings.lost_after_s:
            self._lose()

    def what(self) -> str:
        """What broke the link, in words ("heartbeat timeout", "relay closed the connection", …)."""
        if self.cause == "refused" and self.reason.startswith(("refused by the relay", "taken over")):
            return self.reason
        return LINK_CAUSES.get(self.cause, self.reason or "network error")

    def _say(self, text: str) -> None:
        self._messages.append(text)

    def next_message(self) -> str | None:
        """The next line for the command line, oldest first (None when none is waiting)."""
        return self._messages.popleft() if self._messages else None

    def hud_lines(self, now: float) -> tuple[tuple[str, ...], bool]:
        """The card's lines about the link at ``now`` (empty while it is up and nothing is news)
        and whether they are an alert."""
        self.tick(now)
        if self.state == "reconnecting":
            return ("Reconnecting…", f"link lost: {self.what()}"), True
        if self.state == "lost":
            return (f"Connection lost: {self.what()}", "still retrying"), True
        if self.state == "closed":
            return (f"Connection lost: {self.what()}",), True
        if self.state == "up" and self._news_pending:  # a slow frame must not miss the news
            self._news_pending = False
            self.reconnected_at = now
        if self.state == "up" and now - self.reconnected_at < self.settings.news_s:
            return (f"Reconnected after {self.last_outage_s:.1f} s",), False
        return (), False

    def report(self) -> dict[str, object]:
        return {"state": self.state, "cause": self.cause, "reason": self.reason, "outages": self.outages,
                "last_outage_s": round(self.last_outage_s, 2)}
