"""In-memory room for vote cores: a relay that orders every event and delivers it to everyone
(the sender included), as the real relay does; helpers to build elections."""

from __future__ import annotations

from dataclasses import dataclass, field

from vrdiplomacy.ballot import ceremony as ce
from vrdiplomacy.ballot.election import ElectionContext, Manifest
from vrdiplomacy.ballot.protocol import VoteCore, VoteEvent


@dataclass
class Room:
    """Clients by name; ``log`` is every (sender, payload) the relay ordered."""

    cores: dict[str, VoteCore]
    log: list[tuple[str, bytes]] = field(default_factory=list)
    events: dict[str, list[VoteEvent]] = field(default_factory=dict)

    def inject(self, sender: str, payload: bytes, now: float = 0.0) -> None:
        """A message signed by ``sender`` (a malicious member sends whatever it likes)."""
        self.log.append((sender, payload))
        for c in self.cores.values():
            c.receive(payload, sender, now)

    def pump(self, now: float = 0.0, rounds: int = 20) -> None:
        for _ in range(rounds):
            moved = False
            for name, c in self.cores.items():
                for _stream, payload in c.data_to_send():
                    moved = True
                    self.inject(name, payload, now)
            for name, c in self.cores.items():
                while (e := c.next_event()) is not None:
                    self.events.setdefault(name, []).append(e)
            if not moved:
                return


def room(names: list[str], chair: str = "Chair") -> Room:
    return Room({n: VoteCore(n, lambda s: s == chair) for n in [chair, *names]})


def keyed_context(manifest: Manifest) -> tuple[ElectionContext, list[ce.Trustee]]:
    """A ceremony run directly (no room): the context and the trustees with their key shares."""
    cid = ce.ceremony_id(bytes(manifest))
    n, k = len(manifest.trustees), manifest.threshold
    ts = [ce.Trustee(cid, i + 1, n, k) for i in range(n)]
    comms = [t.commitment() for t in ts]
    dealt = {t.index: t.shares_for(comms) for t in ts}
    for t in ts:
        t.receive_shares(comms, {d: s[t.index] for d, s in dealt.items() if d != t.index})
    return ElectionContext(manifest, ce.joint_key(comms)), ts
