"""What the relay keeps of receptions across restarts: the passes used and each reception's host.

One JSON file in the relay's state folder (``reception.json``), rewritten atomically (a temporary
file, fsync, rename) on every change, before the guest who used a pass is welcomed: a one-time
pass presented again after a relay restart is refused as it was before. Without a path the store
lives in memory only (tests, a relay without a state folder).

On a federated node (``relay --nats``) the federation's record is the reception stream in
JetStream (:mod:`vrdiplomacy.reception.relay_fed`): the node writes here what it applies from
the stream, and reads the stream again when it opens the room, so a node restarted without this
file still refuses a used pass.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from vrdiplomacy.errors import ConfigError


@dataclass(frozen=True)
class UsedPass:
    """A one-time pass that entered: the guest's name and when (UNIX seconds)."""

    name: str
    at: float


class ReceptionStore:
    """Used one-time passes (by token id, hex) and receptions (room -> host fingerprint, capacity)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.used: dict[str, UsedPass] = {}
        self.receptions: dict[str, tuple[str, int]] = {}
        self.writes = 0
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            d = json.loads(path.read_text("utf-8"))
            self.used = {str(k): UsedPass(str(v["name"]), float(v["at"])) for k, v in d.get("used", {}).items()}
            self.receptions = {str(k): (str(v["host"]), int(v["capacity"])) for k, v in d.get("receptions", {}).items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError) as e:
            raise ConfigError(f"the relay's reception state {path} is unreadable ({e}): move it aside to start "
                              "afresh (every one-time pass could then be used once more)") from None

    def mark_used(self, token_hex: str, name: str, at: float) -> None:
        self.used[token_hex] = UsedPass(name, at)
        self._save()

    def release(self, token_hex: str) -> None:
        """A one-time pass whose use admitted nobody (a federated claim whose holder went away)."""
        if self.used.pop(token_hex, None) is not None:
            self._save()

    def set_reception(self, room: str, host_fp: str, capacity: int) -> None:
        if self.receptions.get(room) != (host_fp, capacity):
            self.receptions[room] = (host_fp, capacity)
            self._save()

    def _save(self) -> None:
        self.writes += 1
        if self.path is None:
            return
        d = {"used": {k: {"name": u.name, "at": u.at} for k, u in self.used.items()},
             "receptions": {k: {"host": h, "capacity": c} for k, (h, c) in self.receptions.items()}}
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(d, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
