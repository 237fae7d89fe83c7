"""``vrdiplomacy meeting …``: procedure actions through a running client's control socket.

A running ``vrdiplomacy join`` (and the demo's session) listens on a local socket (a Unix socket
in the user's state folder, ``meeting.sock``; ``join --control PATH`` to choose). ``vrdiplomacy
meeting ACTION …`` connects, sends one command, and prints the one-line answer the running client
gives once the relay has stored and sent back the action, or refused it:

* the action is sent as *that client's* member, so in a secured room it is signed with its key
  and checked against its roster role by the relay and every other client (no second connection
  with the chair's key, which would replace the running one);
* an action the local role may not take is refused at once with one line ("refused: grant needs
  the 'chair' permission; your role here is delegate"), as the relay would;
* an action that changes nothing (a grant with nobody waiting) says so.

The socket speaks one JSON object per line each way: ``{"action", "subject", "value", "data"}``
in, ``{"ok", "line"}`` out. Only the user who runs the client can open it (the state folder is
theirs; the socket is made user-only).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vrdiplomacy.app.vote_control import VOTE_ACTIONS, execute_vote
from vrdiplomacy.errors import ConfigError, ProtocolError, VrdError
from vrdiplomacy.meeting import wire as mw
from vrdiplomacy.meeting.roles import may
from vrdiplomacy.reception.control import execute as reception_execute
from vrdiplomacy.reception.control import is_reception
from vrdiplomacy.session.drafting import TEXT_ACTIONS
from vrdiplomacy.session.drafting import control as text_control
from vrdiplomacy.session.meeting_view import PHASES

log = logging.getLogger("vrdiplomacy.meeting")
SOCKET_NAME = "meeting.sock"
MAX_LINE = 16384
_WHY = {
    "nobody_waiting": "nobody is on the speakers' list",
    "not_speaking": "that member does not hold the floor",
    "not_waiting": "that member is not on the speakers' list",
    "already": "it already is so",
    "speaking": "you hold the floor already",
    "no_subject": "name a member",
    "no_such_item": "there is no such agenda item",
    "no_such_phase": "there is no such phase",
    "subject_not_permitted": "that member's role cannot be given the floor",
    "not_permitted": "your role may not do that",
    "role_fixed": "your role is claimed already",
    "roles_from_roster": "roles here are the signed roster's",
}


def control_path(path: Path | None = None) -> Path:
    """The control socket: ``path``, else ``meeting.sock`` in the user's state folder."""
    if path is not None:
        return path
    from vrdiplomacy.config import user_dirs

    return user_dirs().state / SOCKET_NAME


@dataclass
class MeetingCommand:
    """One command: ``action`` (a :data:`vrdiplomacy.meeting.wire.ACTIONS` name, or ``status``),
    ``subject`` (a member by delegation, name or seat; None: nobody / the next in line),
    ``value`` (ms, item, phase number), ``data`` (agenda text)."""

    action: str
    subject: str | None = None
    value: int = 0
    data: str = ""

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode("utf-8") + b"\n"

    @classmethod
    def decode(cls, raw: bytes) -> MeetingCommand:
        try:
            d = json.loads(raw)
            cmd = cls(str(d["action"]), None if d.get("subject") is None else str(d["subject"]), int(d.get("value", 0)),
                      str(d.get("data", "")))
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError) as e:
            raise ProtocolError(f"malformed meeting command: {e}") from None
        known = cmd.action == "status" or cmd.action in mw.ACTION_NUMBERS or cmd.action in TEXT_ACTIONS
        if not known and cmd.action not in VOTE_ACTIONS:
            raise ProtocolError(f"unknown meeting action {cmd.action!r}")
        return cmd


def resolve_member(session: Any, who: str | None) -> int | None:
    """A member key from a delegation, identity, certificate name or seat id ("me": ourselves)."""
    if who is None:
        return None
    st = session.state
    if who.lower() in ("me", "self", session.s.identity.lower()):
        return int(st.me)
    w = who.lower()
    for key, m in sorted(st.members.items()):
        if w in (m.delegation.lower(), m.identity.lower(), m.seat.lower()):
            return int(key)
    raise ConfigError(f"no member '{who}' in the room (name a delegation, a name or a seat)")


def status_lines(session: Any) -> list[str]:
    """The meeting as text: phase and agenda item, speaker and time left, the list."""
    v = session.meeting_view(session.now)
    out = [f"phase: {v.phase.replace('_', ' ')}" + (f"; agenda item {v.agenda_index + 1}: {v.agenda_item}"
                                                   if v.agenda_item else "")]
    if v.speaker is None:
        out.append("the floor is open")
    else:
        left = f", {max(v.remaining_s, 0.0):.0f} s left of {v.speaking_time_s:g} s" if v.speaking_time_s else ""
        out.append(f"speaking: {v.speaker.delegation or v.speaker.name}{left}")
    waiting = ", ".join(f"{i}. {q.delegation or q.name}" + ("" if q.kind == "speaker" else f" ({q.kind.replace('_', ' ')})")
                        for i, q in enumerate(v.queue, 1))
    out.append(f"speakers' list: {waiting or 'empty'}")
    muted = [p.delegation or p.name for p in v.participants if p.muted]
    if muted:
        out.append("muted: " + ", ".join(muted))
    me = v.me
    if me is not None:
        out.append(f"you: {me.role}" + (f", place {v.my_place} on the list" if v.my_place else ""))
    return out


def _at_reception(session: Any) -> bool:
    """Whether ``session`` entered its room with a reception pass (a host's or a guest's)."""
    from vrdiplomacy.reception.passes import PassAdmission

    return isinstance(session.s.client.admission, PassAdmission)


async def execute(session: Any, cmd: MeetingCommand, timeout: float = 5.0) -> tuple[bool, str]:
    """Send ``cmd`` as ``session``'s member and wait for the relay to store and send it back (or
    refuse it); (accepted and applied, one line)."""
    if cmd.action == "status":
        return True, "\n".join(status_lines(session))
    if cmd.action in TEXT_ACTIONS:  # the joint text (vrdiplomacy text ... --session)
        return await text_control(session, cmd.action, cmd.subject, cmd.data, timeout)
    if cmd.action in VOTE_ACTIONS:  # votes (app/vote_control.py)
        return await execute_vote(session, cmd.action, cmd.subject, cmd.data, timeout)
    mt = session.meeting
    num = mw.ACTION_NUMBERS[cmd.action]
    perm = mw.PERMISSION_OF.get(num)
    role = mt.role(session.state.me)
    if perm is not None and not may(role, perm):
        return False, f"refused: {cmd.action.replace('_', ' ')} needs the '{perm}' permission; your role here is {role}"
    try:
        subject = resolve_member(session, cmd.subject)
    except ConfigError as e:
        return False, f"refused: {e}"
    own, refused = mt.counters["own"], mt.counters["refused"]
    ignored = dict(mt.procedure.ignored)
    session.meeting_act(num, subject, cmd.value, cmd.data)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while mt.counters["own"] == own and mt.counters["refused"] == refused:
        if loop.time() > deadline:
            return False, f"no answer from the relay within {timeout:g} s (the action may still arrive)"
        await asyncio.sleep(0.01)
    if mt.counters["refused"] != refused:
        return False, f"refused by the relay: {mt.refusals[-1]}"
    grew = [k for k, n in mt.procedure.ignored.items() if n > ignored.get(k, 0)]
    if grew:
        return False, f"{cmd.action.replace('_', ' ')}: nothing changed ({_WHY.get(grew[0], grew[0])})"
    # the whole state on one line: after "raise" the list and your place on it show that it worked
    return True, "ok: " + "; ".join(status_lines(session))


class MeetingControl:
    """The control socket of a running client (``start`` on the session's loop, ``close`` at the end)."""

    def __init__(self, session: Any, path: Path) -> None:
        self.session = session
        self.path = path
        self.server: asyncio.AbstractServer | None = None
        self.commands = 0

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            if _alive(self.path):
                raise ConfigError(f"another client already listens on {self.path} (join --control PATH for another)")
            self.path.unlink()
        old = os.umask(0o177)
        try:
            self.server = await asyncio.start_unix_server(self._serve, str(self.path))
        finally:
            os.umask(old)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        what = "command"
        try:
            raw = await asyncio.wait_for(reader.readline(), 5.0)
            if len(raw) > MAX_LINE:
                raise ProtocolError("command too long")
            rec = is_reception(raw)  # vrdiplomacy reception ...
            cmd = MeetingCommand.decode(raw) if rec is None else None
            self.commands += 1
            what = "reception" if cmd is None else cmd.action.replace("_", "-")
            if cmd is None and not _at_reception(self.session):
                ok, line = False, ("refused: this client is not at a reception (it entered without a pass; "
                                   "'vrdiplomacy join --pass FILE' enters one)")
            else:
                ok, line = await (execute(self.session, cmd) if cmd is not None
                                  else reception_execute(self.session, rec or {}))
        except (TimeoutError, ProtocolError) as e:
            ok, line = False, f"error: {e}"
        except VrdError as e:
            ok, line = False, f"error: {e}"
        # one line in the log: what was asked and the answer's first line ("refused: ..." says so itself)
        first = next((x.strip() for x in line.splitlines() if x.strip()), "(nothing to show)")
        if not ok and not first.startswith(("refused", "error")):
            first = f"refused: {first}"
        log.info("control socket: %s: %s", what, first)
        with contextlib.suppress(OSError):
            writer.write(json.dumps({"ok": ok, "line": line}).encode("utf-8") + b"\n")
            await writer.drain()
            writer.close()


def _alive(path: Path) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def start_control(host: Any, path: Path | None) -> MeetingControl | None:
    """Open the control socket on a running :class:`~vrdiplomacy.session.host.SessionThread`
    (None, with one log line, where the platform has no Unix sockets)."""
    if not hasattr(socket, "AF_UNIX") or host._loop is None or host.session is None:
        log.info("no meeting control socket on this platform: 'vrdiplomacy meeting' cannot reach this client")
        return None
    ctl = MeetingControl(host.session, control_path(path))
    asyncio.run_coroutine_threadsafe(ctl.start(), host._loop).result(5.0)
    log.info("meeting control on %s ('vrdiplomacy meeting status')", ctl.path)
    return ctl


def stop_control(host: Any, ctl: MeetingControl | None) -> None:
    if ctl is None:
        return
    loop = host._loop
    if loop is not None and loop.is_running():
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(ctl.close(), loop).result(5.0)
    with contextlib.suppress(FileNotFoundError):
        ctl.path.unlink()


def send_command(path: Path, cmd: MeetingCommand, timeout: float = 10.0) -> tuple[bool, str]:
    """The ``vrdiplomacy meeting`` side: send ``cmd`` to the client listening on ``path``."""
    if not hasattr(socket, "AF_UNIX"):
        raise ConfigError("'vrdiplomacy meeting' needs Unix sockets (Linux, macOS)")
    if not timeout > 0:  # socket.settimeout(-1) raised ValueError; 0 made the socket non-blocking (EAGAIN)
        raise ConfigError(f"--timeout must be more than 0 seconds, got {timeout:g}")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        s.close()
        raise ConfigError(f"no running client at {path}: start 'vrdiplomacy join' (or the demo) first; "
                          "this command acts through it (or name its socket with --control PATH)") from None
    try:
        s.sendall(cmd.encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except OSError as e:
        raise VrdError(f"the client at {path} did not answer: {e}") from None
    finally:
        s.close()
    try:
        reply = json.loads(buf)
        return bool(reply["ok"]), str(reply["line"])
    except (ValueError, KeyError, TypeError):
        raise VrdError(f"the client at {path} answered something else than a meeting reply") from None


def command_from_args(action: str, member: str | None, seconds: float | None, items: list[str], phase: str | None,
                      item: int | None) -> MeetingCommand:
    """A :class:`MeetingCommand` from the CLI's words (``agenda`` items, ``item`` 1-based, ``phase`` name)."""
    act = action.replace("-", "_")
    aliases = {"raise": "request", "lower": "withdraw", "next": "grant", "time": "set_time", "item": "agenda_item",
               "reply": "right_of_reply", "poo": "point_of_order"}
    act = aliases.get(act, act)
    if act != "status" and act not in mw.ACTION_NUMBERS or act in ("snapshot", "claim_role"):
        raise ConfigError(f"unknown meeting action '{action}' (the actions: 'vrdiplomacy meeting --help')")
    value = 0
    data = ""
    if act in ("grant", "set_time"):
        if seconds is not None:
            if seconds < 0 or seconds > 24 * 3600:
                raise ConfigError("--time must be 0 to 86400 seconds")
            value = int(round(seconds * 1000))
        elif act == "set_time":
            raise ConfigError("time needs --time SECONDS (0: unlimited)")
    if act in ("mute", "unmute", "clear") and not member:
        raise ConfigError(f"{act} needs a member (a delegation, name or seat)")
    if act == "agenda":
        if not items:
            raise ConfigError("agenda needs its items: vrdiplomacy meeting agenda 'Opening' 'Climate finance' ...")
        data = "\n".join(i.replace("\n", " ").strip() for i in items)
        value = 0
    if act == "agenda_item":
        if item is None or item < 1:
            raise ConfigError("item needs --item N (1 for the first agenda item)")
        value = item - 1
    if act == "phase":
        if phase not in PHASES:
            raise ConfigError(f"phase needs --phase NAME, one of {', '.join(PHASES)}")
        value = PHASES.index(phase)
    return MeetingCommand(act, member, value, data)
