"""The secretariat's node as people run it (``vrdiplomacy record keep``, a real process) in a real
relay's room on 127.0.0.1, with scripted delegates joining, raising hands, nodding, lowering
hands and leaving over real sockets.

* ``kill -9`` of the node at a random moment: every entry it printed as acknowledged before it
  died is in the file, unchanged, and the file verifies; restarted on the same file it checks the
  record and continues the chain; the exported minutes list the events in order.
* In an end-to-end encrypted room the node is admitted by its invitation and names members by
  their verified certificates, never by the name a client gave the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from childprocs import run_then_kill
from recordkit import ROOT, Pki, cli, env, write_identity

from vrdiplomacy.gestures.events import GestureEvent
from vrdiplomacy.gestures.types import Gesture, Hand
from vrdiplomacy.meeting import wire as mw
from vrdiplomacy.record.store import RecordStore
from vrdiplomacy.record.verify import verify_rows

ACK = re.compile(r"^acknowledged (\d+) (\w+): (.*)$")
CYCLE = ("joined", "floor_requested", "gesture", "floor_withdrawn", "left")


class Proc:
    """A ``vrdiplomacy`` child process; its output lines kept as they arrive."""

    def __init__(self, *args: str | Path, state: Path | None = None) -> None:
        self.p = subprocess.Popen([sys.executable, "-m", "vrdiplomacy", *map(str, args)], cwd=str(ROOT), env=env(state),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def acks(self) -> list[tuple[int, str, str]]:
        return [(int(m[1]), m[2], m[3]) for line in list(self.lines) if (m := ACK.match(line))]

    def finish(self, timeout: float = 20.0) -> int:
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the process did not end within {timeout:g} s\n{self.output()}") from None
        self._reader.join(timeout)
        return rc

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(10)

    def output(self) -> str:
        return "\n".join(self.lines)


async def until(pred, timeout: float, what: str, proc: Proc | None = None) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not pred():
        if proc is not None and proc.p.poll() is not None:
            raise AssertionError(f"{what}: the process ended\n{proc.output()}")
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}" + (f"\n{proc.output()}" if proc else ""))
        await asyncio.sleep(0.02)


async def delegate_cycles(host: str, port: int, fp: str, first: int, stop: asyncio.Event, done: list[str]) -> None:
    """Delegates D<first>, D<first+2>, ... one after another: join, raise hand, nod, lower hand, leave."""
    from vrdiplomacy.scene.layout import load_layout
    from vrdiplomacy.scene.math3d import Pose
    from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings

    layout = load_layout("chamber")
    i = first
    while not stop.is_set():
        name = f"D{i:02d}"
        s = DelegateSession(host, port, fp, SessionSettings(identity=name, seat=f"S{100 + i:03d}", hear=False,
                                                            track_poses=False), layout, HeldPose(Pose()))
        await s.start()
        for g, pause in (("raise_hand", 0.25), ("nod", 0.25), ("lower_hand", 0.25)):
            await asyncio.sleep(pause)
            s.send_gesture(g, "start", "right")
        await asyncio.sleep(0.25)
        await s.stop()
        done.append(name)
        await asyncio.sleep(0.1)
        i += 2


def _relay(tmp_path: Path) -> tuple[Proc, str, int, str]:
    relay = Proc("relay", "--listen", "127.0.0.1:0", "--state-dir", tmp_path / "relay")
    end = time.monotonic() + 30
    while not any("fingerprint" in line for line in relay.lines):
        assert time.monotonic() < end and relay.p.poll() is None, relay.output()
        time.sleep(0.05)
    port = int(next(line for line in relay.lines if "listening on" in line).split(":")[1].split()[0])
    fp = next(line for line in relay.lines if "fingerprint" in line).rsplit(" ", 1)[1]
    return relay, "127.0.0.1", port, fp


def _stored(path: Path) -> list[tuple[int, str, str]]:
    with RecordStore.open(path, readonly=True) as store:
        v = verify_rows(store.header, store.rows())
    return [(e.seq, e.kind, e.text) for e in v.entries]


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_entry_restart_continues_minutes_in_order(tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    pki = Pki()
    folder = write_identity(pki.identity("Secretariat", "observer"), tmp_path / "secretariat")
    root = pki.write_root(tmp_path / "root.crt")
    db = tmp_path / "meeting.db"
    relay, host, port, fp = _relay(tmp_path)
    keep = ["record", "keep", "--relay", f"{host}:{port}", "--fingerprint", fp, "--room", "chamber", "--dir", folder,
            "--out", db]
    procs = [relay]
    run_then_kill(_kill_scenario(rng, seed, keep, db, root, host, port, fp, procs), procs)


async def _kill_scenario(rng: random.Random, seed: int, keep: list, db: Path, root: Path, host: str, port: int,  # type: ignore[type-arg]
                         fp: str, procs: list[Proc]) -> None:
    stop = asyncio.Event()
    done: list[str] = []
    state = db.parent / "state"
    node = Proc(*keep, state=state)
    procs.append(node)
    await until(lambda: any(k == "record_opened" for _, k, _ in node.acks()), 30, "the node's first entry", node)
    await asyncio.sleep(2.0)  # members who come later "joined"; those there in the node's first 1.5 s "were present"
    fpx = fp.replace(":", "").lower()
    scripts = [asyncio.create_task(delegate_cycles(host, port, fpx, k, stop, done)) for k in (0, 1)]
    try:
        await until(lambda: len(node.acks()) >= 6, 30, "the node recording", node)
        await asyncio.sleep(rng.uniform(0.0, 2.5))
        os.kill(node.p.pid, signal.SIGKILL)  # the crash, at a random moment of the session
        node.finish()
        acked = node.acks()  # every line it printed came after that entry's COMMIT
        stored = _stored(db)
        print(f"\nseed {seed}: node killed after {len(acked)} acknowledged entries; {len(stored)} in the file")
        assert acked and acked == stored[: len(acked)], f"seed {seed}: acknowledged entries missing or changed"
        assert len(stored) - len(acked) <= 1  # at most the entry being committed when the kill came
        r = cli("record", "verify", db, "--root", root)
        assert r.rc == 0, f"seed {seed}: {r.err}"

        again = Proc(*keep, state=state)  # restart on the same file, while the delegates go on
        procs.append(again)
        await until(lambda: any(k == "record_resumed" for _, k, _ in again.acks()), 30, "the node resumed", again)
        resumed = next(a for a in again.acks() if a[1] == "record_resumed")
        assert resumed[0] == len(stored) + 1 and f"({len(stored)} entries kept)" in resumed[2]
        await until(lambda: any(k == "joined" for _, k, _ in again.acks()), 30, "a join seen after the restart", again)
        n_before = len(done)
        await until(lambda: len(done) >= n_before + 4, 60, "four more delegates after the restart", again)
        assert "resuming the session of" in again.output()  # its seat back at once, with the same relay session
    finally:
        stop.set()
        for t in scripts:
            with contextlib.suppress(Exception):
                await t
    await asyncio.sleep(0.5)
    again.p.send_signal(signal.SIGTERM)  # a clean stop closes the record
    assert again.finish() == 0, again.output()
    total = _stored(db)
    assert total[-1][1] == "record_closed" and again.acks() == total[len(stored):]
    r = cli("record", "verify", db, "--root", root)
    assert r.rc == 0 and r.out.startswith(f"{len(total)} entries, chain and signatures OK, signed by Secretariat"), r.err

    r = cli("record", "export", db, "--format", "md", "--root", root)
    assert r.rc == 0, r.err
    rows = [line for line in r.out.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert len(rows) == len(total)
    assert [int(row.split(" | ")[0][2:]) for row in rows] == list(range(1, len(total) + 1))
    times = [row.split(" | ")[1] for row in rows]
    assert times == sorted(times)  # one day: HH:MM:SS sorts as time
    whats = [row.split(" | ")[3].rstrip(" |") for row in rows]
    assert whats == [t for _, _, t in total]
    # each delegate's events appear in the order it made them
    kinds: dict[str, list[str]] = {}
    for _, kind, text in total:
        m = re.match(r"^(D\d\d) ", text)
        if m and not (kind == "present" and m[1] in kinds):  # restated by the resumed node: not an event
            kinds.setdefault(m[1], []).append(kind)
    order = {k: i for i, k in enumerate(("present", *CYCLE))}
    for name, ks in kinds.items():
        assert [order[k] for k in ks] == sorted(order[k] for k in ks) and len(set(ks)) == len(ks), (name, ks)
    complete = [n for n, ks in kinds.items() if tuple(ks) == CYCLE]
    assert len(complete) >= 4, "\n".join(f"{k}: {v}" for k, v in kinds.items())
    for name in complete:  # the minutes' lines for a whole cycle
        lines = [w for w in whats if w.startswith(name + " ")]
        assert [w.split(" ", 2)[2] for w in lines] == ["joined the room", "asked for the floor", "nods",
                                                        "withdrew the request for the floor", "left the room"]


@pytest.mark.slow
def test_secured_room_names_members_by_their_verified_certificates(tmp_path: Path) -> None:
    """The node joins an end-to-end encrypted room with its invitation; a delegate who tells the
    relay it is "the-chair" is written down as the certificate says: Germany (DE)."""
    from vrdiplomacy.crypto.admission import (
        Invitation,
        check_for_member,
        self_admission,
    )
    from vrdiplomacy.net.client_io import connect
    from vrdiplomacy.net.relay_server import EmbeddedRelay
    from vrdiplomacy.net.secure import SecureRoom, SecureSettings

    pki = Pki()
    chair, de = pki.identity("Chair", "chair", "CH"), pki.identity("Germany", "head", "DE")
    sec = pki.identity("Secretariat", "observer", "CH")
    folder = write_identity(sec, tmp_path / "secretariat")
    root = pki.write_root(tmp_path / "root.crt")
    now = time.time()
    (tmp_path / "sec.invite").write_bytes(
        Invitation.create("bilateral", chair.certificate, chair.signing_key, sec.certificate, "observer", now,
                          "secretariat", 1.0).armored())
    de_inv = Invitation.create("bilateral", chair.certificate, chair.signing_key, de.certificate, "head", now, "A1", 1.0)
    db = tmp_path / "bilateral.db"
    procs: list[Proc] = []

    async def main() -> None:
        async with EmbeddedRelay() as relay:
            adm = self_admission(chair.certificate, chair.signing_key, "bilateral", now)
            ch_room = SecureRoom("bilateral", chair, [pki.root], SecureSettings(role=adm.role), authority=adm.invitation)
            async with connect(relay.host, relay.port, relay.fingerprint, "chair", "B1", room="bilateral",
                               sealer=ch_room, admission=adm) as ch:
                pump = asyncio.create_task(_drain(ch))
                node = Proc("record", "keep", "--relay", f"{relay.host}:{relay.port}", "--fingerprint",
                            relay.fingerprint, "--room", "bilateral", "--dir", folder, "--root", root, "--invite",
                            tmp_path / "sec.invite", "--out", db, state=tmp_path / "state")
                procs.append(node)
                await until(lambda: any("Chair" in t and k == "present" for _, k, t in node.acks()), 60,
                            "the node admitted and seeing the chair", node)
                de_adm = check_for_member(de_inv, de.certificate, de.signing_key, [pki.root], time.time(), "bilateral")
                de_room = SecureRoom("bilateral", de, [pki.root], SecureSettings(role=de_adm.role),
                                     authority=de_adm.invitation)
                async with connect(relay.host, relay.port, relay.fingerprint, "the-chair", "A1", room="bilateral",
                                   sealer=de_room, admission=de_adm) as c:
                    pump_de = asyncio.create_task(_drain(c))
                    await until(lambda: any(k == "joined" and "Germany" in t for _, k, t in node.acks()), 30,
                                "Germany joined", node)
                    await until(lambda: de_room.code is not None and ch_room.code == de_room.code, 20, "room code")
                    c.send_event(bytes(GestureEvent(Gesture.RAISE_HAND, Hand.RIGHT, "start", 0.0, 1.0)), stream="gesture")
                    ask = mw.MeetingAction(mw.REQUEST, mw.NOBODY, 0, b"")  # what a raised hand sends beside the gesture
                    c.send_event(bytes(ask), stream=mw.STREAM, header=bytes(ask.header()))
                    await until(lambda: any(k == "floor_requested" for _, k, _ in node.acks()), 20, "the hand", node)
                    pump_de.cancel()
                await until(lambda: any(k == "left" and "Germany" in t for _, k, t in node.acks()), 30, "left", node)
                node.p.send_signal(signal.SIGINT)
                assert node.finish() == 0, node.output()
                pump.cancel()

    run_then_kill(main(), procs)
    r = cli("record", "export", db, "--format", "md", "--root", root)
    assert r.rc == 0, r.err
    assert "the-chair" not in r.out, r.out
    rows = [line for line in r.out.splitlines() if re.match(r"^\| \d+ \|", line)]
    germany = [row for row in rows if "Germany" in row]
    assert [row.split(" | ")[3].rstrip(" |") for row in germany] == [
        "Germany (DE) joined the room", "Germany (DE) asked for the floor",
        "Germany (DE) left the room"]
    assert all(row.split(" | ")[2] == "Germany (DE)" for row in germany)  # verified: no "(unverified)" mark
    assert "certificate issued by Conference Secretariat" in r.out


async def _drain(c) -> None:  # type: ignore[no-untyped-def]
    async for _ in c:
        pass
