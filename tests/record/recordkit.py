"""Shared pieces of the record tests: a ministry PKI, identity files, the real CLI, records."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.crypto.identity import (
    ANY_COUNTRY,
    create_delegation_request,
    create_ministry_root,
    issue_delegation,
)
from vrdiplomacy.crypto.session import LocalIdentity
from vrdiplomacy.record.entry import NOBODY, Chain, Note, Party, RecordHeader
from vrdiplomacy.record.store import RecordStore

ROOT = Path(__file__).resolve().parents[2]


class Pki:
    """One ministry root issuing delegation certificates valid now."""

    def __init__(self, name: str = "Conference Secretariat") -> None:
        self.root_key, self.root = create_ministry_root(name, "CH", time.time() - 120, scope=[ANY_COUNTRY])

    def identity(self, name: str, role: str, country: str = "CH") -> LocalIdentity:
        key, csr = create_delegation_request(name, country)
        return LocalIdentity(issue_delegation(csr, self.root_key, self.root, role, time.time() - 60), key)

    def write_root(self, path: Path) -> Path:
        ident.write_file(path, ident.cert_pem(self.root), 0o644, overwrite=True)
        return path


def write_identity(me: LocalIdentity, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    ident.write_private_key(folder / "delegation.key", me.signing_key, None, overwrite=True)
    ident.write_file(folder / "delegation.crt", ident.cert_pem(me.certificate), 0o644, overwrite=True)
    return folder


def env(state: Path | None = None) -> dict[str, str]:
    """The environment of a child process; ``state``: its own state folder (resume tokens)."""
    e = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "VRDIPLOMACY_PASSPHRASE")}
    e.update(PYTHONPATH=str(ROOT), PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless")
    if state is not None:
        e["XDG_STATE_HOME"] = str(state)
    return e


@dataclass
class Result:
    rc: int
    out: str
    err: str


def cli(*args: str | Path, timeout: float = 60.0) -> Result:
    """Run ``vrdiplomacy ARGS`` as a user would (a new Python process)."""
    p = subprocess.run([sys.executable, "-m", "vrdiplomacy", *map(str, args)], cwd=str(ROOT), env=env(),
                       capture_output=True, text=True, timeout=timeout)
    return Result(p.returncode, p.stdout, p.stderr)


EVENTS = [
    ("joined", Party("France", "FR"), NOBODY, "France (FR) joined the room"),
    ("joined", Party("Japan", "JP"), NOBODY, "Japan (JP) joined the room"),
    ("floor_requested", Party("Japan", "JP"), NOBODY, "Japan (JP) asks for the floor"),
    ("floor_granted", Party("Chair", "CH"), Party("Japan", "JP"), "Chair gave the floor to Japan"),
    ("gesture", Party("France", "FR"), NOBODY, "France (FR) nods"),
    ("left", Party("France", "FR"), NOBODY, "France (FR) left the room"),
]


def make_record(path: Path, me: LocalIdentity, n: int = 6, room: str = "chamber") -> list[bytes]:
    """A record of ``n`` entries signed by ``me``, closed (its log folded into the file); returns
    each entry's bytes."""
    t0 = time.time_ns() // 1000
    header = RecordHeader(os.urandom(16), room, "127.0.0.1:7443", t0, ident.cert_der(me.certificate))
    chain = Chain(header, me.signing_key)
    out = []
    with RecordStore.create(path, header) as store:
        for i in range(n):
            kind, actor, subject, text = EVENTS[i % len(EVENTS)]
            e = chain.next(Note(t0 + 1000 * (i + 1), kind, actor, subject, text, (("actor.verified", "1"), ("i", str(i)))))
            store.append(e)
            out.append(bytes(e))
    return out
