"""Two ministries' roots (both trusted by every client) and in-memory group sessions, for attack
tests that run without a relay (sans-I/O) at fixed times."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, KemSuite
from vrdiplomacy.crypto.identity import ANY_COUNTRY, create_delegation_request, create_ministry_root, issue_delegation
from vrdiplomacy.crypto.packet import StreamType
from vrdiplomacy.crypto.roster import Roster, RosterEntry
from vrdiplomacy.crypto.session import GroupSession, LocalIdentity, PacketDropped

NOW = 1_750_000_000.0
ROOM = b"chamber"


class Ministry:
    """A root that may issue for any country (like a secretariat's), so that these tests check the
    room authority on its own; country scoping has its own tests (test_f02_scoping.py)."""

    def __init__(self, name: str, country: str) -> None:
        self.key, self.root = create_ministry_root(name, country, NOW - 86400, scope=[ANY_COUNTRY])

    def issue(self, name: str, country: str, role: str) -> tuple[ed25519.Ed25519PrivateKey, x509.Certificate]:
        key, csr = create_delegation_request(name, country)
        return key, issue_delegation(csr, self.key, self.root, role, NOW - 3600)


def session(m: Ministry, roots: list[x509.Certificate], name: str, country: str, role: str = "head",
            suite: KemSuite = KemSuite.X25519, **kw: object) -> GroupSession:
    key, cert = m.issue(name, country, role)
    return GroupSession(ROOM, LocalIdentity(cert, key, KemKeyPair.generate(suite)), roots, **kw)  # type: ignore[arg-type]


def entry(s: GroupSession, index: int, role: str) -> RosterEntry:
    return s.roster_entry(index, role)


def sign(key: ed25519.Ed25519PrivateKey, cert: x509.Certificate, entries: list[RosterEntry], now: float,
         previous: Roster | None = None) -> Roster:
    """A roster as the chair's client signs it (the API of main 3e2635d and of today)."""
    return Roster.create(ROOM, entries, key, cert, int(now), previous)


def pump(sessions: list[GroupSession], now: float) -> None:
    """Everybody's pending key envelopes and frame signatures reach everybody else."""
    for s in sessions:
        for p in s.outgoing(now):
            for o in sessions:
                if o is not s:
                    try:
                        o.open(p, now)
                    except PacketDropped:
                        pass


def hears(listener: GroupSession, speaker: GroupSession, now: float, text: bytes = b"voice") -> bool:
    """Whether ``listener`` can open a voice frame ``speaker`` seals now."""
    wire = speaker.seal(StreamType.VOICE, text, now)
    pump([speaker, listener], now)
    try:
        return listener.open(wire, now).payload == text
    except PacketDropped:
        return False
