"""``vrdiplomacy identity``: ministry roots, delegation keys, certificates and their checks.

    vrdiplomacy identity init ministry --name "Ministry of Foreign Affairs" --country FR --dir ministry/
    vrdiplomacy identity init delegation --name "France" --country FR --dir france/
    vrdiplomacy identity issue france/delegation.csr --ca-dir ministry/ --role head --out france/delegation.crt
    vrdiplomacy identity show france/delegation.crt
    vrdiplomacy identity verify france/delegation.crt --root ministry/ministry.crt
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
from vrdiplomacy.errors import ConfigError, VrdError

DEFAULT_HOME = Path(os.environ.get("VRDIPLOMACY_HOME", Path.home() / ".vrdiplomacy"))


def _add_passphrase(p: argparse.ArgumentParser, what: str) -> None:
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
    init.add_argument("--force", action="store_true", help="replace existing files")
    _add_passphrase(init, "that encrypts the new key")

    issue = sub.add_parser("issue", help="sign a delegation's request with the ministry root",
                           description="Sign a delegation's certificate signing request with the ministry "
                           "root key, giving it a role.")
    issue.add_argument("csr", type=Path, help="the delegation's request (.csr)")
    issue.add_argument("--role", required=True, choices=ident.ROLES, help="the delegation's role")
    issue.add_argument("--ca-dir", type=Path, help=f"ministry folder (default {DEFAULT_HOME}/ministry)")
    issue.add_argument("--days", type=int, default=365, help="validity in days (default 365)")
    issue.add_argument("--out", type=Path, help="certificate to write (default: next to the request, .crt)")
    issue.add_argument("--force", action="store_true", help="replace an existing certificate")
    _add_passphrase(issue, "of the ministry key")

    show = sub.add_parser("show", help="print a certificate's subject, role, validity and fingerprint")
    show.add_argument("cert", type=Path, help="certificate (.crt, PEM or DER)")

    verify = sub.add_parser("verify", help="check a certificate against trusted ministry roots (exit 0/1)",
                            description="Check a delegation certificate against one or more trusted "
                            "ministry roots. Prints one line: OK or FAILED and why. Exit code 0 or 1.")
    verify.add_argument("cert", type=Path, help="delegation certificate")
    verify.add_argument("--root", type=Path, action="append", required=True,
                        help="trusted ministry root certificate (repeat for several)")
    verify.add_argument("--at", help="check at this UTC time (ISO 8601) instead of now")

    from vrdiplomacy.net.room_code_cli import add_room_code_parser

    add_room_code_parser(sub, DEFAULT_HOME, _add_passphrase)


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
        key, cert = ident.create_ministry_root(args.name, args.country, now, args.days)
        key_path, cert_path = folder / "ministry.key", folder / "ministry.crt"
        ident.write_private_key(key_path, key, passphrase, args.force)
        ident.write_file(cert_path, ident.cert_pem(cert), 0o644, args.force)
        print(f"ministry root created: {cert_path} (key {key_path})")
        print(f"  fingerprint {ident.fingerprint(cert)}")
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
    root_key = ident.load_private_key(ca_dir / "ministry.key", read_passphrase(args.passphrase_file))
    csr = ident.load_csr(args.csr)
    cert = ident.issue_delegation(csr, root_key, root_cert, args.role, time.time(), args.days)
    out = args.out or args.csr.with_suffix(".crt")
    ident.write_file(out, ident.cert_pem(cert), 0o644, args.force)
    v = ident.verify_certificate(cert, [root_cert], time.time())
    print(f"issued {out}: {v.summary()}")
    print(f"  fingerprint {v.fingerprint}")
    return 0


def _show(args: argparse.Namespace) -> int:
    cert = ident.load_certificate(args.cert)
    width = max(len(k) for k, _ in ident.describe(cert))
    for k, v in ident.describe(cert):
        print(f"{k:<{width}}  {v}")
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
        roots = [c for r in args.root for c in ident.load_certificates(r)]
        v = ident.verify_certificate(ident.load_certificate(args.cert), roots, when)
    except VrdError as e:
        print(f"FAILED: {args.cert}: {e}")
        return 1
    print(f"OK: {v.summary()}")
    return 0


def _room_code(args: argparse.Namespace) -> int:
    from vrdiplomacy.net.room_code_cli import run_room_code

    return run_room_code(args, DEFAULT_HOME, read_passphrase(args.passphrase_file))


def run(args: argparse.Namespace) -> int:
    return {"init": _init, "issue": _issue, "show": _show, "verify": _verify, "room-code": _room_code}[args.action](args)
