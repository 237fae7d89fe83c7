"""Benchmark the joint text: keystroke to the peer's panel, through a real ``vrdiplomacy relay``
process on loopback (TLS, its fsynced event journal) and the wired session path
(``DelegateSession.drafting``: end-to-end sealed and signed updates in a secured room).

    .venv/bin/python tools/bench/text.py [--keys 200] [--interval 0.05]

A chair, France and Germany join a secured room as ``vrdiplomacy join`` does (DelegateSession).
France types ``--keys`` characters, one every ``--interval`` seconds, each a local edit at its
caret sent at once (:meth:`SessionDrafting.edit` + ``flush_drafting``); when Germany's session
merges an update it builds its MeetingView's draft and draws the chamber screen's picture
(:func:`vrdiplomacy.render.text_panel.draft_screen`): the latency is from the keystroke to that
picture holding the character. Reported: p50 / p95 / max (target p95 <= 150 ms), the local cost
of one edit, and the panel's draw time. Exit code 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2ee"))
sys.path.insert(0, str(ROOT / "tests" / "net"))

from harness import Pki, until
from test_relay_restart_events import Relay, _free_port

from vrdiplomacy.crypto.admission import Admission, Invitation, self_admission
from vrdiplomacy.net.client_core import ClientSettings
from vrdiplomacy.net.secure import SecureRoom, SecureSettings
from vrdiplomacy.render.text_panel import draft_screen
from vrdiplomacy.scene.layout import load_layout
from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings

PEOPLE = (("Chair", "chair", "CH", "CHE"), ("France", "head", "FR", "FRA"), ("Germany", "delegate", "DE", "DEU"))


async def run(relay: Relay, keys: int, interval: float) -> tuple[list[float], list[float], list[float]]:
    layout = load_layout("chamber")
    pki = Pki()
    ids = {name: pki.identity(name, role, cc) for name, role, cc, _ in PEOPLE}
    chair = ids["Chair"]
    sess: dict[str, DelegateSession] = {}
    lat: list[float] = []
    edit_cost: list[float] = []
    draw_cost: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        for name, role, _cc, deleg in PEOPLE:
            seat = next(s.seat_id for s in layout.seats if s.delegation == deleg)
            adm = (self_admission(chair.certificate, chair.signing_key, "chamber", time.time()) if role == "chair" else
                   Admission(Invitation.create("chamber", chair.certificate, chair.signing_key, ids[name].certificate,
                                               role, time.time(), seat, 1.0), ids[name].signing_key))
            sec = SecureRoom("chamber", ids[name], [pki.root], SecureSettings(role=adm.role), authority=adm.invitation)
            s = DelegateSession("127.0.0.1", relay.port, relay.fp,
                                SessionSettings(name.lower(), seat, hear=False, client=ClientSettings(admission=adm)),
                                layout, HeldPose(layout.seat(seat).eye_pose()), None, None, sealer=sec)
            await s.start()
            stack.push_async_callback(s.stop)
            sess[name] = s
        fr, de = sess["France"], sess["Germany"]
        await until(lambda: all(s.drafting.core.may_edit("France") and len(s.state.members) == 2 for s in sess.values()),
                    30, "the roster verified everywhere")
        typed: dict[int, float] = {}
        receive = de.drafting.receive

        def panel_receive(payload: bytes, sender: str, now: float, stream: str = "room") -> bool:
            out = receive(payload, sender, now, stream)
            n = len(de.drafting.core.doc("draft").text())
            if len(lat) < n and len(lat) in typed:
                t = time.perf_counter()
                view = de.meeting_view(de.now).draft  # what the renderer gets this frame
                assert view is not None
                pixels = draft_screen(view)
                done = time.perf_counter()
                draw_cost.append(done - t)
                assert pixels.shape[0] > 0 and len(view.text) == n
                while len(lat) < n and len(lat) in typed:
                    lat.append(done - typed[len(lat)])
            return out

        de.drafting.receive = panel_receive  # type: ignore[method-assign]
        fr.drafting.begin_typing()
        letters = "The General Assembly urges all States to protect fisheries "
        for i in range(keys):
            t = time.perf_counter()
            typed[i] = t
            fr.drafting.edit(("insert", fr.drafting.caret, letters[i % len(letters)]))
            fr.flush_drafting()
            edit_cost.append(time.perf_counter() - t)
            await asyncio.sleep(interval)
        await until(lambda: len(lat) >= keys, 30, "every keystroke on Germany's panel")
    return lat, edit_cost, draw_cost


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=200)
    ap.add_argument("--interval", type=float, default=0.05, help="seconds between keystrokes (default 0.05: 20 keys/s)")
    a = ap.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        relay = Relay(Path(tmp) / "state", _free_port())
        relay.start()
        try:
            lat, cost, draw = asyncio.run(run(relay, a.keys, a.interval))
        finally:
            relay.kill()
    ms = sorted(x * 1e3 for x in lat)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    print(f"{len(ms)} keystrokes through a relay process, secured room, DelegateSession path")
    print("| measure | ms | target |\n|---|---:|---:|")
    print(f"| keystroke -> peer's panel drawn, p50 | {statistics.median(ms):.2f} | |")
    print(f"| keystroke -> peer's panel drawn, p95 | {p95:.2f} | <= 150 {'ok' if p95 <= 150 else 'MISSED'} |")
    print(f"| keystroke -> peer's panel drawn, max | {ms[-1]:.2f} | |")
    print(f"| one local edit (CRDT update, sealing, send) median | {statistics.median(cost) * 1e3:.3f} | |")
    print(f"| panel picture (1024x576) median | {statistics.median(draw) * 1e3:.2f} | |")
    return 0 if p95 <= 150 else 1


if __name__ == "__main__":
    raise SystemExit(main())
