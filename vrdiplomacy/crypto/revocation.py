"""Revocation: certificate revocation lists (X.509 CRLs) signed by a ministry root, and the
:class:`TrustStore` that carries them beside the trusted roots.

A ministry revokes a delegation certificate with ``vrdiplomacy identity revoke`` (:func:`revoke`),
which re-signs its list with the root key; clients load it with ``--crl FILE`` or from the trust
folder given to ``--root`` (:func:`load_trust`). Lists are built and their signatures checked with
the ``cryptography`` package (its X.509 verifier has no CRL support, so looking a serial number
up in a verified list is ours, in :meth:`TrustStore.revoked`). An out-of-date list (past its next
update) still counts: a revoked certificate stays revoked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vrdiplomacy.crypto.identity import (
    CA_HASH,
    CLOCK_SKEW,
    CaKey,
    _check_ca_key,
    _read,
    load_certificates,
    revocation_reason,
    utc,
)
from vrdiplomacy.errors import ConfigError, CryptoError

REVOCATION_REASONS = {r.name: r for r in x509.ReasonFlags if r not in (x509.ReasonFlags.unspecified, x509.ReasonFlags.remove_from_crl)}


def revoke(
    root_key: CaKey,
    root_cert: x509.Certificate,
    serials: Iterable[tuple[int, x509.ReasonFlags | None]],
    now: float,
    previous: x509.CertificateRevocationList | None = None,
    days: int = 30,
) -> x509.CertificateRevocationList:
    """A CRL signed by the ministry root listing ``previous``'s entries plus ``serials`` (with their
    reasons), valid from ``now`` for ``days`` (when it should be re-issued)."""
    _check_ca_key(root_key, root_cert)
    when = utc(now)
    b = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root_cert.subject)
        .last_update(when - CLOCK_SKEW)
        .next_update(when + dt.timedelta(days=days))
    )
    number = 1
    seen: set[int] = set()
    if previous is not None:
        if previous.issuer != root_cert.subject or not previous.is_signature_valid(root_cert.public_key()):  # type: ignore[arg-type]
            raise CryptoError("the existing revocation list was not signed by this ministry root")
        for r in previous:
            b = b.add_revoked_certificate(r)
            seen.add(r.serial_number)
        try:
            number = previous.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
        except x509.ExtensionNotFound:
            pass
    for serial, reason in serials:
        if serial in seen:
            continue
        seen.add(serial)
        rb = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        if reason is not None:
            rb = rb.add_extension(x509.CRLReason(reason), critical=False)
        b = b.add_revoked_certificate(rb.build())
    b = b.add_extension(x509.CRLNumber(number), critical=False)
    b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_cert.public_key()), critical=False)  # type: ignore[arg-type]
    return b.sign(root_key, CA_HASH)


class TrustStore(list[x509.Certificate]):
    """Trusted ministry roots (it is a list of them) and the CRLs those ministries signed.

    Each CRL must be signed by one of the roots (checked here, with the library). Code that copies
    the roots with ``list(...)`` keeps the roots but drops the CRLs: pass the store itself."""

    def __init__(self, roots: Iterable[x509.Certificate] = (), crls: Iterable[x509.CertificateRevocationList] = ()) -> None:
        super().__init__(roots)
        self.crls: list[x509.CertificateRevocationList] = []
        for crl in crls:
            self.add_crl(crl)

    def add_crl(self, crl: x509.CertificateRevocationList) -> None:
        for root in self:
            if root.subject == crl.issuer and isinstance(root.public_key(), ec.EllipticCurvePublicKey):
                if crl.is_signature_valid(root.public_key()):  # type: ignore[arg-type]
                    self.crls.append(crl)
                    return
        raise CryptoError(f"revocation list from {crl.issuer.rfc4514_string()} is not signed by a trusted root")

    def revoked(self, cert: x509.Certificate, root: x509.Certificate) -> x509.RevokedCertificate | None:
        for crl in self.crls:
            if crl.issuer == root.subject and crl.is_signature_valid(root.public_key()):  # type: ignore[arg-type]
                r = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
                if r is not None:
                    return r
        return None


def describe_crl(crl: x509.CertificateRevocationList) -> list[tuple[str, str]]:
    """Human-readable fields of a revocation list (for ``identity show``)."""
    rows = [("kind", "certificate revocation list"), ("issuer", crl.issuer.rfc4514_string()),
            ("this update", f"{crl.last_update_utc:%Y-%m-%d %H:%M:%S} UTC")]
    if crl.next_update_utc is not None:
        rows.append(("next update", f"{crl.next_update_utc:%Y-%m-%d %H:%M:%S} UTC"))
    rows.append(("revoked", str(len(crl))))
    for r in crl:
        rows.append(("  serial", f"{r.serial_number:x} on {r.revocation_date_utc:%Y-%m-%d %H:%M} UTC{revocation_reason(r)}"))
    return rows


def load_crl(path: Path) -> x509.CertificateRevocationList:
    data = _read(path, "revocation list")
    try:
        return x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data)
    except (ValueError, x509.InvalidVersion):
        raise CryptoError(f"{path} is not an X.509 certificate revocation list") from None


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def load_trust(root_paths: Iterable[Path], crl_paths: Iterable[Path] = ()) -> TrustStore:
    """Roots and revocation lists: each ``root_paths`` entry is a PEM file of root certificates or a
    trust folder (its ``*.crt``/``*.pem`` roots and ``*.crl`` lists); ``crl_paths`` are more lists.
    Every list must be signed by one of the roots."""
    roots: list[x509.Certificate] = []
    crls: list[Path] = list(crl_paths)
    for p in root_paths:
        if p.is_dir():
            for f in sorted(p.iterdir()):
                if f.suffix in (".crt", ".pem"):
                    roots += load_certificates(f)
                elif f.suffix == ".crl":
                    crls.append(f)
        else:
            roots += load_certificates(p)
    if not roots:
        raise ConfigError("no trusted ministry root: give --root FILE or a folder of .crt files")
    store = TrustStore(roots)
    for f in crls:
        crl = load_crl(f)  # its errors name the file already
        try:
            store.add_crl(crl)
        except CryptoError as e:
            raise CryptoError(f"{f}: {e}") from None
    return store
