"""Finding 9: certificate validation was hand-written; it accepted an unknown critical extension, a
serverAuth-only EKU, a delegation certificate without BasicConstraints and a root without
keyCertSign, and knew no revocation.

Every test here fails on main 3e2635d (the first four because main's verifier accepted the bad
certificate; the revocation tests because main had no revocation list at all)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.crypto import revocation
from vrdiplomacy.errors import CryptoError

from attacks.certkit import craft_leaf, craft_root

ROOT = Path(__file__).resolve().parents[3]
NOW = time.time()


@pytest.fixture(scope="module")
def ministry() -> tuple[object, object]:
    return craft_root("FR", NOW, name="Ministere")


def test_a_well_formed_delegation_is_accepted(ministry) -> None:  # type: ignore[no-untyped-def]
    key, root = ministry
    _, cert = craft_leaf(key, root, NOW)
    v = ident.verify_certificate(cert, [root], NOW)
    assert (v.name, v.country, v.role) == ("France", "FR", "head")


@pytest.mark.parametrize("flaw,kw,reason", [
    ("an unknown critical extension", {"unknown_critical": True}, "unaccounted-for critical extensions"),
    ("a serverAuth-only extended key usage", {"eku": [ExtendedKeyUsageOID.SERVER_AUTH]}, "lacks clientAuth"),
    ("no extended key usage at all", {"eku": []}, "missing required extension"),
    ("no BasicConstraints", {"basic_constraints": False}, "missing required extension"),
    ("a key usage without digitalSignature", {"digital_signature": False}, "digitalSignature"),
])
def test_malformed_delegation_certificates_are_refused(ministry, flaw: str, kw: dict, reason: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    key, root = ministry
    _, cert = craft_leaf(key, root, NOW, **kw)
    with pytest.raises(CryptoError, match=reason) as e:
        ident.verify_certificate(cert, [root], NOW)
    assert "France" in str(e.value) and "\n" not in str(e.value), flaw


def test_a_root_without_key_cert_sign_is_no_trust_anchor() -> None:
    key, root = craft_root("FR", NOW, key_cert_sign=False)
    _, cert = craft_leaf(key, root, NOW)
    with pytest.raises(CryptoError, match="keyCertSign"):
        ident.verify_certificate(cert, [root], NOW)


def test_a_revoked_delegation_is_refused_with_a_clear_message() -> None:
    rkey, root = ident.create_ministry_root("Ministere", "FR", NOW - 60)
    fr_key, csr = ident.create_delegation_request("France", "FR")
    fr = ident.issue_delegation(csr, rkey, root, "head", NOW - 60)
    _, csr2 = ident.create_delegation_request("France advisor", "FR")
    adv = ident.issue_delegation(csr2, rkey, root, "advisor", NOW - 60)
    crl = revocation.revoke(rkey, root, [(fr.serial_number, revocation.REVOCATION_REASONS["key_compromise"])], NOW)
    trust = revocation.TrustStore([root], [crl])
    with pytest.raises(CryptoError) as e:
        ident.verify_certificate(fr, trust, NOW)
    assert str(e.value).startswith("certificate 'France' was revoked by its ministry on ") and "(key_compromise)" in str(e.value)
    assert ident.verify_certificate(adv, trust, NOW).name == "France advisor"  # the others stay valid
    # a later list keeps earlier entries (and the CRL number grows)
    crl2 = revocation.revoke(rkey, root, [(adv.serial_number, None)], NOW, previous=crl)
    assert {r.serial_number for r in crl2} == {fr.serial_number, adv.serial_number}
    # a list signed by someone else is not loaded at all
    other_key, other = ident.create_ministry_root("Ministere", "FR", NOW - 60)
    forged = revocation.revoke(other_key, other, [(adv.serial_number, None)], NOW)
    with pytest.raises(CryptoError, match="not signed by a trusted root"):
        revocation.TrustStore([root], [forged])


def test_revocation_through_the_cli(tmp_path: Path) -> None:
    """``identity revoke`` writes the ministry's CRL; ``identity verify --crl`` and a trust folder refuse the certificate."""
    def cli(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "vrdiplomacy", "identity", *a], capture_output=True, text=True,
                              cwd=str(ROOT), env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})

    m, d = tmp_path / "ministry", tmp_path / "france"
    assert cli("init", "ministry", "--name", "Ministere", "--country", "FR", "--dir", str(m)).returncode == 0
    assert cli("init", "delegation", "--name", "France", "--country", "FR", "--dir", str(d)).returncode == 0
    assert cli("issue", str(d / "delegation.csr"), "--ca-dir", str(m), "--role", "head").returncode == 0
    r = cli("revoke", str(d / "delegation.crt"), "--ca-dir", str(m), "--reason", "superseded")
    assert r.returncode == 0 and "1 revoked certificates" in r.stdout, r.stderr
    r = cli("verify", str(d / "delegation.crt"), "--root", str(m / "ministry.crt"), "--crl", str(m / "ministry.crl"))
    assert r.returncode == 1 and r.stdout.startswith("FAILED: ") and "was revoked by its ministry" in r.stdout
    assert "(superseded)" in r.stdout and r.stdout.count("\n") == 1
    trust = tmp_path / "trust"
    trust.mkdir()
    (trust / "fr.crt").write_bytes((m / "ministry.crt").read_bytes())
    (trust / "fr.crl").write_bytes((m / "ministry.crl").read_bytes())
    r = cli("verify", str(d / "delegation.crt"), "--root", str(trust))
    assert r.returncode == 1 and "was revoked" in r.stdout
    r = cli("show", str(m / "ministry.crl"))
    assert "certificate revocation list" in r.stdout and "superseded" in r.stdout


def test_an_ed25519_root_gets_an_explanation() -> None:
    """The library verifier does not accept Ed25519 for a CA; a root from the old format says so."""
    old_key = ed25519.Ed25519PrivateKey.generate()
    _, tmpl = craft_root("FR", NOW)
    old_root = (x509.CertificateBuilder().subject_name(tmpl.subject).issuer_name(tmpl.subject).public_key(old_key.public_key())
                .serial_number(1).not_valid_before(tmpl.not_valid_before_utc).not_valid_after(tmpl.not_valid_after_utc)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                .sign(old_key, None))
    _, cert = craft_leaf(old_key, old_root, NOW)
    with pytest.raises(CryptoError, match="Ed25519 key, which the X.509 verifier does not accept for a CA"):
        ident.verify_certificate(cert, [old_root], NOW)
