"""In-memory group sessions for the frame/event attack tests (findings 3, 6, 7, 8, 11): one
ministry root, a chair that signs rosters, members that pump packets to each other at fixed
times, and a member who forges frames under another member's sender key (every member holds it)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, KemSuite
from vrdiplomacy.crypto.identity import create_delegation_request, create_ministry_root, issue_delegation
from vrdiplomacy.crypto.keys import make_kid
from vrdiplomacy.crypto.packet import Packet, StreamType
from vrdiplomacy.crypto.roster import Roster
from vrdiplomacy.crypto.session import GroupSession, LocalIdentity, PacketDropped, SessionConfig
from vrdiplomacy.crypto.sframe import SFrameHeader

NOW = 1_750_000_000.0
ROOM = b"chamber-frames"


class Pki:
    def __init__(self) -> None:
        self.key, self.root = create_ministry_root("Ministry of Foreign Affairs", "FR", NOW - 86400)

    def issue(self, name: str, role: str = "delegate") -> tuple[ed25519.Ed25519PrivateKey, x509.Certificate]:
        key, csr = create_delegation_request(name, "FR")
        return key, issue_delegation(csr, self.key, self.root, role, NOW - 3600)


class Room:
    """A chair (rosters only) and member sessions; ``restart`` replaces a member's session the
    way a restarted app does: same certificate and signing key, fresh state."""

    def __init__(self, names: list[str], config: SessionConfig | None = None) -> None:
        self.pki = Pki()
        self.config = config
        self.chair_key, self.chair_cert = self.pki.issue("Chair", "chair")
        self.sessions: dict[str, GroupSession] = {}
        self.identities: dict[str, LocalIdentity] = {}
        self.indices: dict[str, int] = {}
        self.roster: Roster | None = None
        for n in names:
            self.add(n)

    def add(self, name: str) -> GroupSession:
        key, cert = self.pki.issue(name)
        ident = LocalIdentity(cert, key, KemKeyPair.generate(KemSuite.X25519))
        self.identities[name] = ident
        self.indices[name] = len(self.indices)
        s = self.sessions[name] = GroupSession(ROOM, ident, [self.pki.root], self.config)
        return s

    def restart(self, name: str, keep_kem: bool = False) -> GroupSession:
        old = self.identities[name]
        ident = old if keep_kem else LocalIdentity(old.certificate, old.signing_key, KemKeyPair.generate(KemSuite.X25519))
        self.identities[name] = ident
        s = self.sessions[name] = GroupSession(ROOM, ident, [self.pki.root], self.config)
        return s

    def publish(self, members: list[str], now: float) -> Roster:
        entries = [self.sessions[n].roster_entry(self.indices[n], "delegate") for n in members]
        self.roster = Roster.create(ROOM, entries, self.chair_key, self.chair_cert, int(now), self.roster)
        for n in members:
            self.sessions[n].install_roster(self.roster, now)
        return self.roster

    def exchange(self, members: list[str], now: float) -> None:
        """Every member sends its pending key envelopes and frame signatures to the others."""
        for n in members:
            for p in self.sessions[n].outgoing(now):
                for o in members:
                    if o != n:
                        try:
                            self.sessions[o].open(p, now)
                        except PacketDropped:
                            pass


def header(wire: bytes) -> tuple[SFrameHeader, bytes, bytes]:
    body = Packet.parse(wire).body
    hdr, n = SFrameHeader.decode(body)
    return hdr, body[:n], body[n:]


def forge(forger: GroupSession, victim: int, ctr: int, payload: bytes, stream: int = StreamType.VOICE) -> bytes:
    """A frame sealed by ``forger`` under ``victim``'s newest sender key with counter ``ctr``."""
    gen = forger._keys.newest[victim]
    key = forger._keys.by_kid[make_kid(victim, gen)]
    return bytes((1, stream)) + key.key.encrypt(ctr, forger.room_id + bytes((stream,)), payload)


def plaintext(holder: GroupSession, wire: bytes) -> bytes:
    """The SFrame plaintext of a packet another member sealed, opened with the sender key every
    member holds (for an event: the sender's signed event, as the forger keeps it)."""
    hdr, hbytes, body = header(wire)
    stream = Packet.parse(wire).stream_type
    return holder._keys.by_kid[hdr.kid].key.decrypt(hdr, hbytes, body, holder.room_id + bytes((stream,)))
