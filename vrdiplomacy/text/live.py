"""A joint-text client in a secured room on a relay: the I/O around :class:`~vrdiplomacy.text.core.TextCore`.

:func:`run_text_live` feeds every opened, verified ``text`` event to the core (the author is the
member whose signature verified) and sends the core's updates; it first asks the room for the
document (peers answer with what we lack) and, with ``state``, restores it from disk and saves it
after every change (written to a temporary file, fsynced, renamed: a crash loses no merged edit;
edits made offline merge when the client is back). Who may edit comes from the signed roster:
room roles chair, host, head, delegate and advisor (not observer or interpreter).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vrdiplomacy.ballot.live import RoleBook
from vrdiplomacy.errors import VrdError
from vrdiplomacy.text.core import STREAM, TextCore
from vrdiplomacy.text.edits import EDITOR_ROLES, apply_edit


@dataclass
class TextJob:
    """doc: the document; edit: ("insert", pos, text) | ("append", text) | ("delete", a, b) |
    ("bracket", a, b) | ("resolve", id, keep) or None (show / follow); follow: keep running;
    state: the file the document is kept in; settle: seconds to wait for peers' answers before
    editing (nobody may hold the document yet); timeout: give up after that many seconds."""

    doc: str
    edit: tuple[Any, ...] | None = None
    follow: bool = False
    state: Path | None = None
    settle: float = 1.0
    timeout: float = 60.0


class TextTimeout(VrdError):
    """The edit did not come back from the relay in time."""


def save_state(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


async def run_text_live(client: Any, room: Any, me: str, job: TextJob, say: Callable[[str], None] = print,
                        clock: Callable[[], float] = time.monotonic, core: TextCore | None = None) -> TextCore:
    """Run ``job``; ``core``: the TextCore to drive (default a new one for ``me``)."""
    from vrdiplomacy.net.client_core import RoomEventReceived

    roles = RoleBook(room)  # a member who left keeps its role for the events it sent before
    core = core or TextCore(me, lambda name: roles.role(name) in EDITOR_ROLES)
    if job.state is not None and job.state.exists():
        core.load(job.doc, job.state.read_bytes())
    start = clock()
    asked = edited = False
    mine_back = 0
    while True:
        now = clock()
        if now - start > job.timeout and not job.follow:
            raise TextTimeout(f"document {job.doc}: the edit did not come back within {job.timeout:g} s")
        if not asked and room.roster is not None:
            core.join(job.doc)
            asked = True
        ev = await client.next_event(timeout=0.05)
        if isinstance(ev, RoomEventReceived) and ev.stream == STREAM and ev.member is not None and ev.verified_sender:
            before = core.counters.merged
            core.receive(ev.payload, ev.verified_sender, now)
            if ev.verified_sender == me and core.counters.merged > before:
                mine_back += 1
            if core.counters.merged > before:
                if job.state is not None:
                    save_state(job.state, core.doc(job.doc).snapshot())
                if job.follow:
                    say(f"{ev.verified_sender}: {core.doc(job.doc).render()}")
        while (e := core.next_event()) is not None:
            if e.kind == "violation":
                say(f"warning: {e.who} {e.detail}")
        if asked and not edited and job.edit is not None and now - start >= job.settle:
            apply_edit(core, job.doc, job.edit)
            edited = True
            if job.state is not None:
                save_state(job.state, core.doc(job.doc).snapshot())
        for stream, payload in core.data_to_send():
            client.send_event(payload, stream=stream)
        if not job.follow and asked and now - start >= job.settle and (job.edit is None or mine_back > 0):
            d = core.doc(job.doc)
            say(d.render())
            for b in d.brackets():
                say(f"  [{b.id}] {b.owner}: {b.text}")
            return core


async def connect_and_edit(relay: str, fingerprint: str, room_name: str, seat: str, identity: Any, admission: Any,
                           authority: Any, job: TextJob, say: Callable[[str], None] = print) -> TextCore:
    from vrdiplomacy.app.addresses import parse_fingerprint, parse_host_port
    from vrdiplomacy.net.client_io import connect
    from vrdiplomacy.net.room_code_cli import admission_settings
    from vrdiplomacy.net.secure import SecureRoom

    me, roots, name = identity
    host, port = parse_host_port(relay)
    room = SecureRoom(room_name, me, roots, admission_settings(admission), authority=authority)
    async with connect(host, port, parse_fingerprint(fingerprint), name, seat, room=room_name, sealer=room,
                       admission=admission) as c:
        return await run_text_live(c, room, name, job, say)
