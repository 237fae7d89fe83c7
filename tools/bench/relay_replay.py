"""Relay core CPU without sockets: the load generator's traffic replayed into an in-process RelayCore.

    python tools/bench/relay_replay.py --clients 200 --speakers 3 --duration 6 [--stagger-voice] [--profile]

Same delegates, seats, pose and voice schedule as ``relay_load.py`` (poses at 20 Hz in 20 phase
groups, voice at 50 Hz), pre-sealed by the client cores before timing; the relay core is fed
with a fake clock in 0.5 ms steps and its CPU time (``time.process_time``) is reported per
simulated second. Socket I/O is not included (``relay_load.py`` measures the whole relay).
``process_time`` counts every thread of the process, so helper threads that burn CPU (such as
OpenBLAS workers spinning after a matrix product) show here as they do in the relay's CPU.
``NOGC=1`` turns the garbage collector off for the timed part (to tell its share apart).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

from relay_load import POSE_GROUPS, Bench, SimClient, seat_position  # also puts the repository on sys.path

from vrdiplomacy.net import wire  # noqa: E402
from vrdiplomacy.net.client_core import ClientCore  # noqa: E402


def replay(args: argparse.Namespace) -> int:
    """Replay the same traffic into an in-process RelayCore (fake clock, no sockets): its CPU cost."""
    from vrdiplomacy.net.interest import InterestSettings
    from vrdiplomacy.net.relay_core import RelayCore
    from vrdiplomacy.net.relay_state import RelaySettings

    relay = RelayCore(bytes(range(32)), RelaySettings(interest=InterestSettings(last_n=args.last_n)), udp_port=9)
    sims: list[SimClient] = []
    now = 1000.0
    for i in range(args.clients):
        pos, yaw = seat_position(i)
        sim = SimClient(i, ClientCore(f"delegate-{i:03d}", f"seat-{i:03d}", "bench"), pos, yaw)
        sims.append(sim)
        relay.connection_made(i + 1, now)
        sim.core.connect(now)
    addr = {i + 1: ("127.0.0.1", 20000 + i) for i in range(len(sims))}
    by_addr = {addr[i + 1]: s for i, s in enumerate(sims)}

    def pump(t: float) -> int:
        moved = 1
        n_out = 0
        while moved:
            moved = 0
            for i, sim in enumerate(sims):
                if t >= (sim.core.timer() or 1e18):
                    sim.core.handle_timer(t)
                data = sim.core.to_send(t)
                if data:
                    relay.receive_stream(i + 1, data, t)
                    moved = 1
                for d in sim.core.datagrams_to_send(t):
                    relay.receive_datagram(d, addr[i + 1], t)
            out = relay.to_send(t)
            for cid, data in out.streams.items():
                sims[cid - 1].core.receive(data, t)
                moved = 1
            for d, a, _tv, _tp in out.datagrams:
                by_addr[a].core.receive_datagram(d, t)
                n_out += 1
            for sim in sims:
                while sim.core.next_event() is not None:
                    pass
        return n_out

    for _ in range(10):
        pump(now)
        now += 0.05
    ready = sum(s.core.media_ready for s in sims)
    bench = Bench.__new__(Bench)
    bench.sims = sims
    Bench.prepare_poses(bench)
    # pre-seal the whole schedule (client work, not timed)
    step = 0.0005
    steps = int(round(args.duration / step))
    sched: list[list[tuple[bytes, tuple[str, int]]]] = [[] for _ in range(steps)]
    level = wire.level_byte(-20.0, True)
    pad = bytes(args.voice_bytes - 8)
    speakers = sims[: args.speakers]
    for k in range(steps):
        for g in range(POSE_GROUPS):
            if k % 100 == g * 100 // POSE_GROUPS:  # 50 ms period in 0.5 ms steps
                for sim in sims[g::POSE_GROUPS]:
                    sim.seq = (sim.seq + 1) & 0xFFFF
                    key, cm, payload = sim.frames[sim.seq % 20]
                    sim.core.send_pose_frame(wire.PoseFrame(key, sim.seq, cm, payload))
                    sched[k] += [(d, addr[sim.index + 1]) for d in sim.core.datagrams_to_send(0.0)]
        for j, sim in enumerate(speakers):
            if k % 40 == (40 * j // len(speakers) if args.stagger_voice else 0):
                sim.core.send_voice(level, pad + pad[:8])
                sched[k] += [(d, addr[sim.index + 1]) for d in sim.core.datagrams_to_send(0.0)]
    prof = None
    if args.profile:
        import cProfile
        prof = cProfile.Profile()
    t0 = now
    n_in = n_out = 0
    recv = relay.receive_datagram
    gc.collect()
    gc.freeze()
    if os.environ.get("NOGC"):
        gc.disable()
    c0 = time.process_time()
    per_s: list[float] = []
    mark = c0
    if prof is not None:
        prof.enable()
    for k in range(steps):
        t = t0 + k * step
        if k and k % 2000 == 0:  # each simulated second
            c = time.process_time()
            per_s.append(c - mark)
            mark = c
        batch = sched[k]
        if t >= relay.timer():
            relay.handle_timer(t)
        elif not batch:
            continue
        for d, a in batch:
            recv(d, a, t)
        n_in += len(batch)
        n_out += len(relay.to_send(t).datagrams)
    if prof is not None:
        prof.disable()
    cpu = time.process_time() - c0
    per_s.sort()
    print(f"{ready}/{len(sims)} clients ready; {args.duration:g} s of traffic replayed into RelayCore "
          f"({'staggered' if args.stagger_voice else 'same-tick'} voice, {args.speakers} speakers)")
    print(f"datagrams in / out per s: {n_in / args.duration:.0f} / {n_out / args.duration:.0f}")
    print(f"relay core CPU: {cpu / args.duration * 1e3:.1f} ms per second of traffic on average, "
          f"{per_s[0] * 1e3 if per_s else 0:.1f} in the cheapest second "
          f"({cpu / max(1, n_in + n_out) * 1e6:.2f} us per datagram in or out; no socket I/O)")
    c = relay.counters
    print(f"entries forwarded per s: voice {c.voice_forwarded / args.duration:.0f}, poses {c.poses_forwarded / args.duration:.0f} "
          f"({c.poses_forwarded / max(1, c.poses_in):.1f} receivers per pose); downlink bytes per s {c.bytes_out / args.duration:.0f}")
    if prof is not None:
        import pstats
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=200, help="simulated delegates (1-500, default 200)")
    p.add_argument("--speakers", type=int, default=3, help="simultaneous speakers (default 3)")
    p.add_argument("--duration", type=float, default=6.0, help="simulated seconds (1-60, default 6)")
    p.add_argument("--voice-bytes", type=int, default=90, help="voice payload bytes per 20 ms frame (default 90)")
    p.add_argument("--last-n", type=int, default=4, help="relay last-N (default 4)")
    p.add_argument("--stagger-voice", action="store_true", help="spread speakers' frames over the 20 ms period")
    p.add_argument("--profile", action="store_true", help="also print a cProfile of the relay core (slows it down)")
    args = p.parse_args()
    if not 1 <= args.clients <= 500 or not 0 <= args.speakers <= args.clients:
        p.error("--clients must be 1..500 and --speakers 0..clients")
    if not 1 <= args.duration <= 60 or not 8 <= args.voice_bytes <= 1000:
        p.error("--duration must be in [1, 60] and --voice-bytes in [8, 1000]")
    return replay(args)


if __name__ == "__main__":
    sys.exit(main())
