"""Checking a record (sans-I/O: header and stored rows in, a :class:`Verified` summary or a
:class:`~vrdiplomacy.record.entry.RecordError` naming the first bad entry out).

For every entry, in storage order (the n-th stored entry is "entry n"):

1. it parses (``entry n: malformed (...)``);
2. its sequence number is n, in the row and in the signed bytes (``entry n: sequence number
   m, expected n``): a removed, inserted or reordered entry fails here;
3. it names the hash of the entry before it, the header's for entry 1 (``entry n: hash chain
   broken``);
4. its Ed25519 signature verifies under the key of the header's certificate (``entry n:
   signature does not verify``);
5. its time is not before the previous entry's (the header's for entry 1) (``entry n: time goes
   backwards``).

With trusted roots, the header's certificate must also be a delegation certificate issued by one
of them (and not revoked, given their lists) at the time the record was created, and every
entry must fall within the certificate's validity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.errors import CryptoError, ProtocolError
from vrdiplomacy.record.entry import Entry, RecordError, RecordHeader


@dataclass(frozen=True)
class Verified:
    """A record that verified: its ``header``, ``entries``, the signer's certificate ``name`` and
    ``fingerprint``, whether it chains to a trusted root (``trusted``, with ``ministry``) and the
    hash of the last entry (``head``: compare it with what the keeper published to detect a
    record cut short)."""

    header: RecordHeader
    entries: tuple[Entry, ...]
    name: str
    fingerprint: str
    trusted: bool
    ministry: str
    head: bytes

    def summary(self) -> str:
        n = len(self.entries)
        who = f"signed by {self.name} ({self.fingerprint})"
        if self.trusted:
            who += f", certificate issued by {self.ministry}"
        return f"{n} entr{'y' if n == 1 else 'ies'}, chain and signatures OK, {who}"


def signer(header: RecordHeader) -> tuple[x509.Certificate, ed25519.Ed25519PublicKey]:
    """The header's certificate and its Ed25519 key."""
    try:
        cert = x509.load_der_x509_certificate(header.certificate)
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm, x509.InvalidVersion) as e:
        raise RecordError(f"header: the signer's certificate is malformed ({e})") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise RecordError("header: the signer's certificate has no Ed25519 key")
    return cert, key


def cert_name(cert: x509.Certificate) -> str:
    try:
        v = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except (ValueError, TypeError):  # parsed lazily; a bit string under a text attribute is a TypeError
        return "(unnamed)"
    name = v[0].value if v else "(unnamed)"
    return name if isinstance(name, str) else name.decode("utf-8", "replace")


MAX_TIME_US = 253_402_300_799_000_000  # 9999-12-31 23:59:59 UTC: the last instant a datetime holds


def _utc_us(us: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(us / 1e6, dt.timezone.utc)


def verify_rows(header: RecordHeader, rows: Iterable[tuple[int, bytes]],
                roots: Sequence[x509.Certificate] | None = None) -> Verified:
    """Check a record (see the module docstring); raises RecordError at the first bad entry."""
    cert, key = signer(header)
    if header.created_us > MAX_TIME_US:
        raise RecordError(f"header: creation time {header.created_us} us is past the year 9999")
    trusted, ministry = False, ""
    name = cert_name(cert)
    if roots is not None:
        try:
            who = ident.verify_certificate(cert, roots, header.created_us / 1e6)
        except CryptoError as e:
            raise RecordError(f"header: the signer's certificate is not trusted: {e}") from None
        trusted, ministry, name = True, who.ministry, who.name
    expected, last_us = header.hash(), header.created_us
    entries: list[Entry] = []
    for n, (row_seq, data) in enumerate(rows, 1):
        try:
            e = Entry.parse(data)
        except ProtocolError as err:
            raise RecordError(f"entry {n}: malformed ({err})") from None
        if e.seq != n or row_seq != n:
            got = e.seq if e.seq != n else row_seq
            raise RecordError(f"entry {n}: sequence number {got}, expected {n} (an entry was removed, inserted or moved)")
        if e.prev_hash != expected:
            raise RecordError(f"entry {n}: hash chain broken")
        try:
            e.verify(key)
        except CryptoError:
            raise RecordError(f"entry {n}: signature does not verify") from None
        if e.time_us < last_us:
            raise RecordError(f"entry {n}: time goes backwards")
        if e.time_us > MAX_TIME_US:  # minutes and checks read it as a date
            raise RecordError(f"entry {n}: time {e.time_us} us is past the year 9999")
        if trusted:
            when = _utc_us(e.time_us)
            if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
                raise RecordError(f"entry {n}: made at {when:%Y-%m-%d %H:%M:%S} UTC, outside the signer's "
                                  "certificate validity")
        expected, last_us = e.hash(), e.time_us
        entries.append(e)
    return Verified(header, tuple(entries), name, ident.fingerprint(cert), trusted, ministry, expected)
