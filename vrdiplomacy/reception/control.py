"""``vrdiplomacy reception …`` through a running client's control socket (the one ``vrdiplomacy
meeting`` uses, :mod:`vrdiplomacy.app.meeting_control`).

A command is one JSON line ``{"action": "reception", "op", "subject", "value", "data"}``; the
answer the usual ``{"ok", "line"}``. Host actions (greet, capacity, announce) act as the running
client's member, so the relay checks that it entered with a host pass; they are refused at once,
with one line, by a client that is not a host.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vrdiplomacy.errors import AssetError, ConfigError, ProtocolError

ACTION = "reception"
OPS = ("status", "line", "greet", "capacity", "announce")


@dataclass
class ReceptionCommand:
    """``op`` (:data:`OPS`); ``subject`` a guest's name (greet; None: the next in line);
    ``value`` the capacity, or for announce 1/0 to take/give back the floor; ``data`` a WAV path."""

    op: str
    subject: str | None = None
    value: int = 0
    data: str = ""

    def encode(self) -> bytes:
        return json.dumps({"action": ACTION, **asdict(self)}).encode("utf-8") + b"\n"

    @classmethod
    def decode(cls, d: dict[str, Any]) -> ReceptionCommand:
        try:
            cmd = cls(str(d["op"]), None if d.get("subject") is None else str(d["subject"]), int(d.get("value", 0)),
                      str(d.get("data", "")))
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
            raise ProtocolError(f"malformed reception command: {e}") from None
        if cmd.op not in OPS:
            raise ProtocolError(f"unknown reception command {cmd.op!r} ({', '.join(OPS)})")
        return cmd


def is_reception(raw: bytes) -> dict[str, Any] | None:
    """The decoded command when ``raw`` is a reception command, else None (a meeting command)."""
    try:
        d = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return d if isinstance(d, dict) and d.get("action") == ACTION else None


async def _until(cond: Any, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            return False
        await asyncio.sleep(0.01)
    return True


async def execute(session: Any, d: dict[str, Any], timeout: float = 5.0) -> tuple[bool, str]:
    """Run one reception command on ``session`` (a DelegateSession); (done, one or more lines)."""
    cmd = ReceptionCommand.decode(d)
    rec = session.reception
    if cmd.op == "status":
        if rec.s.host:
            return True, "\n".join(["you host this reception", *rec.line_text()])
        if rec.status is None:
            return False, "not at a reception (no word from a reception's relay yet)"
        return True, rec.status.text()
    if not rec.s.host:
        return False, f"refused: {cmd.op} is for the reception's hosts; you entered with a guest's pass"
    if cmd.op == "line":
        return True, "\n".join(rec.line_text())
    if cmd.op == "capacity":
        if not 0 <= cmd.value <= 65535:
            return False, "refused: the capacity is 0 (no limit) to 65535 guests"
        if not rec.set_capacity(cmd.value):
            return False, "not connected to the relay: try again in a moment"
        ok = await _until(lambda: rec.line is not None and rec.line.capacity == cmd.value, timeout)
        return ok, ("ok: " + "; ".join(rec.line_text())) if ok else f"no answer from the relay within {timeout:g} s"
    if cmd.op == "greet":
        cid = 0
        if cmd.subject is not None:
            who = cmd.subject.lower()
            line = rec.line.line if rec.line is not None else []
            match = [c for c, name in line if name.lower() == who] or [c for c, name in line if who in name.lower()]
            if not match:
                return False, f"refused: nobody called '{cmd.subject}' is in the greeting line"
            cid = match[0]
        n, notes = len(rec.greeted), len(rec.notices)
        if not rec.greet(cid):
            return False, "not connected to the relay: try again in a moment"
        if not await _until(lambda: len(rec.greeted) > n or len(rec.notices) > notes, timeout):
            return False, f"no answer from the relay within {timeout:g} s"
        if len(rec.greeted) == n:
            return False, rec.notices[-1]
        g = rec.greeted[-1]
        left = len(rec.line.line) if rec.line is not None else 0
        return True, f"greeted {g.guest} (announced to the room); {left} still in the greeting line"
    # announce
    if cmd.data:
        path = Path(cmd.data)
        try:
            seconds = rec.announce_wav(session, path, session.now)
        except AssetError as e:
            return False, f"refused: {e}"
        guests = rec.line.in_hall if rec.line is not None else 0
        return True, (f"announcing {path.name} ({seconds:.1f} s) to the {guests} guests in the hall: you hold the "
                      "floor until it has played")
    rec.announce_live(bool(cmd.value))
    return True, ("you hold the floor: every guest in the hall hears you (vrdiplomacy reception announce --stop)"
                  if cmd.value else "you gave the floor back")


def command_from_args(op: str, subject: str | None = None, value: int = 0, wav: Path | None = None) -> ReceptionCommand:
    if op not in OPS:
        raise ConfigError(f"unknown reception command '{op}'")
    data = ""
    if wav is not None:
        p = wav.expanduser().resolve()
        if not p.is_file():
            raise ConfigError(f"--wav: no file {wav}")
        data = str(p)
    return ReceptionCommand(op, subject, value, data)
