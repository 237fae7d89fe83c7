"""The room verification code: 30 digits in 6 groups of 5 (like Signal safety numbers).

It is derived from the roster hash and every member's sender-key commitment for the current
roster version, so all members who see the same roster and the same keys read the same code, and
it changes whenever the roster changes. People compare it aloud or on screen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from vrdiplomacy.errors import CryptoError

GROUPS = 6
GROUP_DIGITS = 5
_LABEL = b"vrdiplomacy room code v1\x00"


def room_code(roster_hash: bytes, commitments: Mapping[int, bytes]) -> str:
    """``"12345 67890 ..."`` from the roster hash and ``{sender index: key commitment}``."""
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
