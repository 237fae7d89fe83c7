"""Helpers for the ballot tests: the in-process room, and a ceremony run without a room."""

from __future__ import annotations

from vrdiplomacy.ballot import ceremony as ce
from vrdiplomacy.ballot.election import ElectionContext, Manifest
from vrdiplomacy.ballot.local import LocalRoom

Room = LocalRoom


def room(names: list[str], chair: str = "Chair") -> LocalRoom:
    return LocalRoom.of(names, chair)


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
