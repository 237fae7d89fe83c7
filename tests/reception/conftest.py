"""Fixtures of the reception tests: a ministry root, a host certificate, passes."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from vrdiplomacy.crypto import identity as ident

sys.path.insert(0, str(Path(__file__).parent.parent / "net"))  # netpump
sys.path.insert(0, str(Path(__file__).parent))  # rcbus


class Pki:
    """A ministry root and the delegation certificates the tests need (host, co-host, a guest)."""

    def __init__(self) -> None:
        self.now = time.time()
        self.root_key, self.root = ident.create_ministry_root("Protocol", "SE", self.now - 60, scope=[ident.ANY_COUNTRY])
        self.host = self.member("Sweden", "SE", "host")
        self.other_host = self.member("Maldives", "MV", "host")
        self.delegate = self.member("France", "FR", "delegate")

    def member(self, name: str, country: str, role: str) -> tuple[object, object]:
        key, csr = ident.create_delegation_request(name, country)
        return key, ident.issue_delegation(csr, self.root_key, self.root, role, self.now - 60)


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki()
