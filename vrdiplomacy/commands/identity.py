"""``vrdiplomacy identity``: ministry roots, delegation keys, certificates and their checks.

    vrdiplomacy identity init ministry --name "Ministry of Foreign Affairs" --country FR --dir ministry/
    vrdiplomacy identity init delegation --name "France" --country FR --dir france/
    vrdiplomacy identity issue france/delegation.csr --ca-dir ministry/ --role head --out france/delegation.crt
    vrdiplomacy identity show france/delegation.crt          # also a .crl or an .invite file
    vrdiplomacy identity verify france/delegation.crt --root ministry/ministry.crt [--crl ministry/ministry.crl]
    vrdiplomacy identity revoke france/delegation.crt --ca-dir ministry/ [--reason key_compromise]
    vrdiplomacy identity invite --room chamber --member france/delegation.crt --role head --seat A1 \
        --dir chair/ --root ministry/ministry.crt -o france.invite
    vrdiplomacy identity room-code --relay 127.0.0.1:7443 --fingerprint FP --room chamber \
        --dir france/ --root ministry/ministry.crt

Passphrases come from ``--passphrase-file`` or the ``VRDIPLOMACY_PASSPHRASE`` environment
variable, never from the command line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.crypto import revocation
from vrdiplomacy.errors import ConfigError, VrdError

DEFAULT_HOME = Path(os.environ.get("VRDIPLOMACY_HOME", Path.home() / ".vrdiplomacy"))


def add_passphrase(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help=f"read the passphrase {what} from FILE (first line); default: ${ident.PASSPHRASE_ENV} if set",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)

    init = sub.add_parser("init", help="create a ministry root or a delegation key and request",
                          description="Create a ministry root (self-signed CA, keep it offline) or a "
                          "delegation key with a certificate signing request for its ministry.")
    init.add_argument("kind", choices=["ministry", "delegation"], help="what to create")
    init.add_argument("--name", required=True, help="ministry or delegation name, e.g. 'France'")
    init.add_argument("--country", required=True, help="two-letter country code, e.g. FR")
    init.add_argument("--dir", type=Path, help=f"where to write (default {DEFAULT_HOME}/<kind>)")
    init.add_argument("--days", type=int, default=3650, help="root validity in days (ministry only, default 3650)")
    init.add_argument("--scope", metavar="CC,CC|any",
                      help="ministry only: the countries this root may issue for (default: --country); 'any' for an "
                           "international root such as a conference secretariat")
    init.add_argument("--force", action="store_true", help="replace existing files")
    add_passphrase(init, "that encrypts the new key")

    issue = sub.add_parser("issue", help="sign a delegation's request with the ministry root",
                           description="Sign a delegation's certificate signing request with the ministry "
                           "root key, giving it a role.")
    issue.add_argument("csr", type=Path, help="the delegation's request (.csr)")
    issue.add_argument("--role", required=True, choices=ident.ROLES, help="the delegation's role")
    issue.add_argument("--ca-dir", type=Path, help=f"ministry folder (default {DEFAULT_HOME}/ministry)")
    issue.add_argument("--days", type=int, default=365, help="validity in days (default 365)")
    issue.add_argument("--out", type=Path, help="certificate to write (default: next to the request, .crt)")
    issue.add_argument("--force", action="store_true", help="replace an existing certificate")
    add_passphrase(issue, "of the ministry key")

    show = sub.add_parser("show", help="print a certificate's, revocation list's, invitation's or reception pass's contents")
    show.add_argument("cert", type=Path, help="certificate (.crt, PEM or DER), revocation list (.crl), invitation (.invite) or reception pass (.pass)")

    verify = sub.add_parser("verify", help="check a certificate against trusted ministry roots (exit 0/1)",
                            description="Check a delegation certificate against one or more trusted "
                            "ministry roots. Prints one line: OK or FAILED and why. Exit code 0 or 1.")
    verify.add_argument("cert", type=Path, help="delegation certificate")
    verify.add_argument("--root", type=Path, action="append", required=True,
                        help="trusted ministry root certificate (repeat for several)")
    verify.add_argument("--crl", type=Path, action="append", default=[],
                        help="revocation list signed by a trusted root (repeat for several)")
    verify.add_argument("--at", help="check at this UTC time (ISO 8601) instead of now")

    revoke = sub.add_parser("revoke", help="revoke delegation certificates: write the ministry's revocation list",
                            description="Add certificates to the ministry's certificate revocation list (CRL), "
                            "signed by the ministry root. Hand the .crl to every client with the root (--crl, or put "
                            "it in the trust folder given to --root).")
    revoke.add_argument("certs", type=Path, nargs="+", help="delegation certificates to revoke")
    revoke.add_argument("--reason", choices=sorted(revocation.REVOCATION_REASONS), help="why (recorded in the list)")
    revoke.add_argument("--ca-dir", type=Path, help=f"ministry folder (default {DEFAULT_HOME}/ministry)")
    revoke.add_argument("-o", "--out", type=Path, help="revocation list to update or create (default <ca-dir>/ministry.crl)")
    revoke.add_argument("--days", type=int, default=30, help="days until the list should be re-issued (default 30)")
    add_passphrase(revoke, "of the ministry key")

    invite = sub.add_parser("invite", help="as a room's chair, invite a delegation certificate to the room",
                            description="Sign an invitation to a secured room with your chair or host key: your "
                            "certificate becomes the room's authority. The member joins with 'vrdiplomacy join ... "
                            "--invite FILE'; the relay admits only holders of such an invitation.")
    invite.add_argument("--room", required=True, help="room name, e.g. chamber")
    invite.add_argument("--member", type=Path, required=True, metavar="MEMBER.crt", help="the member's delegation certificate")
    invite.add_argument("--role", required=True, choices=ident.ROLES,
                        help="the member's role in the room (at most what its certificate allows)")
    invite.add_argument("--seat", default="", help="the only seat it may take (default: any free seat)")
    invite.add_argument("--days", type=float, default=7.0, help="validity in days (default 7)")
    invite.add_argument("--dir", type=Path, metavar="CHAIR_DIR",
                        help=f"your (the chair's) folder with delegation.key/.crt (default {DEFAULT_HOME}/delegation)")
    invite.add_argument("--root", type=Path, action="append", default=[],
                        help="trusted ministry roots (file or trust folder): the member's certificate is checked "
                             "against them before inviting (recommended)")
    invite.add_argument("--crl", type=Path, action="append", default=[], help="revocation list to check the member against")
    invite.add_argument("-o", "--out", type=Path, required=True, metavar="FILE", help="invitation file to write (.invite)")
    invite.add_argument("--force", action="store_true", help="replace an existing file")
    add_passphrase(invite, "of your key")

    from vrdiplomacy.net.room_code_cli import add_room_code_parser

    add_room_code_parser(sub, DEFAULT_HOME, add_passphrase)


def read_passphrase(path: Path | None) -> bytes | None:
    if path is not None:
        try:
            line = path.read_bytes().splitlines()
        except OSError as e:
            raise ConfigError(f"cannot read passphrase file {path}: {e.strerror}") from None
        if not line or not line[0]:
            raise ConfigError(f"passphrase file {path} is empty")
        return line[0]
    env = os.environ.get(ident.PASSPHRASE_ENV)
    return env.encode() if env else None


def _init(args: argparse.Namespace) -> int:
    folder = args.dir or DEFAULT_HOME / args.kind
    passphrase = read_passphrase(args.passphrase_file)
    now = time.time()
    ident.ensure_private_dir(folder)
    if args.kind == "ministry":
        scope = None
        if args.scope:
            scope = [ident.ANY_COUNTRY] if args.scope.strip().lower() == "any" else [c for c in args.scope.split(",") if c.strip()]
            bad = [c for c in scope if c != ident.ANY_COUNTRY and not (len(c.strip()) == 2 and c.strip().isalpha()
                                                                        and c.strip().isascii())]
            if bad or not scope:  # else the error spoke of "country", naming the wrong option
                raise ConfigError(f"--scope takes two-letter country codes (like FR,DE) or 'any', got {args.scope!r}")
        key, cert = ident.create_ministry_root(args.name, args.country, now, args.days, scope)
        key_path, cert_path = folder / "ministry.key", folder / "ministry.crt"
        ident.write_private_key(key_path, key, passphrase, args.force)
        ident.write_file(cert_path, ident.cert_pem(cert), 0o644, args.force)
        print(f"ministry root created: {cert_path} (key {key_path})")
        print(f"  fingerprint {ident.fingerprint(cert)}")
        print(f"  may issue for: {ident.scope_text(cert)}")
        print("  hand the .crt to every client; keep the .key offline")
    else:
        key, csr = ident.create_delegation_request(args.name, args.country)
        key_path, csr_path = folder / "delegation.key", folder / "delegation.csr"
        ident.write_private_key(key_path, key, passphrase, args.force)
        ident.write_file(csr_path, ident.csr_pem(csr), 0o644, args.force)
        print(f"delegation key created: {key_path}")
        print(f"  request {csr_path}: send it to your ministry for 'vrdiplomacy identity issue'")
    if passphrase is None:
        print(f"  warning: the key is not encrypted (use --passphrase-file or ${ident.PASSPHRASE_ENV})",
              file=sys.stderr)
    return 0


def _issue(args: argparse.Namespace) -> int:
    ca_dir = args.ca_dir or DEFAULT_HOME / "ministry"
    root_cert = ident.load_certificate(ca_dir / "ministry.crt")
    root_key = ident.load_ca_key(ca_dir / "ministry.key", read_passphrase(args.passphrase_file))
    csr = ident.load_csr(args.csr)
    cert = ident.issue_delegation(csr, root_key, root_cert, args.role, time.time(), args.days)
    out = args.out or args.csr.with_suffix(".crt")
    ident.write_file(out, ident.cert_pem(cert), 0o644, args.force)
    v = ident.verify_certificate(cert, [root_cert], time.time())
    print(f"issued {out}: {v.summary()}")
    print(f"  fingerprint {v.fingerprint}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from vrdiplomacy.crypto import admission

    try:
        head = args.cert.read_bytes()[:64]
    except OSError as e:
        raise ConfigError(f"cannot read {args.cert}: {e.strerror}") from None
    if args.cert.suffix == ".pass" or b"RECEPTION PASS" in head:  # said "is not an X.509 certificate"
        from vrdiplomacy.app.pass_show import show_pass

        return show_pass(args.cert)
    if args.cert.suffix == ".invite" or head.startswith((admission.PEM_BEGIN, admission.MAGIC)):
        rows = admission.read_invitation(args.cert).describe()
    elif args.cert.suffix == ".crl" or b"X509 CRL" in head:
        rows = revocation.describe_crl(revocation.load_crl(args.cert))
    else:
        rows = ident.describe(ident.load_certificate(args.cert))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    ca_dir = args.ca_dir or DEFAULT_HOME / "ministry"
    root_cert = ident.load_certificate(ca_dir / "ministry.crt")
    root_key = ident.load_ca_key(ca_dir / "ministry.key", read_passphrase(args.passphrase_file))
    out = args.out or ca_dir / "ministry.crl"
    previous = revocation.load_crl(out) if out.exists() else None
    reason = revocation.REVOCATION_REASONS[args.reason] if args.reason else None
    serials = []
    for path in args.certs:
        cert = ident.load_certificate(path)
        if cert.issuer != root_cert.subject:
            raise ConfigError(f"{path} was not issued by this ministry ({root_cert.subject.rfc4514_string()})")
        serials.append((cert.serial_number, reason))
    crl = revocation.revoke(root_key, root_cert, serials, time.time(), previous, args.days)
    ident.write_file(out, revocation.crl_pem(crl), 0o644, overwrite=True)
    print(f"revocation list {out}: {len(crl)} revoked certificates (next update "
          f"{crl.next_update_utc:%Y-%m-%d} UTC); hand it to every client with the root (--crl)")
    return 0


def _invite(args: argparse.Namespace) -> int:
    from vrdiplomacy.crypto import admission

    folder = args.dir or DEFAULT_HOME / "delegation"
    chair_cert = ident.load_certificate(folder / "delegation.crt")
    chair_key = ident.load_private_key(folder / "delegation.key", read_passphrase(args.passphrase_file))
    member = ident.load_certificate(args.member)
    now = time.time()
    if args.root:
        trust = revocation.load_trust(args.root, args.crl)
        ident.verify_certificate(chair_cert, trust, now)
        ident.verify_certificate(member, trust, now)
    inv = admission.Invitation.create(args.room, chair_cert, chair_key, member, args.role, now, args.seat, args.days)
    ident.write_file(args.out, inv.armored(), 0o644, args.force)
    print(f"invitation {args.out}: {inv.member_name} ({inv.member_country}) as {inv.role} in room '{inv.room}'"
          f"{f' at seat {inv.seat}' if inv.seat else ''}, until {ident.utc(inv.not_after):%Y-%m-%d %H:%M} UTC")
    print(f"  room authority {inv.authority_fingerprint}")
    if not args.root:
        print("  warning: the member's certificate was not checked against any root (add --root)", file=sys.stderr)
    return 0


def _verify(args: argparse.Namespace) -> int:
    try:
        when = time.time()
        if args.at:
            try:
                t = dt.datetime.fromisoformat(args.at)
            except ValueError:
                raise ConfigError(f"--at: not an ISO 8601 time: {args.at!r}") from None
            when = (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).timestamp()
        v = ident.verify_certificate(ident.load_certificate(args.cert), revocation.load_trust(args.root, args.crl), when)
    except VrdError as e:
        # an error about one of the files names it; any other is about the certificate
        named = any(str(p) in str(e) for p in (args.cert, *args.root, *(args.crl or ())))
        print(f"FAILED: {e}" if named else f"FAILED: {args.cert}: {e}")
        return 1
    print(f"OK: {v.summary()}")
    return 0


def _room_code(args: argparse.Namespace) -> int:
    from vrdiplomacy.net.room_code_cli import run_room_code

    return run_room_code(args, DEFAULT_HOME, read_passphrase(args.passphrase_file))


def run(args: argparse.Namespace) -> int:
    return {"init": _init, "issue": _issue, "show": _show, "verify": _verify, "revoke": _revoke, "invite": _invite,
            "room-code": _room_code}[args.action](args)
