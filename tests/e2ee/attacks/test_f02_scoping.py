"""Finding 2 (scoping half): any trusted ministry could issue "France (FR)". A foreign ministry's
reception desk added a fake "France" with role chair.

Ministries are now scoped: a certificate naming country X is accepted only from a root scoped to X
(X.509 NameConstraints, permitted directoryName ``C=X``, in the root; a root without them is
scoped to its own country). Fails on main 3e2635d: there the German ministry's "France" verified
like the real one, and the German ministry could issue it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.errors import CryptoError

from attacks.certkit import craft_leaf

ROOT = Path(__file__).resolve().parents[3]
NOW = time.time()


@pytest.fixture(scope="module")
def ministries() -> dict[str, tuple[object, object]]:
    return {
        "FR": ident.create_ministry_root("Ministere des Affaires etrangeres", "FR", NOW - 60),
        "DE": ident.create_ministry_root("Auswaertiges Amt", "DE", NOW - 60),
    }


def test_a_foreign_ministry_cannot_vouch_for_france(ministries) -> None:  # type: ignore[no-untyped-def]
    de_key, de_root = ministries["DE"]
    trust = [ministries["FR"][1], de_root]  # a delegation that trusts both ministries
    # the German reception desk builds the certificate itself (not with our issuing code)
    _, fake = craft_leaf(de_key, de_root, NOW, name="France", country="FR", role="chair")
    with pytest.raises(CryptoError) as e:
        ident.verify_certificate(fake, trust, NOW)
    assert str(e.value) == "'France' names country FR but its ministry root is scoped to DE"
    # the real ones still work, each from its own ministry
    fr_key, fr_root = ministries["FR"]
    _, csr = ident.create_delegation_request("France", "FR")
    assert ident.verify_certificate(ident.issue_delegation(csr, fr_key, fr_root, "head", NOW), trust, NOW).country == "FR"
    _, csr = ident.create_delegation_request("Germany", "DE")
    assert ident.verify_certificate(ident.issue_delegation(csr, de_key, de_root, "head", NOW), trust, NOW).country == "DE"


def test_the_issuing_command_refuses_a_foreign_country(ministries) -> None:  # type: ignore[no-untyped-def]
    de_key, de_root = ministries["DE"]
    _, csr = ident.create_delegation_request("France", "FR")
    with pytest.raises(CryptoError, match="scoped to DE: it cannot issue for FR"):
        ident.issue_delegation(csr, de_key, de_root, "chair", NOW)


def test_scope_is_written_in_the_root_and_shown(tmp_path: Path) -> None:
    """An international root (a conference secretariat) lists its countries, or 'any'; ``identity show`` says which."""
    def cli(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "vrdiplomacy", "identity", *a], capture_output=True, text=True,
                              cwd=str(ROOT), env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})

    assert cli("init", "ministry", "--name", "Benelux Secretariat", "--country", "BE", "--scope", "BE,NL,LU",
               "--dir", str(tmp_path / "bnl")).returncode == 0
    out = cli("show", str(tmp_path / "bnl" / "ministry.crt")).stdout
    assert "scope       BE, LU, NL" in out
    key, root = ident.create_ministry_root("Benelux Secretariat", "BE", NOW, scope=["BE", "NL", "LU"])
    _, nl = craft_leaf(key, root, NOW, name="Netherlands", country="NL")
    _, fr = craft_leaf(key, root, NOW, name="France", country="FR")
    assert ident.verify_certificate(nl, [root], NOW).country == "NL"
    with pytest.raises(CryptoError, match="scoped to BE, LU, NL"):
        ident.verify_certificate(fr, [root], NOW)
    any_key, any_root = ident.create_ministry_root("UN Protocol", "CH", NOW, scope=[ident.ANY_COUNTRY])
    _, jp = craft_leaf(any_key, any_root, NOW, name="Japan", country="JP")
    assert ident.root_scope(any_root) is None and ident.verify_certificate(jp, [any_root], NOW).country == "JP"
