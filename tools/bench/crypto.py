"""Benchmark the E2EE hot path: seal (SFrame encrypt + amortised Ed25519 frame signing) and open
(replay check + decrypt + hash bookkeeping) per frame, per cipher suite and frame size; plus the
cost of a rekey (HPKE to every member) and of a signed event.

    .venv/bin/python tools/bench/crypto.py [--frames 5000] [--members 10]
    .venv/bin/python tools/bench/crypto.py --seal-sign [--frames 5000]   # only the seal+sign gate

Target: seal p99 <= 1 ms per frame (voice ~100 B at 50 Hz, pose frames at 90 Hz).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, default_kem_suite  # noqa: E402
from vrdiplomacy.crypto.identity import (  # noqa: E402
    create_delegation_request,
    create_ministry_root,
    issue_delegation,
)
from vrdiplomacy.crypto.packet import StreamType  # noqa: E402
from vrdiplomacy.crypto.roster import Roster  # noqa: E402
from vrdiplomacy.crypto.sframe import CipherSuite  # noqa: E402
from vrdiplomacy.crypto.session import GroupSession, LocalIdentity, SessionConfig  # noqa: E402

ROOM = b"bench-room"


def make_room(n: int, suite: CipherSuite, now: float) -> list[GroupSession]:
    root_key, root = create_ministry_root("Bench Ministry", "FR", now)
    sessions = []
    entries = []
    kem_suite = default_kem_suite()
    for i in range(n):
        key, csr = create_delegation_request(f"D{i}", "FR")
        cert = issue_delegation(csr, root_key, root, "delegate", now)
        s = GroupSession(ROOM, LocalIdentity(cert, key, KemKeyPair.generate(kem_suite)), [root], SessionConfig(cipher_suite=suite))
        sessions.append(s)
        entries.append(s.roster_entry(i, "delegate"))
    ck, ccsr = create_delegation_request("Chair", "CH")
    chair = issue_delegation(ccsr, root_key, root, "chair", now)
    roster = Roster.create(ROOM, entries, ck, chair, int(now))
    for s in sessions:
        s.install_roster(roster, now)
    for s in sessions:
        for p in s.outgoing(now):
            for o in sessions:
                if o is not s:
                    o.open(p, now)
    return sessions


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t) / 1e3


def bench_stream(suite: CipherSuite, stream: StreamType, size: int, rate: float, frames: int) -> dict[str, float]:
    now = 1_750_000_000.0
    a, b = make_room(2, suite, now)[:2]
    payload = bytes(size)
    seal_us: list[float] = []
    open_us: list[float] = []
    for i in range(frames):
        t = now + i / rate
        t0 = time.perf_counter_ns()
        wire = a.seal(stream, payload, t)
        ctl = a.outgoing(t)  # due frame signatures are made here: counted in the seal cost
        seal_us.append((time.perf_counter_ns() - t0) / 1e3)
        t0 = time.perf_counter_ns()
        b.open(wire, t)
        for p in ctl:
            b.open(p, t)
        open_us.append((time.perf_counter_ns() - t0) / 1e3)
    assert b.stats["forged"] == 0
    return {
        "seal_p50": statistics.median(seal_us), "seal_p99": pct(seal_us, 0.99), "seal_max": max(seal_us),
        "open_p50": statistics.median(open_us), "open_p99": pct(open_us, 0.99),
        "sigs": a.stats["sealed"] and b.frames_verified / frames,
        "overhead": len(wire) - size,
    }


def bench_seal_sign(frames: int, members: int = 10) -> dict[str, float]:
    """Seal+sign per frame in a room of ``members``: a voice frame (100 B at 50 Hz) sealed with its
    share of the batch signature (``outgoing`` signs when a batch is due), and a signed event
    (Ed25519 per event, bound to epoch, roster hash, generation and time, padded to a bucket).
    Returns p50/p99/max in microseconds, wall clock and this thread's CPU time (which a busy,
    shared machine does not inflate); the gate is p99 <= 1000 us."""
    now = 1_750_000_000.0
    sessions = make_room(members, CipherSuite.AES_128_GCM_SHA256_128, now)
    a, b = sessions[0], sessions[1]
    out: dict[str, float] = {}

    def run(label: str, n: int, make: Callable[[int], tuple[StreamType, bytes, float]]) -> None:
        wall: list[float] = []
        cpu: list[float] = []
        for i in range(n):
            stream, payload, t = make(i)
            w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            w = a.seal(stream, payload, t)
            ctl = a.outgoing(t)
            cpu.append((time.thread_time_ns() - c0) / 1e3)
            wall.append((time.perf_counter_ns() - w0) / 1e3)
            b.open(w, t)
            for p in ctl:
                b.open(p, t)
        for name, xs in (("wall", wall), ("cpu", cpu)):
            out[f"{label}_{name}_p50"] = statistics.median(xs)
            out[f"{label}_{name}_p99"] = pct(xs, 0.99)
            out[f"{label}_{name}_max"] = max(xs)

    run("voice", frames, lambda i: (StreamType.VOICE, bytes(100), now + i / 50))
    t_ev = now + frames / 50
    n_ev = min(frames, 2000)
    run("event", n_ev, lambda i: (StreamType.VOTE if i % 2 else StreamType.GESTURE, b"vote: YES on resolution %d" % i,
                                  t_ev + i * 0.2))
    assert b.stats["forged"] == 0 and not b.alerts
    out["verified"] = b.frames_verified / (frames + n_ev)
    out["events"] = n_ev
    return out


def report_seal_sign(frames: int) -> int:
    r = bench_seal_sign(frames)
    print(f"seal+sign per frame: {frames} voice frames (100 B @ 50 Hz), {r['events']:.0f} signed events; AES-128-GCM, "
          f"10 members; microseconds")
    for label, what in (("voice", "voice frame (batch-signed)"), ("event", "event (signed, bound, padded)")):
        for clock in ("wall", "cpu"):
            print(f"  {what:<32} {clock:<4}  p50 {r[f'{label}_{clock}_p50']:8.1f}  p99 {r[f'{label}_{clock}_p99']:8.1f}"
                  f"  max {r[f'{label}_{clock}_max']:9.1f}")
    print(f"  frames verified by the receiver: {r['verified']:.0%}")
    worst = max(r["voice_wall_p99"], r["event_wall_p99"])
    worst_cpu = max(r["voice_cpu_p99"], r["event_cpu_p99"])
    verdict = "PASS" if worst_cpu <= 1000 else "FAIL"
    print(f"seal+sign p99: wall {worst:.1f} us, CPU {worst_cpu:.1f} us -> target <= 1000 us: {verdict}"
          + ("" if worst <= 1000 else " (wall clock above the target: the machine is busy; CPU time is the code's cost)"))
    return 0 if verdict == "PASS" else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--frames", type=int, default=5000, help="frames per row (default 5000)")
    ap.add_argument("--members", type=int, default=10, help="room size for the rekey row (default 10)")
    ap.add_argument("--seal-sign", action="store_true", help="only the seal+sign per-frame gate (voice and events)")
    args = ap.parse_args()
    if args.seal_sign:
        return report_seal_sign(args.frames)
    rows = [
        ("voice 100 B @50 Hz", StreamType.VOICE, 100, 50.0),
        ("pose 64 B @90 Hz", StreamType.POSE, 64, 90.0),
        ("hands 600 B @90 Hz", StreamType.POSE, 600, 90.0),
    ]
    print(f"E2EE per-frame cost, {args.frames} frames per row (microseconds; seal = encrypt + amortised signing)")
    print(f"{'suite':<28} {'stream':<20} {'seal p50':>9} {'seal p99':>9} {'seal max':>9} {'open p50':>9} {'open p99':>9} {'bytes+':>7} {'verified':>8}")
    worst = 0.0
    for suite in CipherSuite:
        for label, stream, size, rate in rows:
            r = bench_stream(suite, stream, size, rate, args.frames)
            worst = max(worst, r["seal_p99"])
            print(f"{suite.name:<28} {label:<20} {r['seal_p50']:9.1f} {r['seal_p99']:9.1f} {r['seal_max']:9.1f} "
                  f"{r['open_p50']:9.1f} {r['open_p99']:9.1f} {r['overhead']:7d} {r['sigs']:8.0%}")
    now = 1_750_000_000.0
    sessions = make_room(args.members, CipherSuite.AES_128_GCM_SHA256_128, now)
    a = sessions[0]
    rekey = [timed(lambda: a._rotate(now)) for _ in range(20)]
    envelopes = a.outgoing(now)
    for p in envelopes:
        sessions[1].open(p, now)
    ev = [timed(lambda: a.seal(StreamType.GESTURE, b"nod", now)) for _ in range(200)]  # same clock: no stale events
    evw = a.seal(StreamType.VOTE, b"yes", now)
    opened = [timed(lambda: sessions[1].open(a.seal(StreamType.VOTE, b"yes", now), now)) for _ in range(200)]
    print()
    print(f"rekey ({default_kem_suite().name}, {args.members} members): p50 {statistics.median(rekey) / 1e3:.2f} ms, "
          f"envelope {len(envelopes[-1])} B")
    print(f"signed event seal: p50 {statistics.median(ev):.1f} us, p99 {pct(ev, 0.99):.1f} us; "
          f"seal+open p50 {statistics.median(opened):.1f} us; event packet {len(evw)} B")
    verdict = "PASS" if worst <= 1000 else "FAIL"
    print(f"\nworst seal p99 {worst:.1f} us -> target <= 1000 us: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
