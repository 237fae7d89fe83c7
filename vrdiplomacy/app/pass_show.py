"""What a reception pass grants, as ``reception show`` and ``identity show`` print it."""

from __future__ import annotations

from pathlib import Path

from vrdiplomacy.errors import CryptoError


def show_pass(path: Path) -> int:
    """Print the pass's fields and whether its signature verifies; 0 if it does, else 1."""
    from vrdiplomacy.reception.passes import read_pass

    p = read_pass(path)
    for k, v in p.describe():
        print(f"{k:>12}: {v}")
    try:
        p.verify_signature()
        print(f"{'signature':>12}: valid (by the certificate it carries; check that fingerprint with the host)")
    except CryptoError as e:
        print(f"{'signature':>12}: INVALID: {e}")
        return 1
    return 0
