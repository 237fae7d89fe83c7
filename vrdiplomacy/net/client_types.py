"""What the sans-I/O client core tells its adapter: events, link causes and fatal codes.

Split out of :mod:`vrdiplomacy.net.client_core` (which re-exports every name here), so the core
stays about the state machine. See that module for what each event means to the application.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from vrdiplomacy.net import wire
from vrdiplomacy.net.pose import PoseSample


@dataclass
class Member:
    client_id: int
    identity: str
    seat: str
    state: str = "present"
    away_deadline: float = 0.0


# ---------------------------------------------------------------- events


@dataclass
class Connected:
    client_id: int
    resumed: bool
    epoch: int


@dataclass
class MemberUpdate:
    """A member appeared, changed state ("present", "away") or left ("left")."""

    client_id: int
    identity: str
    seat: str
    state: str


@dataclass
class VoiceReceived:
    """A voice frame the relay says came from its client ``source`` (a transport handle only).
    ``member``: the roster index of the member whose key opened it (end-to-end encrypted rooms),
    None where nothing verified the sender."""

    source: int
    level: int
    seq: int
    payload: bytes
    member: int | None = None


@dataclass
class PoseReceived:
    source: int
    seq: int
    key: bool
    head_cm: tuple[int, int, int]
    payload: bytes


@dataclass
class PoseUpdate:
    """A decoded pose (made by the adapter from :class:`PoseReceived`) the relay says came from
    its client ``source`` (a transport handle); ``member``: the roster index of the member whose
    key opened it (None: not verified)."""

    source: int
    sample: PoseSample
    member: int | None = None


@dataclass
class RoomEventReceived:
    """A room event the relay says came from its client ``sender`` (a transport handle only).
    With end-to-end encryption, ``stream`` is the signed stream it came on, ``member`` the roster
    index of the member whose key opened it and whose signature verified, ``verified_sender``
    that member's certificate name; without, ``member`` is None."""

    room_seq: int
    sender: int
    payload: bytes
    stream: str = "room"
    verified_sender: str = ""
    member: int | None = None


@dataclass
class FloorChanged:
    holder: int


@dataclass
class MediaReady:
    """The relay confirmed the UDP path."""


# Why the link went down (``Disconnected.cause``, ``ReconnectFailed.cause``), in words for people.
LINK_CAUSES = {
    "heartbeat": "heartbeat timeout",
    "closed": "relay closed the connection",
    "refused": "refused",
    "timeout": "no answer from the relay",
    "unreachable": "relay unreachable",
    "protocol": "protocol error",
    "tls": "TLS error",
    "error": "network error",
    "seat_taken": "the seat is taken",
}


@dataclass
class Disconnected:
    """The control stream of a connected (or connecting) session broke; the core reconnects.

    ``reason``: what happened, in words; ``cause``: one of :data:`LINK_CAUSES`; ``silent_s``:
    seconds since the last word from the relay when the link was found dead (the outage had
    begun that long before this event)."""

    reason: str
    cause: str = "error"
    silent_s: float = 0.0


@dataclass
class ReconnectFailed:
    """An attempt to reach the relay again (or for the first time) failed; the core retries at
    ``reconnect_at``. ``cause``: one of :data:`LINK_CAUSES` ("refused": nothing accepts
    connections there, the relay process is gone); ``attempts``: failures in a row."""

    reason: str
    cause: str
    attempts: int


@dataclass
class RelayError:
    """The relay refused or ended the session; ``fatal`` ones stop reconnecting."""

    code: int
    message: str
    fatal: bool


@dataclass
class RelayNotice:
    """The relay tells a secured room's members something (``code``: ``wire.NOTICE_*``), such as
    "a client without an invitation asked to join and was refused"."""

    code: int
    message: str

    def alert_text(self) -> str:
        return f"Relay notice: {self.message}"


ClientEvent = (
    Connected | MemberUpdate | VoiceReceived | PoseReceived | RoomEventReceived | FloorChanged | MediaReady | Disconnected
    | ReconnectFailed | RelayError | RelayNotice
)
# not ERR_SEAT_TAKEN: retried until the seat is free. ERR_REPLACED: the same member (or its resume
# token) came in on another connection; a client told so on its own connection stops, or the two
# would take the session from each other in turn, without end
FATAL_CODES = (wire.ERR_VERSION, wire.ERR_BAD_HELLO, wire.ERR_FULL, wire.ERR_NOT_INVITED,
               wire.ERR_SECURED_ROOM, wire.ERR_SECURED_ONLY, wire.ERR_REPLACED)
MediaSink = Callable[[int, int, bytes], None]


NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "HTTPS_PROXY_REQUEST", "UNKNOWN_PROTOCOL",
                     "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE"})


def not_tls(e: BaseException) -> bool:
    """Whether a failed handshake means the other end does not speak TLS at all (an HTTP server,
    a plain-text port): the TLS errors OpenSSL gives for bytes that are not a TLS record."""
    return isinstance(e, ssl.SSLError) and e.reason in NOT_TLS


def connect_failure(e: BaseException, host: str, port: int, timeout: float) -> tuple[str, str]:
    """(cause, reason) of a failed connection attempt (see ``client_core.LINK_CAUSES``): refused
    (nothing listens, or what accepted closed at once: the relay is gone), no answer, unreachable,
    TLS, or another network error."""
    where = f"{host}:{port}"
    if isinstance(e, ConnectionRefusedError):
        return "refused", f"refused: nothing accepts connections at {where}"
    if isinstance(e, (ConnectionResetError, ConnectionAbortedError, ssl.SSLEOFError)):
        return "refused", f"refused: {where} closed the connection before the TLS handshake ended"
    if isinstance(e, (asyncio.TimeoutError, TimeoutError)):
        return "timeout", f"no answer from {where} within {timeout:g} s"
    if isinstance(e, ssl.SSLError):
        return "tls", f"TLS error with {where}: {e.reason or e}"
    if isinstance(e, OSError) and e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN):
        return "unreachable", f"cannot reach {where}: {e.strerror}"
    if isinstance(e, OSError):
        return "error", f"cannot connect to {where}: {e.strerror or e}"
    return "error", f"cannot connect to {where}: {e}"
