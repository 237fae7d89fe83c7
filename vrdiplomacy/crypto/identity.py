"""Delegation identities: Ed25519 X.509 certificates issued by a ministry's offline root.

* A ministry root is a self-signed CA certificate (``BasicConstraints(ca, pathlen=0)``, key usage
  keyCertSign + cRLSign) with an ECDSA P-256 key. Its **scope**, the countries it may issue
  delegation certificates for, is an X.509 NameConstraints extension (permitted directoryName
  subtrees ``C=XX``; an empty subtree means any country). A root without NameConstraints is
  scoped to its own subject country.
* A delegation creates its own Ed25519 key and a CSR; the ministry issues a certificate whose
  subject holds the delegation name (CN), its country (C) and its role (title, see :data:`ROLES`),
  with key usage digitalSignature and extended key usage clientAuth.
* :func:`verify_certificate` checks one certificate against trusted roots at a given time; given a
  :class:`~vrdiplomacy.crypto.revocation.TrustStore` (roots and the certificate revocation lists
  their ministries signed), it refuses revoked certificates too.

Why the roots are ECDSA and how much is checked by hand: chains are verified by the
``cryptography`` package's X.509 verifier (:mod:`cryptography.x509.verification`, a client
verifier under the Web PKI extension policies): signatures, validity periods, basicConstraints,
key usage (keyCertSign on the root, digitalSignature on the delegation), extended key usage
(clientAuth), unknown critical extensions. That verifier refuses Ed25519 for a CA (it reports
"Forbidden public key algorithm ... Ed25519" and does not accept Ed25519 signatures on certificates),
so roots sign with ECDSA P-256 / SHA-256; delegation keys stay Ed25519 (the verifier accepts an
Ed25519 subject key). Two checks it cannot do are ours, each a few lines: the country scope (it
refuses a *critical* directoryName name constraint as unsupported and ignores a non-critical one,
so roots carry it non-critical and :func:`root_scope` enforces it) and revocation (it has no CRL
support; CRL signatures are checked with the library's ``is_signature_valid``).

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
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509 import verification as xv
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vrdiplomacy.errors import ConfigError, CryptoError

ROLES = ("head", "delegate", "advisor", "interpreter", "observer", "chair", "host", "secretariat", "guest")
"""Roles a ministry may put in a delegation certificate; ``chair`` and ``host`` may sign rosters."""
STAFF_ROLES = ("secretariat", "guest")
"""Roles outside any delegation: a certificate with one is given exactly that role."""

ROSTER_SIGNER_ROLES = frozenset({"chair", "host"})
MEMBER_ROLE_ORDER = ("observer", "interpreter", "advisor", "delegate", "head")
"""Member roles from the least to the most: a certificate's holder may be given its role or a lower one."""
PASSPHRASE_ENV = "VRDIPLOMACY_PASSPHRASE"
CLOCK_SKEW = dt.timedelta(minutes=5)
ANY_COUNTRY = "*"
"""Scope of an international root (for example a conference secretariat): any country."""
CA_CURVE = ec.SECP256R1()
CA_HASH = hashes.SHA256()
CaKey = ec.EllipticCurvePrivateKey


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


def grantable_roles(cert_role: str) -> tuple[str, ...]:
    """The room roles a certificate with ``cert_role`` may be given: its own and the member roles
    below it (a chair or host certificate: its own role and every member role). An observer
    certificate can never be made chair."""
    if cert_role in ROSTER_SIGNER_ROLES:
        return (cert_role, *MEMBER_ROLE_ORDER)
    if cert_role in MEMBER_ROLE_ORDER:
        return MEMBER_ROLE_ORDER[: MEMBER_ROLE_ORDER.index(cert_role) + 1]
    if cert_role in STAFF_ROLES:
        return (cert_role,)
    return ()


def _scope_subtrees(countries: Sequence[str]) -> list[x509.GeneralName]:
    if ANY_COUNTRY in countries:
        return [x509.DirectoryName(x509.Name([]))]
    return [x509.DirectoryName(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, _check_country(c))]))
            for c in dict.fromkeys(countries)]


def root_scope(root: x509.Certificate) -> frozenset[str] | None:
    """The countries ``root`` may issue for (None: any country). From its NameConstraints
    (permitted directoryName subtrees of one ``C`` attribute; an empty subtree permits every
    name, RFC 5280 4.2.1.10), else its own subject country. Other subtree forms permit nothing."""
    try:
        nc = root.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        own = _attr(root.subject, NameOID.COUNTRY_NAME)
        return frozenset({own}) if own else frozenset()
    out: set[str] = set()
    for g in nc.permitted_subtrees or ():
        if not isinstance(g, x509.DirectoryName):
            continue
        attrs = list(g.value)
        if not attrs:
            return None
        if len(attrs) == 1 and attrs[0].oid == NameOID.COUNTRY_NAME and isinstance(attrs[0].value, str):
            out.add(attrs[0].value.upper())
    for g in nc.excluded_subtrees or ():
        if isinstance(g, x509.DirectoryName):
            attrs = list(g.value)
            if len(attrs) == 1 and attrs[0].oid == NameOID.COUNTRY_NAME and isinstance(attrs[0].value, str):
                out.discard(attrs[0].value.upper())
    return frozenset(out)


def scope_text(root: x509.Certificate) -> str:
    s = root_scope(root)
    return "any country" if s is None else (", ".join(sorted(s)) or "no country")


def create_ministry_root(
    name: str, country: str, now: float, days: int = 3650, scope: Sequence[str] | None = None
) -> tuple[CaKey, x509.Certificate]:
    """A new ministry root key (ECDSA P-256) and its self-signed CA certificate, scoped to
    ``scope`` (default: its own country; :data:`ANY_COUNTRY` for an international root)."""
    key = ec.generate_private_key(CA_CURVE)
    cc = _check_country(country)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, cc),
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
        # non-critical: the library verifier refuses critical directoryName constraints (see above)
        .add_extension(x509.NameConstraints(_scope_subtrees(scope or (cc,)), None), critical=False)
        .sign(key, CA_HASH)
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


def _check_ca_key(root_key: object, root_cert: x509.Certificate) -> CaKey:
    if not isinstance(root_key, ec.EllipticCurvePrivateKey):
        raise CryptoError("a ministry key must be ECDSA P-256 (re-create the root with 'vrdiplomacy identity init ministry')")
    pub = root_cert.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey) or root_key.public_key().public_numbers() != pub.public_numbers():
        raise CryptoError("the ministry key does not belong to the ministry certificate")
    return root_key


def issue_delegation(
    csr: x509.CertificateSigningRequest,
    root_key: CaKey,
    root_cert: x509.Certificate,
    role: str,
    now: float,
    days: int = 365,
) -> x509.Certificate:
    """The ministry signs a delegation certificate for ``csr`` with ``role`` (a country outside
    the root's scope is refused)."""
    if role not in ROLES:
        raise ConfigError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if not csr.is_signature_valid:
        raise CryptoError("the request's signature is invalid (it was altered or not self-signed)")
    pub = csr.public_key()
    if not isinstance(pub, ed25519.Ed25519PublicKey):
        raise CryptoError("delegation keys must be Ed25519")
    _check_ca_key(root_key, root_cert)
    name = _attr(csr.subject, NameOID.COMMON_NAME)
    country = _check_country(_attr(csr.subject, NameOID.COUNTRY_NAME))
    scope = root_scope(root_cert)
    if scope is not None and country not in scope:
        raise CryptoError(f"this ministry root is scoped to {scope_text(root_cert)}: it cannot issue for {country}")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
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
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(root_key, CA_HASH)
    )


def _ed25519(cert: x509.Certificate) -> ed25519.Ed25519PublicKey:
    pub = cert.public_key()
    if not isinstance(pub, ed25519.Ed25519PublicKey):
        raise CryptoError(f"certificate {_attr(cert.subject, NameOID.COMMON_NAME)!r} has no Ed25519 key")
    return pub


# --------------------------------------------------------------------------- verification


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


def _key_usage(policy: object, cert: x509.Certificate, ku: x509.KeyUsage) -> None:
    if not ku.digital_signature:
        raise ValueError("key usage lacks digitalSignature")


def _ext_key_usage(policy: xv.Policy, cert: x509.Certificate, eku: x509.ExtendedKeyUsage) -> None:
    # replacing the library's default EKU entry (to make the extension required) replaces its
    # validator too: check the client verifier's EKU (clientAuth) here
    if policy.extended_key_usage not in eku:
        raise ValueError("extended key usage lacks clientAuth")


def _end_entity(policy: object, cert: x509.Certificate, bc: x509.BasicConstraints) -> None:
    if bc.ca:
        raise ValueError("a delegation certificate must not be a CA")


_EE_POLICY = (
    xv.ExtensionPolicy.webpki_defaults_ee()
    .require_present(x509.KeyUsage, xv.Criticality.AGNOSTIC, _key_usage)
    .require_present(x509.ExtendedKeyUsage, xv.Criticality.AGNOSTIC, _ext_key_usage)
    .require_present(x509.BasicConstraints, xv.Criticality.AGNOSTIC, _end_entity)
    .may_be_present(x509.SubjectAlternativeName, xv.Criticality.AGNOSTIC, None)
)
_CA_POLICY = xv.ExtensionPolicy.webpki_defaults_ca()


def verify_certificate(
    cert: x509.Certificate, roots: Sequence[x509.Certificate], now: float
) -> VerifiedIdentity:
    """Check that ``cert`` is a delegation certificate issued by one of ``roots`` (a
    :class:`~vrdiplomacy.crypto.revocation.TrustStore` adds revocation) within that root's country scope and valid at ``now``;
    returns who it names or raises :class:`CryptoError` saying what is wrong."""
    try:
        return _verify_certificate(cert, roots, now)
    except (ValueError, TypeError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType, UnsupportedAlgorithm) as e:
        # cryptography parses names and extensions lazily: malformed ones surface here.
        raise CryptoError(f"malformed certificate: {e}") from None


def _why_not(cert: x509.Certificate, when: dt.datetime, name: str, err: Exception) -> str:
    """A person's reading of the library's refusal (the library decided; this only words it)."""
    if when < cert.not_valid_before_utc:
        return f"certificate {name!r} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    if when > cert.not_valid_after_utc:
        return f"certificate {name!r} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    msg = str(err).removeprefix("validation failed: ")
    msg = msg.split(" (encountered processing")[0]
    return f"{name!r} does not chain to a trusted root: {msg}"


def revocation_reason(r: x509.RevokedCertificate) -> str:
    try:
        return f" ({r.extensions.get_extension_for_class(x509.CRLReason).value.reason.name})"
    except x509.ExtensionNotFound:
        return ""


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
    legacy = [r for r in candidates if isinstance(r.public_key(), ed25519.Ed25519PublicKey)]
    if legacy and len(legacy) == len(candidates):
        raise CryptoError(f"the ministry root of {name!r} has an Ed25519 key, which the X.509 verifier does not "
                          "accept for a CA: re-create it with 'vrdiplomacy identity init ministry' (ECDSA P-256)")
    verifier = (
        xv.PolicyBuilder()
        .store(xv.Store([r for r in candidates if r not in legacy]))
        .time(when)
        .max_chain_depth(0)
        .extension_policies(ca_policy=_CA_POLICY, ee_policy=_EE_POLICY)
        .build_client_verifier()
    )
    try:
        chain = verifier.verify(cert, []).chain
    except xv.VerificationError as e:
        raise CryptoError(_why_not(cert, when, name, e)) from None
    root = chain[-1]
    country = _attr(cert.subject, NameOID.COUNTRY_NAME)
    scope = root_scope(root)
    if scope is not None and country not in scope:
        raise CryptoError(f"{name!r} names country {country or '(none)'} but its ministry root is scoped to "
                          f"{scope_text(root)}")
    revoked = getattr(roots, "revoked", None)  # a revocation.TrustStore (roots and their CRLs)
    if revoked is not None:
        r = revoked(cert, root)
        if r is not None:
            raise CryptoError(f"certificate {name!r} was revoked by its ministry on "
                              f"{r.revocation_date_utc:%Y-%m-%d %H:%M} UTC{revocation_reason(r)}")
    role = _attr(cert.subject, NameOID.TITLE)
    if role not in ROLES:
        raise CryptoError(f"{name!r} carries no valid role")
    return VerifiedIdentity(
        name=name,
        country=country,
        role=role,
        ministry=_attr(root.subject, NameOID.ORGANIZATION_NAME) or root.subject.rfc4514_string(),
        fingerprint=fingerprint(cert),
        not_after=cert.not_valid_after_utc,
        public_key=_ed25519(cert),
        certificate=cert,
    )


def describe(cert: x509.Certificate) -> list[tuple[str, str]]:
    """Human-readable fields of a certificate (for ``identity show``)."""
    ca = _is_ca(cert)
    rows = [
        ("subject", cert.subject.rfc4514_string({NameOID.TITLE: "title"})),
        ("issuer", cert.issuer.rfc4514_string()),
        ("kind", "ministry root (CA)" if ca else "delegation"),
    ]
    if ca:
        rows.append(("scope", scope_text(cert)))
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


def private_key_pem(key: ed25519.Ed25519PrivateKey | CaKey, passphrase: bytes | None) -> bytes:
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def write_private_key(
    path: Path, key: ed25519.Ed25519PrivateKey | CaKey, passphrase: bytes | None, overwrite: bool = False
) -> None:
    ensure_private_dir(path.parent)
    write_file(path, private_key_pem(key, passphrase), 0o600, overwrite)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read {what} {path}: {e.strerror}") from None


def _load_key(path: Path, passphrase: bytes | None) -> object:
    data = _read(path, "key")
    try:
        return serialization.load_pem_private_key(data, passphrase)
    except TypeError:
        if passphrase:
            raise CryptoError(f"{path} is not encrypted but a passphrase was given") from None
        raise CryptoError(
            f"{path} is encrypted: give --passphrase-file or set {PASSPHRASE_ENV}"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise CryptoError(f"cannot load {path}: wrong passphrase or not a PEM private key") from None


def load_private_key(path: Path, passphrase: bytes | None) -> ed25519.Ed25519PrivateKey:
    key = _load_key(path, passphrase)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise CryptoError(f"{path} is not an Ed25519 key")
    return key


def load_ca_key(path: Path, passphrase: bytes | None) -> CaKey:
    """A ministry root key (ECDSA P-256)."""
    key = _load_key(path, passphrase)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raise CryptoError(f"{path} is an Ed25519 ministry key from an older version: the X.509 verifier does not accept "
                          "Ed25519 for a CA; re-create the root with 'vrdiplomacy identity init ministry'")
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CryptoError(f"{path} is not an ECDSA ministry key")
    return key


def load_certificate(path: Path) -> x509.Certificate:
    data = _read(path, "certificate")
    try:
        return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except (ValueError, x509.InvalidVersion):  # InvalidVersion is no ValueError
        raise CryptoError(f"{path} is not an X.509 certificate") from None


def load_certificates(path: Path) -> list[x509.Certificate]:
    data = _read(path, "certificate")
    try:
        return x509.load_pem_x509_certificates(data)
    except (ValueError, x509.InvalidVersion):
        raise CryptoError(f"{path} holds no PEM certificates") from None


def load_csr(path: Path) -> x509.CertificateSigningRequest:
    data = _read(path, "request")
    try:
        return x509.load_pem_x509_csr(data)
    except (ValueError, x509.InvalidVersion):
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
    except (ValueError, x509.InvalidVersion):  # a version other than v1/v3 is no ValueError
        raise CryptoError("malformed DER certificate") from None

