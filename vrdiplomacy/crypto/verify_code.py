"""The room verification code: 30 digits in 6 groups of 5 (like Signal safety numbers).

It is derived from the epoch's transcript hash (which covers the epoch number, the whole roster
history, the room authority, the KEM suite and every member's certificate, role and HPKE key) and
every member's sender-key commitment for the epoch, so all members who agree on the group read the
same code, and members shown different histories (a split room) read different codes at once. It
changes with every epoch (joins, leaves, hand-overs, the periodic HPKE key updates), not with the
authority's re-issues of an epoch. People compare it aloud or on screen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from vrdiplomacy.errors import CryptoError

GROUPS = 6
GROUP_DIGITS = 5
_LABEL = b"vrdiplomacy room code v1\x00"


def room_code(roster_hash: bytes, commitments: Mapping[int, bytes]) -> str:
    """``"12345 67890 ..."`` from the transcript hash and ``{sender index: key commitment}``."""
    if len(roster_hash) != 32:
        raise CryptoError("roster hash must be 32 bytes")
    h = hashlib.sha512(_LABEL + roster_hash + len(commitments).to_bytes(2, "big"))
    for idx in sorted(commitments):
        c = commitments[idx]
        if len(c) != 32:
            raise CryptoError("key commitments must be 32 bytes")
        h.update(idx.to_bytes(2, "big") + c)
    digest = h.digest()
    groups = [int.from_bytes(digest[5 * i : 5 * i + 5], "big") % 10**GROUP_DIGITS for i in range(GROUPS)]
    return " ".join(f"{g:0{GROUP_DIGITS}d}" for g in groups)
