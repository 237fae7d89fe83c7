"""Benchmark the E2EE hot path: seal (SFrame encrypt + amortised Ed25519 frame signing) and open
(replay check + decrypt + hash bookkeeping) per frame, per cipher suite and frame size; plus the
cost of a rekey (HPKE to every member) and of a signed event; and the admission of members to a
secured room at the relay, one after the other (invitation check, challenge, proof of possession,
welcome), in the sans-I/O relay core and over TLS on loopback.

    .venv/bin/python tools/bench/crypto.py [--frames 5000] [--members 200] [--rekeys 20] [--admit 200]
        [--relay-admissions 200] [--only relay-admission] [--skip-streams]
    .venv/bin/python tools/bench/crypto.py --seal-sign [--frames 5000]   # only the seal+sign gate

The rekey row: one member's new sender key sealed with HPKE to every other member of a room of
``--members`` (hybrid ML-KEM-768 + X25519 where available) and signed. The admission row: the room
authority admits ``--admit`` members one after the other (open the sealed request, check the
certificate, sign the next epoch, install it, rekey, seal the roster to every member).

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
    ANY_COUNTRY,
    create_delegation_request,
    create_ministry_root,
    issue_delegation,
    verify_certificate,
)
from vrdiplomacy.crypto.packet import StreamType  # noqa: E402
from vrdiplomacy.crypto.roster import Roster  # noqa: E402
from vrdiplomacy.crypto.sframe import CipherSuite  # noqa: E402
from vrdiplomacy.crypto.session import GroupSession, LocalIdentity, SessionConfig  # noqa: E402

ROOM = b"bench-room"


def make_room(n: int, suite: CipherSuite, now: float, exchange: bool = True) -> list[GroupSession]:
    root_key, root = create_ministry_root("Bench Ministry", "FR", now, scope=[ANY_COUNTRY])
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
    for s in sessions if exchange else sessions[:2]:
        s.install_roster(roster, now)
    for s in sessions if exchange else []:
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


def _invitations(n: int, now: float) -> list[object]:
    """``n`` members' admissions to room "bench" from one chair (made before timing: the chair's job)."""
    from vrdiplomacy.crypto.admission import Admission, Invitation

    root_key, root = create_ministry_root("Bench Secretariat", "CH", now - 60, scope=[ANY_COUNTRY])
    ck, ccsr = create_delegation_request("Chair", "CH")
    chair = issue_delegation(ccsr, root_key, root, "chair", now - 60)
    out: list[object] = [Admission(Invitation.create("bench", chair, ck, chair, "chair", now), ck)]
    for i in range(n - 1):
        key, csr = create_delegation_request(f"D{i:03d}", "FR")
        cert = issue_delegation(csr, root_key, root, "delegate", now - 60)
        out.append(Admission(Invitation.create("bench", chair, ck, cert, "delegate", now, f"S{i:03d}"), key))
    return out


def bench_admission_core(n: int) -> dict[str, float]:
    """``n`` admissions in sequence through the sans-I/O relay core: bytes in, bytes out."""
    from vrdiplomacy.net.client_core import ClientCore, ClientSettings, Connected
    from vrdiplomacy.net.relay_core import RelayCore

    now = time.time()
    adms = _invitations(n, now)
    fp = "ab" * 32
    relay = RelayCore(bytes(32), fingerprint=fp, epoch=1, wall_offset=0.0)
    relay_us: list[float] = []
    t_all = time.perf_counter()
    for i, adm in enumerate(adms):
        c = ClientCore(f"m{i}", adm.seat, "bench", ClientSettings(admission=adm), fp)  # type: ignore[attr-defined]
        relay.connection_made(i + 1, now)
        c.connect(now)
        spent = 0.0
        for _ in range(4):
            data = c.to_send(now)
            if not data:
                break
            t0 = time.perf_counter()
            relay.receive_stream(i + 1, data, now)
            out = relay.to_send(now)
            spent += time.perf_counter() - t0
            c.receive(out.streams.get(i + 1, b""), now)
        relay_us.append(spent * 1e6)
        evs = []
        while (ev := c.next_event()) is not None:
            evs.append(ev)
        assert any(isinstance(e, Connected) for e in evs), evs
    total = time.perf_counter() - t_all
    assert relay.counters.admissions == n and len(relay.sessions) == n
    return {"total_s": total, "relay_p50_us": statistics.median(relay_us), "relay_p99_us": pct(relay_us, 0.99)}


def bench_admission_tls(n: int) -> dict[str, float]:
    """``n`` admissions in sequence to a real relay over TLS on loopback (each client stays)."""
    import asyncio
    import contextlib

    from vrdiplomacy.net.client_io import Client
    from vrdiplomacy.net.relay_server import EmbeddedRelay

    adms = _invitations(n, time.time())

    async def run() -> tuple[float, list[float]]:
        each: list[float] = []
        async with EmbeddedRelay() as relay:
            clients = []
            t_all = time.perf_counter()
            for i, adm in enumerate(adms):
                t0 = time.perf_counter()
                c = Client(relay.host, relay.port, relay.fingerprint, f"m{i}", adm.seat, "bench", admission=adm)  # type: ignore[attr-defined]
                await c.start()
                each.append(time.perf_counter() - t0)
                clients.append(c)
            total = time.perf_counter() - t_all
            assert relay.server.core.counters.admissions == n
            for c in clients:
                with contextlib.suppress(Exception):
                    await c.close()
        return total, each

    total, each = asyncio.run(run())
    return {"total_s": total, "p50_ms": statistics.median(each) * 1e3, "p99_ms": pct(each, 0.99) * 1e3}


def admission_rows(n: int) -> None:
    core = bench_admission_core(n)
    print(f"admission of {n} members in sequence, relay core (bytes in/out, no sockets): total {core['total_s']:.2f} s "
          f"(client proof included); relay time per admission p50 {core['relay_p50_us']:.0f} us, p99 {core['relay_p99_us']:.0f} us")
    tls = bench_admission_tls(n)
    print(f"admission of {n} members in sequence, real relay over TLS on loopback: total {tls['total_s']:.2f} s; "
          f"per member p50 {tls['p50_ms']:.1f} ms, p99 {tls['p99_ms']:.1f} ms")


def bench_admission(n: int, now: float) -> tuple[float, float, int]:
    """The authority admits ``n`` members in sequence: total seconds, slowest admission (s), and
    the size of the last sealed roster."""
    from vrdiplomacy.crypto.roster_seal import AuthorityKey, SealedEntry, SealedRoster
    from vrdiplomacy.net.secure_chair import RoomAuthority

    root_key, root = create_ministry_root("Bench Ministry", "FR", now, scope=[ANY_COUNTRY])
    suite = default_kem_suite()

    def ident(name: str, role: str) -> LocalIdentity:
        k, csr = create_delegation_request(name, "FR")
        return LocalIdentity(issue_delegation(csr, root_key, root, role, now), k, KemKeyPair.generate(suite))

    chair = ident("Chair", "chair")
    verified = verify_certificate(chair.certificate, [root], now)
    session = GroupSession(ROOM, chair, [root])
    last = {"size": 0}

    def install(roster: Roster) -> None:
        cur = session.roster
        if cur is None or cur.hash() != roster.hash():
            session.install_roster(roster, now)
        session.outgoing(now)
        last["size"] = len(bytes(SealedRoster.seal(roster, chair.signing_key)))

    announced: list[bytes] = []
    auth = RoomAuthority(ROOM, chair, verified, [root], session, announced.append, install, print)
    auth.start(0, now)
    ak = AuthorityKey.parse(announced[-1])
    requests = []
    for i in range(n):
        m = GroupSession(ROOM, ident(f"D{i}", "delegate"), [root])
        requests.append(bytes(SealedEntry.seal(m.roster_entry(0, "delegate"), ak)))
    times = []
    t0 = time.perf_counter()
    for i, req in enumerate(requests):
        t = time.perf_counter()
        auth.on_entry(i + 1, req, now)
        times.append(time.perf_counter() - t)
    total = time.perf_counter() - t0
    assert session.roster is not None and len(session.roster.members) == n + 1
    return total, max(times), last["size"]


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
    ap.add_argument("--members", type=int, default=200, help="room size for the rekey row (default 200)")
    ap.add_argument("--rekeys", type=int, default=20, help="rekeys timed (default 20)")
    ap.add_argument("--admit", type=int, default=200, help="members admitted in sequence (default 200; 0 skips)")
    ap.add_argument("--skip-streams", action="store_true", help="only the rekey and admission rows")
    ap.add_argument("--relay-admissions", type=int, default=200,
                    help="members admitted at the relay in sequence (default 200; 0: skip)")
    ap.add_argument("--only", choices=("relay-admission",), help="run only these rows")
    ap.add_argument("--seal-sign", action="store_true", help="only the seal+sign per-frame gate (voice and events)")
    args = ap.parse_args()
    if args.seal_sign:
        return report_seal_sign(args.frames)
    if args.only == "relay-admission":
        admission_rows(args.relay_admissions)
        return 0
    rows = [
        ("voice 100 B @50 Hz", StreamType.VOICE, 100, 50.0),
        ("pose 64 B @90 Hz", StreamType.POSE, 64, 90.0),
        ("hands 600 B @90 Hz", StreamType.POSE, 600, 90.0),
    ]
    print(f"E2EE per-frame cost, {args.frames} frames per row (microseconds; seal = encrypt + amortised signing)")
    print(f"{'suite':<28} {'stream':<20} {'seal p50':>9} {'seal p99':>9} {'seal max':>9} {'open p50':>9} {'open p99':>9} {'bytes+':>7} {'verified':>8}")
    worst = 0.0
    for suite in [] if args.skip_streams else CipherSuite:
        for label, stream, size, rate in rows:
            r = bench_stream(suite, stream, size, rate, args.frames)
            worst = max(worst, r["seal_p99"])
            print(f"{suite.name:<28} {label:<20} {r['seal_p50']:9.1f} {r['seal_p99']:9.1f} {r['seal_max']:9.1f} "
                  f"{r['open_p50']:9.1f} {r['open_p99']:9.1f} {r['overhead']:7d} {r['sigs']:8.0%}")
    now = 1_750_000_000.0
    sessions = make_room(args.members, CipherSuite.AES_128_GCM_SHA256_128, now, exchange=False)
    a = sessions[0]
    rekey = [timed(lambda: a._rotate(now)) for _ in range(args.rekeys)]
    envelopes = a.outgoing(now)
    for p in envelopes:
        sessions[1].open(p, now)
    ev = [timed(lambda: a.seal(StreamType.GESTURE, b"nod", now)) for _ in range(200)]  # same clock: no stale events
    evw = a.seal(StreamType.VOTE, b"yes", now)
    opened = [timed(lambda: sessions[1].open(a.seal(StreamType.VOTE, b"yes", now), now)) for _ in range(200)]
    print()
    print(f"rekey ({default_kem_suite().name}, {args.members} members, {len(rekey)} runs): "
          f"p50 {statistics.median(rekey) / 1e3:.1f} ms, p99 {pct(rekey, 0.99) / 1e3:.1f} ms, envelope {len(envelopes[-1])} B")
    print(f"signed event seal: p50 {statistics.median(ev):.1f} us, p99 {pct(ev, 0.99):.1f} us; "
          f"seal+open p50 {statistics.median(opened):.1f} us; event packet {len(evw)} B")
    if args.admit:
        total, slowest, size = bench_admission(args.admit, now)
        print(f"admission of {args.admit} members in sequence ({default_kem_suite().name}): {total:.1f} s total, "
              f"slowest {slowest * 1e3:.0f} ms; last sealed roster {size} B")
    if args.relay_admissions:
        print()
        admission_rows(args.relay_admissions)
    verdict = "PASS" if worst <= 1000 else "FAIL"
    print(f"\nworst seal p99 {worst:.1f} us -> target <= 1000 us: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
