"""Hand-made certificates for the certificate attacks (findings 2 and 9).

They are built with the ``cryptography`` builder directly, as a careless or hostile ministry would,
so the checks under test cannot lean on our own issuing code. Works with any root key type (the
roots of main 3e2635d were Ed25519; they are ECDSA P-256 now)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT = object()


def _algo(key: Any) -> hashes.HashAlgorithm | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def craft_root(country: str, now: float, key_cert_sign: bool = True, name: str = "Crafted Ministry") -> tuple[Any, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, country), x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"{name} root")])
    start = dt.datetime.fromtimestamp(now, dt.timezone.utc) - dt.timedelta(minutes=5)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(start + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, key_cert_sign, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def craft_leaf(root_key: Any, root: x509.Certificate, now: float, name: str = "France", country: str = "FR",
               role: str = "head", eku: Any = DEFAULT, basic_constraints: bool = True, digital_signature: bool = True,
               unknown_critical: bool = False) -> tuple[ed25519.Ed25519PrivateKey, x509.Certificate]:
    key = ed25519.Ed25519PrivateKey.generate()
    start = dt.datetime.fromtimestamp(now, dt.timezone.utc) - dt.timedelta(minutes=5)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, country), x509.NameAttribute(NameOID.COMMON_NAME, name),
                                  x509.NameAttribute(NameOID.TITLE, role)]))
         .issuer_name(root.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(start + dt.timedelta(days=10))
         .add_extension(x509.KeyUsage(digital_signature, not digital_signature, False, False, False, False, False, False, False),
                        critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key()), critical=False))  # type: ignore[arg-type]
    if basic_constraints:
        b = b.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH] if eku is DEFAULT else eku
    if usages:
        b = b.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if unknown_critical:
        b = b.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.7"), b"\x05\x00"), critical=True)
    return key, b.sign(root_key, _algo(root_key))
