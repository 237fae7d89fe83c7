"""The client's resume token on disk, so a restarted process gets its seat and client id back.

One small JSON file per (relay, room, identity), in the user's state folder
(:func:`resume_path`; see :mod:`vrdiplomacy.config` for where that is), mode 0600: the token lets
whoever holds it take over the session. It is written atomically when the relay hands out a new
token, removed when the client leaves the room for good, and ignored when it was made for another
relay, room or identity. While a client uses it, it holds an exclusive lock on it (POSIX
``flock``; released by the kernel when the process dies), so two processes of the same identity
never resume one session in turn: the second one asks for a fresh session instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no lock (one client per identity is then the user's care)
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("vrdiplomacy.net")


def resume_path(state_dir: Path, relay_fingerprint: str, room: str, identity: str) -> Path:
    """Where the token for ``identity`` in ``room`` on the relay with that certificate lives."""
    h = hashlib.sha256(f"{relay_fingerprint.lower()}\x00{room}\x00{identity}".encode()).hexdigest()[:24]
    return state_dir / "sessions" / f"{h}.json"


class ResumeFile:
    """The token file at ``path`` for (``relay``, ``room``, ``identity``)."""

    def __init__(self, path: Path, relay: str, room: str, identity: str) -> None:
        self.path = path
        self.key = {"relay": relay.lower(), "room": room, "identity": identity}
        self._lock_fd = -1
        self.saved = b""

    def acquire(self) -> bool:
        """Take the lock (False: another running process of ours holds it)."""
        if fcntl is None:
            return True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            log.warning("cannot use the resume token file %s: %s", self.path, e.strerror)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def load(self) -> bytes:
        """The stored token for our relay, room and identity, or b"" (none, another's, unreadable)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or any(data.get(k) != v for k, v in self.key.items()):
                return b""
            self.saved = bytes.fromhex(str(data.get("token", "")))
        except FileNotFoundError:
            return b""
        except (OSError, ValueError, RecursionError) as e:
            log.warning("ignoring the resume token file %s: %s", self.path, e)
            return b""
        return self.saved

    def save(self, token: bytes, client_id: int, seat: str) -> None:
        """Store ``token`` (atomically, mode 0600) unless it is the one stored already."""
        if token == self.saved:
            return
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({**self.key, "seat": seat, "client_id": client_id, "token": token.hex()}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            self.saved = token
        except OSError as e:
            log.warning("cannot store the resume token in %s: %s (a restart will not get the seat back)", self.path,
                        e.strerror)

    def remove(self) -> None:
        """We left for good: the next start asks for a fresh session."""
        with contextlib.suppress(FileNotFoundError, OSError):
            self.path.unlink()
        self.saved = b""

    def release(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
