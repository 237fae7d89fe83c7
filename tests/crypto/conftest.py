"""Shared fixtures: one ministry root, a chair and delegations, and helpers to build rooms."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, KemSuite
from vrdiplomacy.crypto.identity import ANY_COUNTRY, create_delegation_request, create_ministry_root, issue_delegation
from vrdiplomacy.crypto.roster import Roster
from vrdiplomacy.crypto.session import GroupSession, LocalIdentity, SessionConfig

NOW = 1_750_000_000.0
ROOM = b"chamber-1"


@dataclass
class Pki:
    root_key: ed25519.Ed25519PrivateKey
    root: x509.Certificate

    def issue(self, name: str, country: str, role: str) -> tuple[ed25519.Ed25519PrivateKey, x509.Certificate]:
        key, csr = create_delegation_request(name, country)
        return key, issue_delegation(csr, self.root_key, self.root, role, NOW)


@pytest.fixture(scope="session")
def pki() -> Pki:
    key, cert = create_ministry_root("Ministry of Foreign Affairs", "FR", NOW, scope=[ANY_COUNTRY])  # issues for every country
    return Pki(key, cert)


class Room:
    """A chair plus member sessions that pump packets to each other in memory."""

    def __init__(self, pki: Pki, names: list[str], config: SessionConfig | None = None) -> None:
        self.pki = pki
        self.config = config
        self.chair_key, self.chair_cert = pki.issue("Chair", "CH", "chair")
        self.sessions: dict[str, GroupSession] = {}
        self.indices: dict[str, int] = {}
        self.next_index = 0
        self.roster: Roster | None = None
        self.history: list[Roster] = []
        for n in names:
            self.add_session(n)

    def add_session(self, name: str) -> GroupSession:
        key, cert = self.pki.issue(name, "FR", "delegate")
        kem = KemKeyPair.generate(KemSuite.X25519)  # fast; the hybrid KEM has its own tests
        s = GroupSession(ROOM, LocalIdentity(cert, key, kem), [self.pki.root], self.config)
        self.sessions[name] = s
        self.indices[name] = self.next_index
        self.next_index += 1
        return s

    def publish(self, members: list[str], now: float) -> Roster:
        entries = [self.sessions[n].roster_entry(self.indices[n], "delegate") for n in members]
        self.roster = Roster.create(ROOM, entries, self.chair_key, self.chair_cert, int(now), self.roster)
        self.history.append(self.roster)
        for n in members:  # a late joiner starts from the newest roster, without history
            self.sessions[n].install_roster(self.roster, now)
        return self.roster

    def deliver(self, sender: str, packets: list[bytes], to: list[str], now: float) -> None:
        for p in packets:
            for n in to:
                if n != sender:
                    self.sessions[n].open(p, now)

    def exchange(self, members: list[str], now: float) -> None:
        """Every member sends its pending control packets to the others."""
        for n in members:
            self.deliver(n, self.sessions[n].outgoing(now), members, now)
