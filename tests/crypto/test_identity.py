"""Ministry roots, delegation certificates, key files and the ``identity`` command."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from vrdiplomacy.cli import main
from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.errors import ConfigError, CryptoError

from .conftest import NOW, Pki

DAY = 86400.0


def test_issue_and_verify(pki: Pki) -> None:
    key, cert = pki.issue("France", "fr", "head")
    v = ident.verify_certificate(cert, [pki.root], NOW)
    assert (v.name, v.country, v.role) == ("France", "FR", "head")
    assert v.ministry == "Ministry of Foreign Affairs"
    assert v.public_key.public_bytes_raw() == key.public_key().public_bytes_raw()
    assert v.fingerprint == ident.fingerprint(cert) and len(v.fingerprint) == 95


def test_rejections(pki: Pki) -> None:
    _, cert = pki.issue("France", "FR", "delegate")
    other_key, other_root = ident.create_ministry_root("Ministry of Foreign Affairs", "FR", NOW)
    # Same name, different key: the signature check must catch it, not the name match.
    with pytest.raises(CryptoError, match="does not chain"):
        ident.verify_certificate(cert, [other_root], NOW)
    with pytest.raises(CryptoError, match="expired"):
        ident.verify_certificate(cert, [pki.root], NOW + 366 * DAY)
    with pytest.raises(CryptoError, match="not valid before"):
        ident.verify_certificate(cert, [pki.root], NOW - DAY)
    with pytest.raises(CryptoError, match="CA certificate"):
        ident.verify_certificate(pki.root, [pki.root], NOW)
    with pytest.raises(CryptoError, match="not a trusted root"):
        ident.verify_certificate(cert, [], NOW)
    # A certificate altered after signing (its role byte changed).
    der = bytearray(ident.cert_der(cert))
    i = der.find(b"delegate")
    der[i : i + 8] = b"chairXXX"
    with pytest.raises(CryptoError):
        ident.verify_certificate(x509.load_der_x509_certificate(bytes(der)), [pki.root], NOW)


def test_issue_checks_inputs(pki: Pki) -> None:
    _, csr = ident.create_delegation_request("Japan", "JP")
    with pytest.raises(ConfigError, match="role"):
        ident.issue_delegation(csr, pki.root_key, pki.root, "emperor", NOW)
    with pytest.raises(CryptoError, match="does not belong"):
        ident.issue_delegation(csr, ec.generate_private_key(ec.SECP256R1()), pki.root, "head", NOW)
    with pytest.raises(ConfigError, match="country"):
        ident.create_delegation_request("Japan", "JPN")


def test_key_files(tmp_path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    path = tmp_path / "keys" / "a.key"
    ident.write_private_key(path, key, b"correct horse")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert b"ENCRYPTED" in path.read_bytes()
    assert ident.load_private_key(path, b"correct horse").private_bytes_raw() == key.private_bytes_raw()
    with pytest.raises(CryptoError, match="wrong passphrase"):
        ident.load_private_key(path, b"wrong")
    with pytest.raises(CryptoError, match="encrypted"):
        ident.load_private_key(path, None)
    with pytest.raises(ConfigError, match="exists"):
        ident.write_private_key(path, key, None)


def _cli(*args: str) -> int:
    return main(["-q", "identity", *args])


def test_cli_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    pw = tmp_path / "pw"
    pw.write_text("ministry secret\n")
    m, d = tmp_path / "ministry", tmp_path / "france"
    assert _cli("init", "ministry", "--name", "Ministry of Foreign Affairs", "--country", "FR",
                "--dir", str(m), "--passphrase-file", str(pw)) == 0
    assert stat.S_IMODE(os.stat(m / "ministry.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(m).st_mode) == 0o700
    assert _cli("init", "delegation", "--name", "France", "--country", "FR", "--dir", str(d)) == 0
    capsys.readouterr()
    # The ministry key is encrypted: without a passphrase, a one-line error.
    monkeypatch.delenv(ident.PASSPHRASE_ENV, raising=False)
    assert _cli("issue", str(d / "delegation.csr"), "--ca-dir", str(m), "--role", "head") == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {m / 'ministry.key'} is encrypted: give --passphrase-file or set {ident.PASSPHRASE_ENV}"
    )
    monkeypatch.setenv(ident.PASSPHRASE_ENV, "ministry secret")
    assert _cli("issue", str(d / "delegation.csr"), "--ca-dir", str(m), "--role", "head") == 0
    assert "France (FR), role head" in capsys.readouterr().out
    assert _cli("show", str(d / "delegation.crt")) == 0
    out = capsys.readouterr().out
    assert "CN=France" in out and "title=head" in out and "sha256" in out and "not after" in out
    assert _cli("verify", str(d / "delegation.crt"), "--root", str(m / "ministry.crt")) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("OK: France (FR), role head, issued by Ministry of Foreign Affairs") and "\n" not in line
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)).strftime("%Y-%m-%dT%H:%M")
    assert _cli("verify", str(d / "delegation.crt"), "--root", str(m / "ministry.crt"), "--at", later) == 1
    assert capsys.readouterr().out.startswith("FAILED:")
    _cli("init", "ministry", "--name", "Rogue", "--country", "XX", "--dir", str(tmp_path / "rogue"))
    capsys.readouterr()
    assert _cli("verify", str(d / "delegation.crt"), "--root", str(tmp_path / "rogue" / "ministry.crt")) == 1
    assert "not a trusted root" in capsys.readouterr().out
    assert _cli("verify", str(tmp_path / "missing.crt"), "--root", str(m / "ministry.crt")) == 1
    assert capsys.readouterr().out.startswith("FAILED:")
    # a file that is not what it should be is named once, and the certificate is not blamed
    bad = tmp_path / "bad.crl"
    bad.write_text("not a revocation list")
    assert _cli("verify", str(d / "delegation.crt"), "--root", str(m / "ministry.crt"), "--crl", str(bad)) == 1
    line = capsys.readouterr().out.strip()
    assert line == f"FAILED: {bad} is not an X.509 certificate revocation list", line
    assert _cli("verify", str(tmp_path / "missing.crt"), "--root", str(m / "ministry.crt")) == 1
    assert capsys.readouterr().out.strip().count("missing.crt") == 1


def test_invitation_encoding_and_malformed_input(pki: Pki) -> None:
    """Invitations round-trip (binary and armoured); every truncation or bit flip is a clear error, never a crash."""
    from vrdiplomacy.crypto.admission import Admission, Invitation, check_for_member
    from vrdiplomacy.errors import ProtocolError

    ck, cc = pki.issue("Chair", "CH", "chair")
    fk, fc = pki.issue("France", "FR", "head")
    inv = Invitation.create("chamber", cc, ck, fc, "delegate", NOW, "A1", days=2)
    raw = bytes(inv)
    assert Invitation.parse(raw) == inv and Invitation.from_armored(inv.armored()) == inv
    assert inv.authority_fingerprint == ident.fingerprint(cc) and inv.member_fingerprint == ident.fingerprint(fc)
    assert (inv.member_name, inv.member_country, inv.role, inv.seat) == ("France", "FR", "delegate", "A1")
    assert inv.not_after - inv.issued_at == 2 * 86400
    inv.check(NOW + 3600, "chamber", "A1")
    adm = check_for_member(inv, fc, fk, [pki.root], NOW + 60, "chamber")
    assert isinstance(adm, Admission) and adm.role == "delegate"
    for n in range(len(raw)):
        with pytest.raises(ProtocolError):
            Invitation.parse(raw[:n])
    with pytest.raises(ProtocolError):
        Invitation.parse(raw + b"x")
    for i in range(0, len(raw), 7):
        bad = bytearray(raw)
        bad[i] ^= 0x20
        try:
            Invitation.parse(bytes(bad)).check(NOW + 60)
        except (ProtocolError, CryptoError):
            continue
        raise AssertionError(f"a flipped bit at offset {i} went unnoticed")
    with pytest.raises(CryptoError, match="expired on"):
        inv.check(NOW + 3 * 86400)
    with pytest.raises(CryptoError, match="for room 'chamber', not 'salon'"):
        inv.check(NOW, "salon")
    with pytest.raises(CryptoError, match="for another key"):
        Admission(inv, ck)
    # an invitation whose authority does not chain to the member's roots is refused by the member
    rogue_key, rogue_root = ident.create_ministry_root("Rogue", "CH", NOW - 60)
    rk, rcsr = ident.create_delegation_request("Rogue chair", "CH")
    rchair = ident.issue_delegation(rcsr, rogue_key, rogue_root, "chair", NOW - 60)
    other = Invitation.create("chamber", rchair, rk, fc, "head", NOW)
    with pytest.raises(CryptoError, match="the invitation's authority is not trusted"):
        check_for_member(other, fc, fk, [pki.root], NOW + 60, "chamber")


def test_grantable_roles_and_scope(pki: Pki) -> None:
    assert ident.grantable_roles("observer") == ("observer",)
    assert ident.grantable_roles("chair") == ("chair", "observer", "interpreter", "advisor", "delegate", "head")
    assert "chair" not in ident.grantable_roles("host") and ident.grantable_roles("nobody") == ()
    assert ident.root_scope(pki.root) is None  # the test ministry issues for every country
    _, fr_root = ident.create_ministry_root("Ministere", "FR", NOW)
    assert ident.root_scope(fr_root) == frozenset({"FR"}) and ident.scope_text(fr_root) == "FR"
