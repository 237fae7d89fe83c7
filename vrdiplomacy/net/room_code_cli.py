"""``vrdiplomacy identity room-code``: join a secured room and print its verification code.

The command connects to the relay with a delegation's certificate and key, waits until the chair's
roster verified and every member's keys arrived, and prints the room code that every member's
client shows (VR and desktop HUD). With ``--follow`` it keeps printing every roster change, key
change, new code and security alert until interrupted. A chair's certificate (role chair or host)
makes this client the room's chair: it admits members and signs the roster.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from pathlib import Path

from typing import TYPE_CHECKING

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.crypto import revocation
from vrdiplomacy.crypto.session import LocalIdentity
from vrdiplomacy.errors import ConfigError, CryptoError

if TYPE_CHECKING:
    from vrdiplomacy.crypto.admission import Admission
    from vrdiplomacy.net.secure import SecureSettings


def add_room_code_parser(sub: argparse._SubParsersAction, default_home: Path,  # type: ignore[type-arg]
                         add_passphrase: object) -> None:
    p = sub.add_parser("room-code", help="join a secured room and print its verification code",
                       description="Join a room through the relay with a delegation certificate, wait for the "
                       "chair-signed roster and every member's keys, and print the room code to compare "
                       "with the other delegations. With a chair certificate this client chairs the room.")
    p.add_argument("--relay", required=True, metavar="HOST:PORT", help="relay address")
    p.add_argument("--fingerprint", required=True, help="the relay certificate's SHA-256 fingerprint (64 hex digits, colons allowed, any case)")
    p.add_argument("--room", default="chamber", help="room name (default chamber)")
    p.add_argument("--seat", default="observer-1", help="seat to take (default observer-1)")
    add_identity_arguments(p, default_home, add_passphrase, root_required=True)
    p.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the code (default 30)")
    p.add_argument("--follow", action="store_true", help="keep printing roster, key and code changes")


def add_identity_arguments(p: argparse._ActionsContainer, default_home: Path, add_passphrase: object,
                           root_required: bool) -> None:
    """--dir, --cert, --key, --root and --passphrase-file: who we are in a secured room, whom we trust."""
    p.add_argument("--dir", type=Path, help=f"delegation folder with delegation.key/.crt (default {default_home}/delegation)")
    p.add_argument("--cert", type=Path, help="delegation certificate (default <dir>/delegation.crt)")
    p.add_argument("--key", type=Path, help="delegation key (default <dir>/delegation.key)")
    p.add_argument("--root", type=Path, action="append", required=root_required,
                   help="trusted ministry root certificate, or a trust folder of .crt roots and .crl revocation "
                        "lists (repeat for several)")
    p.add_argument("--crl", type=Path, action="append", default=[],
                   help="revocation list signed by a trusted ministry root (repeat for several)")
    p.add_argument("--invite", type=Path, metavar="FILE",
                   help="your invitation to the room from its chair ('vrdiplomacy identity invite'): the relay "
                        "admits only invited members to a secured room, and only the chair it names (the room "
                        "authority) may sign rosters. A chair or host certificate without --invite opens the "
                        "room as its authority")
    p.add_argument("--authority", metavar="SHA256",
                   help="pin the room authority's certificate fingerprint by hand (it must match --invite's); "
                        "only it may sign rosters")
    add_passphrase(p, "of the delegation key")  # type: ignore[operator]


def load_delegate(args: argparse.Namespace, default_home: Path, passphrase: bytes | None) -> tuple[LocalIdentity, list, str]:  # type: ignore[type-arg]
    """Our certificate and key (checked to belong together and to chain to a ``--root``), the
    trusted roots, and the certificate's verified name."""
    folder = args.dir or default_home / "delegation"
    cert = ident.load_certificate(args.cert or folder / "delegation.crt")
    key = ident.load_private_key(args.key or folder / "delegation.key", passphrase)
    roots = revocation.load_trust(args.root, getattr(args, "crl", []))
    verified = ident.verify_certificate(cert, roots, time.time())
    if key.public_key().public_bytes_raw() != verified.public_key.public_bytes_raw():
        raise ConfigError("the key does not belong to the certificate")
    return LocalIdentity(cert, key), roots, verified.name


def load_admission(args: argparse.Namespace, me: LocalIdentity, roots: list, room: str,  # type: ignore[type-arg]
                   seat: str | None = None) -> Admission | None:
    """What we present to the relay for a secured room: ``--invite FILE`` (checked: ours, for
    ``room`` and ``seat``, in date, signed by a trusted chair or host), or for a chair or host
    certificate without one, a self-signed invitation (it opens the room as its authority). None
    for a member without ``--invite`` (the relay then treats the room as plain)."""
    from vrdiplomacy.crypto import admission

    now = time.time()
    path = getattr(args, "invite", None)
    if path is None:
        verified = ident.verify_certificate(me.certificate, roots, now)
        if verified.role in ident.ROSTER_SIGNER_ROLES:
            return admission.self_admission(me.certificate, me.signing_key, room, now)
        return None
    adm = admission.check_for_member(admission.read_invitation(path), me.certificate, me.signing_key, roots, now, room)
    if seat is not None and adm.seat and adm.seat != seat:
        raise CryptoError(f"this invitation is for seat '{adm.seat}', not '{seat}'")
    return adm


def admission_settings(adm: Admission | None) -> SecureSettings | None:
    """The end-to-end layer's settings for ``adm``: the role we claim in the roster is the one the
    room authority gave in our invitation, never one we chose."""
    from vrdiplomacy.net.secure import SecureSettings

    return SecureSettings(role=adm.role) if adm is not None else None


def room_authority(args: argparse.Namespace, adm: Admission | None) -> object:
    """The room authority to pin: the one our invitation names (or, for a chair without one, our
    own certificate), or ``--authority``; both given must agree."""
    pinned = getattr(args, "authority", None)
    if adm is None:
        return pinned
    if pinned is not None:
        from vrdiplomacy.crypto.roster import parse_fingerprint

        if parse_fingerprint(pinned) != parse_fingerprint(adm.invitation.authority_fingerprint):
            raise ConfigError("--authority does not match the room authority named in the invitation")
    return adm.invitation


def _address(text: str) -> tuple[str, int]:
    from vrdiplomacy.app.addresses import parse_host_port

    return parse_host_port(text)


async def _watch(args: argparse.Namespace, me: LocalIdentity, roots: list, name: str) -> int:  # type: ignore[type-arg]
    from vrdiplomacy.net.client_core import RelayNotice
    from vrdiplomacy.net.client_io import connect
    from vrdiplomacy.net.secure import KeysChanged, RoomCodeChanged, RosterChanged, SecureRoom, SecurityAlert

    host, port = _address(args.relay)
    # this command prints each roster, key and code change itself (stdout); the secure room's own
    # log lines say the same on stderr, which printed every event twice
    logging.getLogger("vrdiplomacy.e2ee").setLevel(logging.WARNING)
    adm = load_admission(args, me, roots, args.room, args.seat)
    room = SecureRoom(args.room, me, roots, admission_settings(adm), authority=room_authority(args, adm))
    print(f"joining room {args.room!r} on {host}:{port} as {name}" + (" (chair, room authority)" if room.is_chair else "")
          + (f", invited as {adm.role} by {adm.invitation.authority_name()}" if adm is not None else ""), flush=True)
    from vrdiplomacy.app.addresses import parse_fingerprint

    async with connect(host, port, parse_fingerprint(args.fingerprint), name, args.seat, room=args.room, sealer=room,
                       admission=adm) as c:
        deadline = time.monotonic() + args.wait
        shown = None
        said: str | None = None
        while True:
            left = deadline - time.monotonic()
            if not args.follow and left <= 0:
                raise CryptoError(f"no room code within {args.wait:g} s (is the chair connected?)")
            ev = await c.next_event(timeout=max(0.05, left) if not args.follow else 1.0)
            if isinstance(ev, (RosterChanged, KeysChanged, SecurityAlert, RelayNotice)) and args.follow:
                print(ev.alert_text(), flush=True)
            if isinstance(ev, RoomCodeChanged) and ev.code != shown:
                shown = ev.code
                print(f"room code: {ev.code}   (roster v{ev.roster_version}, {len(room.members())} members)", flush=True)
                if room.authority != said:
                    said = room.authority
                    print(f"room authority: {said}", flush=True)
                if not args.follow:
                    return 0


def run_room_code(args: argparse.Namespace, default_home: Path, passphrase: bytes | None) -> int:
    me, roots, name = load_delegate(args, default_home, passphrase)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_watch(args, me, roots, name))
    return 0
