"""Delegation identities: Ed25519 X.509 certificates issued by a ministry's offline root.

* A ministry root is a self-signed CA certificate (``BasicConstraints(ca, pathlen=0)``).
* A delegation creates its own Ed25519 key and a CSR; the ministry issues a certificate whose
  subject holds the delegation name (CN), its country (C) and its role (title, see :data:`ROLES`).
* :func:`verify_certificate` checks one certificate against trusted roots at a given time.

Keys are written with mode 0600 (their folder 0700) and encrypted when a passphrase is given.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vrdiplomacy.errors import ConfigError, CryptoError

ROLES = ("head", "delegate", "advisor", "interpreter", "observer", "chair", "host")
"""Roles a ministry may put in a delegation certificate; ``chair`` and ``host`` may sign rosters."""

ROSTER_SIGNER_ROLES = frozenset({"chair", "host"})
PASSPHRASE_ENV = "VRDIPLOMACY_PASSPHRASE"
CLOCK_SKEW = dt.timedelta(minutes=5)


def utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def _check_country(country: str) -> str:
    c = country.strip().upper()
    if len(c) != 2 or not c.isalpha() or not c.isascii():
        raise ConfigError(f"country must be a two-letter code like FR or JP, got {country!r}")
    return c


def _check_name(name: str) -> str:
    n = name.strip()
    if not n or len(n) > 64:
        raise ConfigError("name must be 1 to 64 characters")
    return n


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, as colon-separated upper-case hex."""
    d = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(d[i : i + 2] for i in range(0, len(d), 2))


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    vals = name.get_attributes_for_oid(oid)
    v = vals[0].value if vals else ""
    return v if isinstance(v, str) else v.decode("utf-8", "replace")


def create_ministry_root(
    name: str, country: str, now: float, days: int = 3650
) -> tuple[ed25519.Ed25519PrivateKey, x509.Certificate]:
    """A new ministry root key and its self-signed CA certificate."""
    key = ed25519.Ed25519PrivateKey.generate()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, _check_country(country)),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _check_name(name)),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{_check_name(name)} root"),
        ]
    )
    pub = key.public_key()
    start = utc(now) - CLOCK_SKEW
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .sign(key, None)
    )
    return key, cert


def create_delegation_request(
    name: str, country: str, key: ed25519.Ed25519PrivateKey | None = None
) -> tuple[ed25519.Ed25519PrivateKey, x509.CertificateSigningRequest]:
    """A delegation key (new unless given) and a CSR naming the delegation and its country."""
    key = key or ed25519.Ed25519PrivateKey.generate()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, _check_country(country)),
            x509.NameAttribute(NameOID.COMMON_NAME, _check_name(name)),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, None)
    return key, csr


def issue_delegation(
    csr: x509.CertificateSigningRequest,
    root_key: ed25519.Ed25519PrivateKey,
    root_cert: x509.Certificate,
    role: str,
    now: float,
    days: int = 365,
) -> x509.Certificate:
    """The ministry signs a delegation certificate for ``csr`` with ``role``."""
    if role not in ROLES:
        raise ConfigError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if not csr.is_signature_valid:
        raise CryptoError("the request's signature is invalid (it was altered or not self-signed)")
    pub = csr.public_key()
    if not isinstance(pub, ed25519.Ed25519PublicKey):
        raise CryptoError("delegation keys must be Ed25519")
    if root_key.public_key().public_bytes_raw() != _ed25519(root_cert).public_bytes_raw():
        raise CryptoError("the ministry key does not belong to the ministry certificate")
    name = _attr(csr.subject, NameOID.COMMON_NAME)
    country = _attr(csr.subject, NameOID.COUNTRY_NAME)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, _check_country(country)),
            x509.NameAttribute(NameOID.COMMON_NAME, _check_name(name)),
            x509.NameAttribute(NameOID.TITLE, role),
        ]
    )
    start = utc(now) - CLOCK_SKEW
    end = min(start + dt.timedelta(days=days), root_cert.not_valid_after_utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root_cert.subject)
        .public_key(pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(_ed25519(root_cert)), critical=False
        )
        .sign(root_key, None)
    )


def _ed25519(cert: x509.Certificate) -> ed25519.Ed25519PublicKey:
    pub = cert.public_key()
    if not isinstance(pub, ed25519.Ed25519PublicKey):
        raise CryptoError(f"certificate {_attr(cert.subject, NameOID.COMMON_NAME)!r} has no Ed25519 key")
    return pub


@dataclass(frozen=True)
class VerifiedIdentity:
    """A certificate that passed :func:`verify_certificate`: who it names and who vouches for it."""

    name: str
    country: str
    role: str
    ministry: str
    fingerprint: str
    not_after: dt.datetime
    public_key: ed25519.Ed25519PublicKey
    certificate: x509.Certificate

    def summary(self) -> str:
        return (
            f"{self.name} ({self.country}), role {self.role}, issued by {self.ministry}, "
            f"valid until {self.not_after:%Y-%m-%d %H:%M} UTC"
        )


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _within(cert: x509.Certificate, when: dt.datetime, what: str) -> None:
    if when < cert.not_valid_before_utc:
        raise CryptoError(f"{what} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    if when > cert.not_valid_after_utc:
        raise CryptoError(f"{what} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")


def verify_certificate(
    cert: x509.Certificate, roots: Sequence[x509.Certificate], now: float
) -> VerifiedIdentity:
    """Check that ``cert`` is a delegation certificate issued by one of ``roots`` and valid at
    ``now``; returns who it names or raises :class:`CryptoError` saying what is wrong."""
    try:
        return _verify_certificate(cert, roots, now)
    except (ValueError, TypeError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as e:
        # cryptography parses names and extensions lazily: malformed ones surface here.
        raise CryptoError(f"malformed certificate: {e}") from None


def _verify_certificate(
    cert: x509.Certificate, roots: Sequence[x509.Certificate], now: float
) -> VerifiedIdentity:
    when = utc(now)
    name = _attr(cert.subject, NameOID.COMMON_NAME) or "(no name)"
    if _is_ca(cert):
        raise CryptoError(f"{name!r} is a CA certificate, not a delegation certificate")
    candidates = [r for r in roots if r.subject == cert.issuer]
    if not candidates:
        raise CryptoError(f"{name!r} was issued by {cert.issuer.rfc4514_string()}, which is not a trusted root")
    last: Exception | None = None
    for root in candidates:
        try:
            if not _is_ca(root):
                raise CryptoError("the trusted root is not a CA certificate")
            root.verify_directly_issued_by(root)
            _within(root, when, "the ministry root")
            cert.verify_directly_issued_by(root)
        except (InvalidSignature, ValueError, TypeError, CryptoError) as e:
            last = e
            continue
        _within(cert, when, f"certificate {name!r}")
        try:
            ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
            if not ku.digital_signature:
                raise CryptoError(f"{name!r} may not sign (key usage lacks digitalSignature)")
        except x509.ExtensionNotFound:
            raise CryptoError(f"{name!r} has no key usage extension") from None
        role = _attr(cert.subject, NameOID.TITLE)
        if role not in ROLES:
            raise CryptoError(f"{name!r} carries no valid role")
        return VerifiedIdentity(
            name=name,
            country=_attr(cert.subject, NameOID.COUNTRY_NAME),
            role=role,
            ministry=_attr(root.subject, NameOID.ORGANIZATION_NAME) or root.subject.rfc4514_string(),
            fingerprint=fingerprint(cert),
            not_after=cert.not_valid_after_utc,
            public_key=_ed25519(cert),
            certificate=cert,
        )
    detail = "signature does not verify" if isinstance(last, (InvalidSignature, ValueError, TypeError)) else str(last)
    raise CryptoError(f"{name!r} does not chain to a trusted root: {detail}")


def describe(cert: x509.Certificate) -> list[tuple[str, str]]:
    """Human-readable fields of a certificate (for ``identity show``)."""
    rows = [
        ("subject", cert.subject.rfc4514_string({NameOID.TITLE: "title"})),
        ("issuer", cert.issuer.rfc4514_string()),
        ("kind", "ministry root (CA)" if _is_ca(cert) else "delegation"),
    ]
    role = _attr(cert.subject, NameOID.TITLE)
    if role:
        rows.append(("role", role))
    rows += [
        ("serial", f"{cert.serial_number:x}"),
        ("not before", f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC"),
        ("not after", f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC"),
        ("key", type(cert.public_key()).__name__.replace("PublicKey", "").replace("_", "")),
        ("sha256", fingerprint(cert)),
    ]
    return rows


# --------------------------------------------------------------------------- files


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) with mode 0700 for the last level."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def write_file(path: Path, data: bytes, mode: int, overwrite: bool = False) -> None:
    """Write ``data`` to a new file created with ``mode`` (refuses to overwrite unless asked)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise ConfigError(f"{path} already exists (use --force to replace it)") from None
    except OSError as e:
        raise ConfigError(f"cannot write {path}: {e.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def private_key_pem(key: ed25519.Ed25519PrivateKey, passphrase: bytes | None) -> bytes:
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def write_private_key(
    path: Path, key: ed25519.Ed25519PrivateKey, passphrase: bytes | None, overwrite: bool = False
) -> None:
    ensure_private_dir(path.parent)
    write_file(path, private_key_pem(key, passphrase), 0o600, overwrite)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read {what} {path}: {e.strerror}") from None


def load_private_key(path: Path, passphrase: bytes | None) -> ed25519.Ed25519PrivateKey:
    data = _read(path, "key")
    try:
        key = serialization.load_pem_private_key(data, passphrase)
    except TypeError:
        if passphrase:
            raise CryptoError(f"{path} is not encrypted but a passphrase was given") from None
        raise CryptoError(
            f"{path} is encrypted: give --passphrase-file or set {PASSPHRASE_ENV}"
        ) from None
    except ValueError:
        raise CryptoError(f"cannot load {path}: wrong passphrase or not a PEM private key") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise CryptoError(f"{path} is not an Ed25519 key")
    return key


def load_certificate(path: Path) -> x509.Certificate:
    data = _read(path, "certificate")
    try:
        return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except ValueError:
        raise CryptoError(f"{path} is not an X.509 certificate") from None


def load_certificates(path: Path) -> list[x509.Certificate]:
    data = _read(path, "certificate")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CryptoError(f"{path} holds no PEM certificates") from None


def load_csr(path: Path) -> x509.CertificateSigningRequest:
    data = _read(path, "request")
    try:
        return x509.load_pem_x509_csr(data)
    except ValueError:
        raise CryptoError(f"{path} is not a PEM certificate signing request") from None


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def csr_pem(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(serialization.Encoding.PEM)


def cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def load_der_certificate(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise CryptoError("malformed DER certificate") from None
