#!/usr/bin/env python3
"""Gesture latency between two delegates through a relay on loopback (one process, one clock).

Delegate A replays a simulated performance (every gesture ``--reps`` times, articulated hands,
30 frames/s, played ``--speed`` times faster than real time) through its DelegateSession: each
InputFrame passes the gesture recognizer and every onset/offset goes out as a room event.
Delegate B, a second DelegateSession, folds what arrives into its RoomState. Latency of one
gesture event = the moment B's RoomState reflects it minus the moment A received the input frame
at which its recognizer emitted it (the last frame needed), both on the event loop's monotonic
clock. With ``--e2ee`` the same run is repeated with end-to-end encryption (SecureRoom, a
ministry PKI made on the spot) and both rows are printed. Target: p95 <= 150 ms.

    python tools/bench/gesture_latency.py [--reps 10] [--speed 10] [--e2ee]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from vrdiplomacy.gestures.background import perform_gestures  # noqa: E402
from vrdiplomacy.gestures.perform import Performer  # noqa: E402
from vrdiplomacy.input.frame import InputFrame  # noqa: E402
from vrdiplomacy.net.relay_server import EmbeddedRelay  # noqa: E402
from vrdiplomacy.scene.math3d import Pose  # noqa: E402
from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings  # noqa: E402

TARGET_P95_MS = 150.0


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))] if s else float("nan")


def _sealers(e2ee: bool) -> tuple[Any, Any]:
    if not e2ee:
        return None, None
    from vrdiplomacy.crypto.identity import create_delegation_request, create_ministry_root, issue_delegation
    from vrdiplomacy.crypto.session import LocalIdentity
    from vrdiplomacy.net.secure import SecureRoom

    now = time.time()
    root_key, root = create_ministry_root("Ministry of Foreign Affairs", "FR", now)

    def ident(name: str, role: str) -> LocalIdentity:
        key, csr = create_delegation_request(name, "FR")
        return LocalIdentity(issue_delegation(csr, root_key, root, role, now - 60), key)

    return SecureRoom("chamber", ident("Chair", "chair"), [root]), SecureRoom("chamber", ident("France", "head"), [root])


async def _until(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise SystemExit(f"error: timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def run(frames: list[InputFrame], speed: float, e2ee: bool) -> tuple[list[float], int, int]:
    """Latencies in ms of every gesture event, the number of gestures (starts) and of events lost."""
    sa, sb = _sealers(e2ee)
    loop = asyncio.get_running_loop()
    async with EmbeddedRelay() as relay:
        a = DelegateSession(relay.host, relay.port, relay.fingerprint, SessionSettings("delegate-a", "seat-1", hear=False),
                            None, HeldPose(Pose.from_yaw((0.0, 1.2, 0.0), 0.0)), sealer=sa)
        b = DelegateSession(relay.host, relay.port, relay.fingerprint, SessionSettings("delegate-b", "seat-2", hear=False),
                            None, HeldPose(Pose.from_yaw((0.0, 1.2, -1.5), 180.0)), sealer=sb)
        async with a, b:
            await _until(lambda: a.client.client_id in b.state.members, 5, "B to see A")
            if e2ee:
                await _until(lambda: sa.member and sb.member and sa.code is not None and sa.code == sb.code, 15,
                             "both delegates in the secured roster")
            ida = a.client.client_id
            emitted: list[float] = []
            period = 1.0 / 30.0 / speed
            t_start = loop.time()
            for i, f in enumerate(frames):
                t_frame = loop.time()
                for _ in a.push_frame(f):
                    emitted.append(t_frame)
                delay = t_start + (i + 1) * period - loop.time()
                await asyncio.sleep(max(0.0, delay))
                if i % 3000 == 2999:
                    print(f"  {i + 1}/{len(frames)} frames, {len(emitted)} gesture events", file=sys.stderr)

            def shown() -> list[tuple[float, int, str, str]]:
                return [e for e in b.state.gesture_log if e[1] == ida]

            await _until(lambda: len(shown()) >= len(emitted), 5, "every gesture event at B")
            arrived = [b.t0 + e[0] for e in shown()]
            starts = sum(1 for e in shown() if e[3] == "start")
    lat = [1000.0 * (r - s) for s, r in zip(emitted, arrived)]
    return lat, starts, len(emitted) - len(arrived)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=10, help="times each gesture is performed (default 10)")
    ap.add_argument("--speed", type=float, default=10.0, help="replay speed-up over real time (default 10)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--e2ee", action="store_true", help="also run with end-to-end encryption (SecureRoom)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print(f"synthesizing a performance: every gesture x{args.reps} ...", file=sys.stderr)
    frames, labels, _ = perform_gestures(Performer("bench", "articulated"), rng, args.reps)
    print(f"{len(frames)} frames ({frames[-1].time:.0f} s at 30 fps), {len(labels)} labelled gestures; "
          f"replaying at {args.speed:g}x", file=sys.stderr)
    rows = []
    for e2ee in ([False, True] if args.e2ee else [False]):
        lat, starts, lost = asyncio.run(run(frames, args.speed, e2ee))
        rows.append(("E2EE (SecureRoom)" if e2ee else "hop-by-hop only", len(lat), starts, lost,
                     pct(lat, 0.5), pct(lat, 0.95), max(lat)))
    print(f"\n{'mode':<20} {'events':>7} {'gestures':>9} {'lost':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target p95<={TARGET_P95_MS:g}")
    ok = True
    for mode, n, g, lost, p50, p95, mx in rows:
        good = p95 <= TARGET_P95_MS and lost == 0
        ok &= good
        print(f"{mode:<20} {n:>7} {g:>9} {lost:>5} {p50:>8.2f} {p95:>8.2f} {mx:>8.2f}  {'PASS' if good else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
