"""TLS for the control channel: a self-signed relay certificate pinned by SHA-256 fingerprint.

On first run the relay makes an ECDSA P-256 certificate and a resume-token secret under its
state directory (default ``~/.local/state/vrdiplomacy/relay``) and reuses them afterwards, so its
fingerprint (printed at start) stays the same across restarts. Clients do not use a CA: they
complete the TLS 1.3 handshake, then compare the SHA-256 of the relay's DER certificate with the
pinned fingerprint and hang up before sending anything if it differs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import os
import secrets
import ssl
from pathlib import Path

from vrdiplomacy.errors import ConfigError, CryptoError

CERT_FILE, KEY_FILE, SECRET_FILE = "relay-cert.pem", "relay-key.pem", "resume-secret"


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "vrdiplomacy" / "relay"


def fingerprint_of(der: bytes) -> str:
    """SHA-256 of a DER certificate as 64 lowercase hex digits."""
    return hashlib.sha256(der).hexdigest()


def normalize_fingerprint(fp: str) -> str:
    """Accept ``AB:CD:...`` or plain hex in any case; raise ConfigError if it is not SHA-256."""
    out = fp.replace(":", "").replace(" ", "").strip().lower()
    if len(out) != 64 or any(c not in "0123456789abcdef" for c in out):
        raise ConfigError(f"relay fingerprint must be 64 hex digits (SHA-256), got {fp!r}")
    return out


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _prepare(state_dir: Path) -> None:
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        raise ConfigError(f"cannot create relay state directory {state_dir}: {e.strerror}") from None


def ensure_certificate(state_dir: Path) -> tuple[Path, Path, str]:
    """Load or create the relay certificate; returns (cert path, key path, fingerprint)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    _prepare(state_dir)
    cert_p, key_p = state_dir / CERT_FILE, state_dir / KEY_FILE
    if not (cert_p.exists() and key_p.exists()):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vrdiplomacy relay")])
        now = dt.datetime.now(dt.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        _write_private(
            key_p,
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        )
        _write_private(cert_p, cert.public_bytes(serialization.Encoding.PEM))
    try:
        cert = x509.load_pem_x509_certificate(cert_p.read_bytes())
    except (OSError, ValueError, x509.InvalidVersion) as e:
        raise ConfigError(f"{cert_p}: cannot read the relay certificate ({e}); delete it to make a new one") from None
    return cert_p, key_p, fingerprint_of(cert.public_bytes(serialization.Encoding.DER))


def ensure_secret(state_dir: Path) -> bytes:
    """Load or create the 32-byte secret that signs resume tokens (so they survive restarts)."""
    _prepare(state_dir)
    p = state_dir / SECRET_FILE
    if not p.exists():
        _write_private(p, secrets.token_bytes(32))
    data = p.read_bytes()
    if len(data) < 16:
        raise ConfigError(f"{p}: resume secret is truncated; delete it to make a new one")
    return data


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"cannot load relay certificate {cert}: {e}") from None
    return ctx


def client_context() -> ssl.SSLContext:
    """TLS 1.3 without CA checks: the certificate is checked by :func:`check_pin` instead."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def check_pin(ssl_object: ssl.SSLObject | ssl.SSLSocket | None, fingerprint: str) -> None:
    """Raise CryptoError unless the peer certificate's SHA-256 equals ``fingerprint``."""
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        raise CryptoError("relay presented no certificate")
    got = fingerprint_of(der)
    if not hmac.compare_digest(got, normalize_fingerprint(fingerprint)):
        raise CryptoError(f"relay certificate fingerprint {got} does not match the pinned {normalize_fingerprint(fingerprint)}")
