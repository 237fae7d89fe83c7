"""The joint text in the session people run (``vrdiplomacy join``'s DelegateSession), through a real
``vrdiplomacy relay`` process with ``--state-dir``, in a secured room (chair, France, Germany):

* France and Germany type lines into the room's draft (the desktop's edit mode path,
  :meth:`SessionDrafting.type_line`); the relay is killed with ``kill -9`` between edits, both go
  on typing while it is down, and it is restarted on the same state directory. Every edit the
  relay had acknowledged to its author before the kill, and every edit made while it was down
  (kept unacknowledged by its client and sent again after the resume), is in every client's draft
  at the end, once, and the three drafts are identical; each client's MeetingView carries the
  draft with the other editor's caret (an ephemeral cursor event, not in the document);
* ``vrdiplomacy text edit --session`` (a separate process) edits through France's running session's
  control socket, and ``text show --session`` prints the draft; an impossible edit is refused in one line;
* when the chair moves to the next agenda item, the record's observer writes the joint text as it
  stood (``joint_text`` note: the text with its brackets, its version).

Fails on main 94bf7c4: the session had no joint text (``DelegateSession.drafting``), the control
socket knew no text actions and ``vrdiplomacy text`` had no ``--session``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "net"))
sys.path.insert(0, str(ROOT / "tests" / "e2ee"))

from harness import Pki, until
from test_relay_restart_events import Relay, _free_port

from vrdiplomacy.app.meeting_control import MeetingControl
from vrdiplomacy.crypto.admission import Admission, Invitation, self_admission
from vrdiplomacy.net.client_core import ClientSettings
from vrdiplomacy.net.secure import SecureRoom, SecureSettings
from vrdiplomacy.scene.layout import load_layout
from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings

PEOPLE = (("Chair", "chair", "CH", "CHE"), ("France", "head", "FR", "FRA"), ("Germany", "delegate", "DE", "DEU"))
BEFORE, DURING, AFTER = 4, 2, 2  # lines each editor types before the kill, while the relay is down, after


def _cli(control: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vrdiplomacy", "text", *args, "--session", "--control", str(control)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.slow
def test_joint_text_in_running_sessions_survives_relay_kill_9(tmp_path: Path) -> None:
    relay = Relay(tmp_path / "state", _free_port())
    relay.start()
    try:
        asyncio.run(_run(relay, tmp_path))
    finally:
        if relay.proc is not None and relay.proc.poll() is None:
            relay.proc.kill()
            relay.proc.wait()


async def _run(relay: Relay, tmp: Path) -> None:
    layout = load_layout("chamber")
    pki = Pki()
    ids = {name: pki.identity(name, role, cc) for name, role, cc, _ in PEOPLE}
    chair = ids["Chair"]
    sess: dict[str, DelegateSession] = {}
    async with contextlib.AsyncExitStack() as stack:
        for name, role, _cc, deleg in PEOPLE:
            seat = next(s.seat_id for s in layout.seats if s.delegation == deleg)
            adm = (self_admission(chair.certificate, chair.signing_key, "chamber", time.time()) if role == "chair" else
                   Admission(Invitation.create("chamber", chair.certificate, chair.signing_key, ids[name].certificate,
                                               role, time.time(), seat, 1.0), ids[name].signing_key))
            sec = SecureRoom("chamber", ids[name], [pki.root], SecureSettings(role=adm.role), authority=adm.invitation)
            s = DelegateSession("127.0.0.1", relay.port, relay.fp,
                                SessionSettings(name.lower(), seat, hear=False, pose_hz=5.0,
                                                client=ClientSettings(admission=adm, reconnect_max=0.3)),
                                layout, HeldPose(layout.seat(seat).eye_pose()), None, None, sealer=sec)
            await s.start()
            stack.push_async_callback(s.stop)
            sess[name] = s
        fr, de = sess["France"], sess["Germany"]
        everyone = list(sess.values())
        await until(lambda: all(s.drafting.core.may_edit("France") and s.drafting.core.may_edit("Germany")
                                and len(s.state.members) == 2 for s in everyone), 30, "the roster verified everywhere")

        typed: dict[str, list[str]] = {"France": [], "Germany": []}

        def type_line(name: str, word: str) -> None:
            s = sess[name]
            s.drafting.type_line(word)
            s.flush_drafting()
            typed[name].append(word)

        fr.drafting.begin_typing()
        de.drafting.begin_typing()
        fr.flush_drafting()
        de.flush_drafting()
        for k in range(BEFORE):
            type_line("France", f"fr{k}")
            type_line("Germany", f"de{k}")
            await asyncio.sleep(0.05)
        # the acknowledged edits at the moment of the kill: those the relay has fsynced and acked
        await asyncio.sleep(0.2)
        acked = {n: len(typed[n]) - sess[n].drafting.unacked(sess[n].client) for n in typed}
        assert acked["France"] >= 1 and acked["Germany"] >= 1, acked
        relay.kill()
        for k in range(DURING):  # typed while the relay is gone: kept, sent again after the resume
            type_line("France", f"frdown{k}")
            type_line("Germany", f"dedown{k}")
        assert fr.drafting.unacked(fr.client) >= DURING and de.drafting.unacked(de.client) >= DURING
        await asyncio.sleep(0.3)
        relay.start()
        for k in range(AFTER):
            type_line("France", f"frup{k}")
            type_line("Germany", f"deup{k}")
            await asyncio.sleep(0.05)

        def texts() -> list[str]:
            return [s.drafting.core.doc("draft").text() for s in everyone]

        words = [w for ws in typed.values() for w in ws]
        await until(lambda: len(set(texts())) == 1 and all(texts()[0].split().count(w) == 1 for w in words) and
                    fr.drafting.unacked(fr.client) == 0 and de.drafting.unacked(de.client) == 0, 30,
                    "every edit in every draft", lambda: repr(texts()))
        final = texts()[0].split()
        for name, ws in typed.items():  # each author's own lines in the order typed
            assert [w for w in final if w in ws] == ws, (name, final)
        assert all(c.connected for c in (s.client for s in everyone))

        # the panel's view: the draft, with the other editor's caret (awareness) in its delegation
        view = de.meeting_view(de.now).draft
        assert view is not None and view.text == texts()[0]
        await until(lambda: any(c.code == "FRA" and not c.mine for c in (de.meeting_view(de.now).draft.carets)), 10,
                    "France's caret on Germany's panel", lambda: repr(de.meeting_view(de.now).draft))
        assert "FRA" not in de.drafting.core.doc("draft").render()  # the cursor never went into the CRDT

        # vrdiplomacy text ... --session, through France's running session
        control = MeetingControl(fr, tmp / "france.sock")
        await control.start()
        try:
            edited = await asyncio.to_thread(_cli, control.path, "edit", "--append", " It decides to remain seized.")
            assert edited.returncode == 0 and "remain seized." in edited.stdout, edited.stdout + edited.stderr
            await until(lambda: de.drafting.core.doc("draft").text().endswith("remain seized."), 10, "the CLI edit at Germany")
            n = len(de.drafting.core.doc("draft").text())
            bracketed = await asyncio.to_thread(_cli, control.path, "edit", "--bracket", str(n - 14), str(n - 1))
            assert bracketed.returncode == 0, bracketed.stdout + bracketed.stderr
            shown = await asyncio.to_thread(_cli, control.path, "show")
            assert shown.returncode == 0 and "[remain seized]." in shown.stdout and "France: remain seized" in \
                shown.stdout, shown.stdout
            bad = await asyncio.to_thread(_cli, control.path, "edit", "--delete", "5", "999999")
            assert bad.returncode == 1 and "refused" in bad.stdout and "outside the text" in bad.stdout, bad.stdout
        finally:
            await control.close()
        await until(lambda: len({s.drafting.core.doc("draft").render() for s in everyone}) == 1, 10, "brackets everywhere")
        assert all(s.drafting.core.counters.not_allowed == 0 and s.drafting.core.counters.malformed == 0 for s in everyone)

        # the chair moves on to the next agenda item: the record gets the text as it stood
        from vrdiplomacy.record.observe import Observer

        notes: list[object] = []
        de.drain_meeting_notes()
        sess["Chair"].meeting_act("agenda", data="Fisheries\nAny other business")
        sess["Chair"].meeting_act("agenda_item", value=1)
        await until(lambda: notes.extend(de.drain_meeting_notes()) or any(n.kind == "joint_text" for n in notes), 10,
                    "the joint text noted at the item's close")
        recorded = [n for n in Observer(procedure_notes=True).observe(de.state, None, notes, int(time.time() * 1e6))
                    if n.kind == "joint_text"]
        assert len(recorded) == 1 and recorded[0].actor.name == "Chair", recorded
        final = de.drafting.core.doc("draft").render()
        assert recorded[0].text == "Joint text at the close of agenda item 1: " + final and final.endswith("[remain seized].")
        assert ("version", de.drafting.core.doc("draft").digest()) in recorded[0].data
