"""Votes in the client people run: four delegate sessions (the ``vrdiplomacy join`` runtime) in a
secured room on a real relay on 127.0.0.1. The chair opens a recorded vote with the real
``vrdiplomacy meeting vote-open`` command through its client's control socket, delegates cast
through theirs, every client folds the sealed vote stream into its own core and shows the same
verified result on its vote board; then a secret ballot whose trustees decrypt by themselves.
The chair's and delegates' desktop vote keys take the same path. A recorded vote in which
Germany does not vote closes at its deadline, every board saying who did not vote; a secret ballot
whose trustee never comes fails at its deadline, every board naming the absent trustee. Spain,
who joins after all that, sees the last verified result restated by the chair and confirmed by
the others, and the earlier results in its status. The secretariat's session feeds the record
(observer, signed chain, SQLite store), which verifies and whose minutes carry the results.

Fails on main 94bf7c4: the sessions had no votes (vote events were ignored by ``join``'s runtime,
``vrdiplomacy meeting`` had no vote actions, the record never saw a vote)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from vrdiplomacy.app.meeting_control import MeetingCommand, MeetingControl, send_command
from vrdiplomacy.app.record import export_file, verify_file
from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.crypto.admission import Admission, Invitation, self_admission
from vrdiplomacy.net.client_core import ClientSettings
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.secure import SecureRoom, SecureSettings
from vrdiplomacy.record.entry import Chain, RecordHeader
from vrdiplomacy.record.observe import Observer, ObserveSettings
from vrdiplomacy.record.store import RecordStore
from vrdiplomacy.scene.layout import load_layout
from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2ee"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "meeting"))
from harness import Pki
from meetnet import seat_of, until

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = (("Chair", "chair", "CH", "CHE"), ("France", "head", "FR", "FRA"), ("Germany", "delegate", "DE", "DEU"),
          ("Secretariat", "secretariat", "NO", "NOR"))
LATE = ("Spain", "delegate", "ES", "ESP")


def _cli(path: Path, *words: str) -> tuple[int, str]:
    """``vrdiplomacy meeting ...`` as a separate process (the real command line)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = str(ROOT)
    p = subprocess.run([sys.executable, "-m", "vrdiplomacy", "meeting", *words, "--control", str(path)], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).strip()


async def _ask(path: Path, action: str, label: str | None, data: str = "") -> tuple[bool, str]:
    return await asyncio.to_thread(send_command, path, MeetingCommand(action, label, 0, data), 20.0)


async def _run(tmp: Path) -> dict[str, object]:
    layout = load_layout("chamber")
    pki = Pki()
    ids = {name: pki.identity(name, role, cc) for name, role, cc, _ in (*PEOPLE, LATE)}
    chair_id = ids["Chair"]
    out: dict[str, object] = {}
    async with EmbeddedRelay(layouts={layout.scene: layout}, default_layout=layout) as relay:
        sess: dict[str, DelegateSession] = {}
        socks: dict[str, Path] = {}
        async with contextlib.AsyncExitStack() as stack:
            async def start(name: str, role: str, deleg: str) -> DelegateSession:
                me = ids[name]
                seat = seat_of(layout, deleg)
                adm = (self_admission(chair_id.certificate, chair_id.signing_key, "chamber", time.time()) if role == "chair"
                       else Admission(Invitation.create("chamber", chair_id.certificate, chair_id.signing_key,
                                                        me.certificate, role, time.time(), seat, 1.0), me.signing_key))
                sec = SecureRoom("chamber", me, [pki.root], SecureSettings(role=adm.role), authority=adm.invitation)
                state_dir = tmp / "state" / name
                s = DelegateSession(relay.host, relay.port, relay.fingerprint,
                                    SessionSettings(name, seat, hear=False, track_poses=False,
                                                    client=ClientSettings(admission=adm, resume_dir=state_dir)),
                                    layout, HeldPose(layout.seat(seat).eye_pose()), None, None, sealer=sec)
                await s.start()
                stack.push_async_callback(s.stop)
                ctl = MeetingControl(s, tmp / f"{name}.sock")
                await ctl.start()
                stack.push_async_callback(ctl.close)
                socks[name] = ctl.path
                return s

            for name, role, _cc, deleg in PEOPLE:
                sess[name] = await start(name, role, deleg)
            everyone = list(sess.values())

            def ready() -> bool:
                return all(len(s.meeting.roles or {}) == 4 and s.votes.me() is not None for s in everyone)

            await until(ready, 30, "the roster verified on every client")
            nonces = {s.votes.nonce() for s in everyone}
            assert len(nonces) == 1 and None not in nonces  # one meeting session, known to all

            # the record: the secretariat's session is the recording node
            me_sec = ids["Secretariat"]
            record = tmp / "meeting.vrdrec"
            header = RecordHeader(os.urandom(16), "chamber", f"{relay.host}:{relay.port}", int(time.time() * 1e6),
                                  ident.cert_der(me_sec.certificate))
            store = RecordStore.create(record, header)
            chain = Chain(header, me_sec.signing_key)
            observer = Observer(ObserveSettings(settle_s=0.0, gestures=False), procedure_notes=True)
            node = sess["Secretariat"]
            t0_us = int(time.time() * 1e6) - int(node.now * 1e6)

            def keep() -> None:
                for note in observer.observe(node.state, None, node.drain_meeting_notes(), int(time.time() * 1e6), t0_us):
                    store.append(chain.next(note))

            # a recorded vote: opened with the real command line, through the chair's running client
            rc, line = await asyncio.to_thread(_cli, socks["Chair"], "vote-open", "item-2/1", "--question",
                                               "Adopt draft resolution L.12?", "--recorded", "--voters", "France,Germany")
            assert rc == 0, line
            out["open_line"] = line
            # a delegate who is not the chair cannot open one
            ok, refused = await _ask(socks["France"], "vote_open", "x", '{"question": "q"}')
            assert not ok and "only the chair" in refused, refused
            await until(lambda: "Vote item-2/1 is open: F1 yes, F2 no, F3 abstain" in
                        sess["France"].meeting_view(sess["France"].now).notices, 10, "the vote's notice on France's panel")
            assert not [n for n in sess["Chair"].meeting_view(sess["Chair"].now).notices if "Vote" in n]  # not a voter
            ok, line = await _ask(socks["France"], "vote_cast", None, "yes")
            assert ok and "accepted" in line, line
            assert not [n for n in sess["France"].meeting_view(sess["France"].now).notices if "Vote" in n]
            ok, line = await _ask(socks["France"], "vote_cast", None, "no")  # a second vote is refused
            assert not ok and "already voted" in line, line
            rc, line = await asyncio.to_thread(_cli, socks["Germany"], "vote-cast", "item-2/1", "no")
            assert rc == 0, line

            def boards() -> list[object]:
                return [s.meeting_view(s.now).vote for s in everyone]

            await until(lambda: all(b is not None and b.counts is not None for b in boards()), 20,
                        "the recorded vote's verified result on every client", boards)
            rec = boards()
            assert len({b.key() for b in rec}) == 1, rec  # the same board everywhere
            out["recorded"] = rec[0]

            # a secret ballot: trustees Chair, France, Germany (2 needed); everyone votes, nobody's choice shows
            ok, line = await _ask(socks["Chair"], "vote_open", "item-2/2",
                                  '{"question": "Refer the draft to the drafting committee?", '
                                  '"voters": ["France", "Germany"], "trustees": ["Chair", "France", "Germany"], '
                                  '"threshold": 2}')
            assert ok, line
            await until(lambda: all(s.votes.board_view() is not None and s.votes.board_view().stage == "open"
                                    for s in everyone), 20, "the trustees' key made on every client")
            for name, choice in (("France", "yes"), ("Germany", "yes")):
                ok, line = await _ask(socks[name], "vote_cast", "item-2/2", choice)
                assert ok, line
            await until(lambda: all(s.votes.board_view() is not None and s.votes.board_view().counts is not None
                                    for s in everyone), 30, "the secret ballot's tally on every client")
            sec_boards = [s.votes.board_view() for s in everyone]
            assert len({b.key() for b in sec_boards}) == 1
            out["secret"] = sec_boards[0]
            ok, status = await _ask(socks["Germany"], "vote_status", None)
            out["status"] = status
            # the trustees' key files are gone once the vote is tallied (the secret share is of no further use)
            await until(lambda: not list((tmp / "state").rglob("*.trustee")), 10, "the trustee key files removed")
            assert all(s.votes.core is not None and s.votes.core.counters.rejected == 0 for s in everyone), [s.votes.core.counters for s in everyone]  # nothing rejected anywhere

            # the desktop keys: V (the chair opens a recorded vote on the agenda item), F1 / F2 (yes / no)
            line = sess["Chair"].vote_key("chair_vote")
            assert line == "You opened a recorded vote on item 1 (item-1/1)", line
            await until(lambda: all(s.votes.board_view() is not None and s.votes.board_view().label == "item-1/1"
                                    for s in everyone), 10, "the desktop vote open everywhere")
            assert sess["Secretariat"].vote_key("vote_yes").endswith("is not a voter in 'item-1/1@" +
                                                                  str(sess["Chair"].votes.nonce()) + "'")
            out["keys"] = [sess["France"].vote_key("vote_yes"), sess["Germany"].vote_key("vote_no")]
            await until(lambda: all(s.votes.board_view().counts == (1, 1, 0) for s in everyone), 10,
                        "the desktop vote's result everywhere")
            # a recorded vote Germany does not vote in: it closes at its deadline, saying who did not vote
            ok, line = await _ask(socks["Chair"], "vote_open", "item-3/1",
                                  '{"question": "Adjourn the debate?", "recorded": true, "voters": ["France", "Germany"], '
                                  '"deadline": 1.5}')
            assert ok, line
            await until(lambda: all(s.votes.board_view() is not None and s.votes.board_view().label == "item-3/1"
                                    for s in everyone), 10, "the deadline vote open everywhere")
            ok, line = await _ask(socks["France"], "vote_cast", None, "yes")
            assert ok, line
            await until(lambda: all(s.votes.board_view().stage == "tallied" for s in everyone), 15,
                        "the vote closed at its deadline everywhere", boards)
            out["deadline"] = [s.votes.board_view() for s in everyone]
            # a secret ballot whose trustee Spain is not in the room: it fails at its deadline, naming Spain
            ok, line = await _ask(socks["Chair"], "vote_open", "item-3/2",
                                  '{"question": "Suspend the session?", "voters": ["France", "Germany"], '
                                  '"trustees": ["Chair", "France", "Spain"], "threshold": 2, "deadline": 1.5}')
            assert ok, line
            await until(lambda: all(s.votes.board_view() is not None and s.votes.board_view().label == "item-3/2"
                                    and s.votes.board_view().stage == "failed" for s in everyone), 15,
                        "the secret ballot failed at its deadline everywhere", boards)
            out["failed"] = [s.votes.board_view() for s in everyone]
            # Spain joins after all that: the last results are restated to it and confirmed by the others
            late = await start(*LATE[:2], LATE[3])
            await until(lambda: late.votes.board_view() is not None and late.votes.board_view().label == "item-3/2"
                        and len(late.votes.board_view().confirmed_by) == 3, 20,
                        "the restated boards confirmed on the late joiner", lambda: late.votes.status_lines())
            out["late"] = late.votes.board_view()
            out["late_status"] = late.votes.status_lines()
            for _ in range(20):  # the secretariat's node writes what its session saw
                keep()
                await asyncio.sleep(0.05)
            store.close()
    out["record"] = verify_file(record)
    out["minutes"] = export_file(record, "md")
    return out


def test_votes_in_live_sessions_board_and_record(tmp_path: Path) -> None:
    out = asyncio.run(_run(tmp_path))
    assert "recorded vote item-2/1 opened" in str(out["open_line"])
    rec = out["recorded"]
    assert rec.label == "item-2/1" and not rec.secret and rec.stage == "tallied" and rec.verified  # type: ignore[attr-defined]
    assert rec.counts == (1, 1, 0) and rec.cast == 2 and rec.eligible == 2  # type: ignore[attr-defined]
    assert dict(rec.lights) == {"France": "yes", "Germany": "no"}  # type: ignore[attr-defined]  # per delegation
    sec = out["secret"]
    assert sec.secret and sec.counts == (2, 0, 0) and sec.lights == () and sec.cast == 2  # type: ignore[attr-defined]
    assert "verified result: yes 2, no 0, abstain 0" in str(out["status"])
    minutes = str(out["minutes"])
    kinds = [e.kind for e in out["record"].entries]  # type: ignore[attr-defined]
    assert kinds.count("vote_result") == 4 and kinds.count("vote_opened") == 5
    assert out["keys"] == ["You voted yes in item-1/1", "You voted no in item-1/1"]
    for b in out["deadline"]:  # type: ignore[attr-defined]
        assert b.counts == (1, 0, 0) and b.not_voted == ("Germany",) and dict(b.lights) == {"France": "yes"}
    for b in out["failed"]:  # type: ignore[attr-defined]
        assert b.counts is None and b.failure == "the trustees' key was never made; trustee Spain absent"
    late = out["late"]
    assert late.label == "item-3/2" and late.stage == "failed" and late.restated_by == "Chair"  # type: ignore[attr-defined]
    assert set(late.confirmed_by) == {"France", "Germany", "Secretariat"}  # type: ignore[attr-defined]
    status = "\n".join(out["late_status"])  # type: ignore[arg-type]
    assert "vote item-2/2 (secret ballot, item -)" in status and "verified result: yes 2, no 0, abstain 0" in status
    assert "did not vote: Germany" in status and "trustee Spain absent" in status
    assert "did not vote: France, Germany" not in status  # nobody could vote in a ballot whose key was never made
    assert "from before this client joined: restated by Chair, confirmed by France, Germany, Secretariat" in status
    assert kinds.count("vote_failed") == 1 and "did not vote: Germany" in minutes
    assert "failed: the trustees' key was never made; trustee Spain absent" in minutes
    assert "result of vote item-2/1@" in minutes and "yes 1, no 1, abstain 0" in minutes
    assert "France voted yes" in minutes and "Germany voted no" in minutes
    assert "yes 2, no 0, abstain 0" in minutes and "Germany cast a secret ballot" in minutes
