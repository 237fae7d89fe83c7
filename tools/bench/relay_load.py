"""Relay load generator: N simulated delegates on loopback against a relay subprocess.

    python tools/bench/relay_load.py --clients 200 --speakers 3 --duration 10

The relay runs as ``python -m vrdiplomacy relay`` in its own process; its CPU time is read from
``/proc/<pid>/stat`` over the measurement window. All clients live in this process on one asyncio
loop with raw UDP sockets: each sends head + hand poses at 20 Hz (keyframe every 10 frames);
speakers send 20 ms voice frames with 90-byte payloads whose first 8 bytes carry the send time.
Seats are a hemicycle (rows of 40, 8 to 16 m from the rostrum). Reports relay CPU, voice and pose
latency (relay-internal receive-to-sendto, and end to end), per-client downlink and drops.
"""

from __future__ import annotations

import argparse
import gc
import asyncio
import json
import math
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from vrdiplomacy.net import wire  # noqa: E402
from vrdiplomacy.net.client_io import Client  # noqa: E402
from vrdiplomacy.net.pose import PoseEncoder  # noqa: E402
from vrdiplomacy.net.stats import LatencyHistogram  # noqa: E402
from vrdiplomacy.scene.math3d import Pose  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
UDP_IP_OVERHEAD = 28


@dataclass
class SimClient:
    index: int
    client: Client
    seat_pos: tuple[float, float, float]
    yaw: float
    rx_bytes: int = 0
    rx_voice: int = 0
    rx_poses: int = 0
    pose_sent: array = field(default_factory=lambda: array("q", bytes(8 * 65536)))  # not GC-tracked
    frames: list[tuple[bool, tuple[int, int, int], bytes]] = field(default_factory=list)
    seq: int = 0


def seat_position(i: int) -> tuple[tuple[float, float, float], float]:
    row, col = divmod(i, 40)
    r = 8.0 + 2.0 * row
    a = math.pi * (col + 0.5) / 40
    x, z = -r * math.cos(a), r * math.sin(a)
    return (x, 0.0, z), math.degrees(math.atan2(x, z))


def proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / CLK_TCK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sims: list[SimClient] = []
        self.by_id: dict[int, SimClient] = {}
        self.voice_e2e = LatencyHistogram()
        self.pose_e2e = LatencyHistogram()
        self.measuring = False
        self.voice_sent = 0
        self.pose_sent = 0
        self.send_failed = 0
        self.loop_lag = LatencyHistogram()

    def sink_for(self, sim: SimClient):  # type: ignore[no-untyped-def]
        by_id, vh, ph = self.by_id, self.voice_e2e, self.pose_e2e
        clock = time.monotonic_ns

        def sink(kind: int, source: int, inner: bytes) -> None:
            if not self.measuring:
                return
            sim.rx_bytes += len(inner) + 7
            if kind == wire.DG_VOICE:
                sim.rx_voice += 1
                vh.add((clock() - int.from_bytes(inner[3:11], "big")) * 1e-9)
            else:
                sim.rx_poses += 1
                src = by_id.get(source)
                if src is not None:
                    t = src.pose_sent[int.from_bytes(inner[1:3], "big")]
                    if t:
                        ph.add((clock() - t) * 1e-9)

        return sink

    async def join_all(self, host: str, port: int, fp: str) -> None:
        async def one(i: int) -> SimClient:
            pos, yaw = seat_position(i)
            c = Client(host, port, fp, f"delegate-{i:03d}", f"seat-{i:03d}", "bench", connect_timeout=30.0)
            c.raw_media = True
            sim = SimClient(i, c, pos, yaw)
            c.core.media_sink = self.sink_for(sim)
            await c.start()
            return sim

        n = self.args.clients
        for start in range(0, n, 25):
            batch = await asyncio.gather(*(one(i) for i in range(start, min(n, start + 25))))
            self.sims.extend(batch)
        for s in self.sims:
            self.by_id[s.client.client_id] = s
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(s.client.core.media_ready for s in self.sims):
            await asyncio.sleep(0.05)

    def prepare_poses(self) -> None:
        """Pre-encode one second of head + hand motion per client (20 frames, 2 keyframes)."""
        for sim in self.sims:
            enc = PoseEncoder()
            x, y, z = sim.seat_pos
            for k in range(20):
                t = k * 0.05
                bob = 0.02 * math.sin(t * 2 * math.pi + sim.index)
                head = Pose.from_yaw((x, 1.2 + bob, z), sim.yaw + 10 * math.sin(t * 2 * math.pi))
                left = Pose.from_yaw((x - 0.25, 1.0 + bob, z - 0.2), sim.yaw)
                right = Pose.from_yaw((x + 0.25, 1.0, z - 0.2 + bob), sim.yaw)
                payload, key, _ = enc.encode(head, left, right)
                cm = (round(x * 100), round((1.2 + bob) * 100), round(z * 100))
                sim.frames.append((key, cm, payload))
            sim.seq = (sim.index * 7) % 20  # spread keyframes over time, as independent clients would

    def send_poses(self, group: int, groups: int) -> None:
        clock = time.monotonic_ns
        udp_send = self.udp_send
        for sim in self.sims[group::groups]:
            sim.seq = (sim.seq + 1) & 0xFFFF
            key, cm, payload = sim.frames[sim.seq % 20]
            sim.pose_sent[sim.seq] = clock()
            core = sim.client.core
            core.send_pose_frame(wire.PoseFrame(key, sim.seq, cm, payload))
            udp_send(sim)
            if self.measuring:
                self.pose_sent += 1

    def udp_send(self, sim: SimClient) -> None:
        c = sim.client
        sock = c._udp
        for d in c.core.datagrams_to_send(0.0):
            if sock is not None:
                try:
                    sock.sendto(d, (c.host, c.core.udp_port))
                except OSError:
                    self.send_failed += 1

    def send_voice(self, speakers: list[SimClient]) -> None:
        level = wire.level_byte(-20.0, True)
        pad = bytes(self.args.voice_bytes - 8)
        for sim in speakers:
            sim.client.core.send_voice(level, time.monotonic_ns().to_bytes(8, "big") + pad)
            self.udp_send(sim)
            if self.measuring:
                self.voice_sent += 1

    async def drive(self, seconds: float) -> None:
        """Send poses (20 Hz, 5 phase groups) and voice (50 Hz) for ``seconds``."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        end = start + seconds
        speakers = self.sims[: self.args.speakers]
        stop = loop.create_future()

        def periodic(period: float, phase: float, fn, *fargs) -> None:  # type: ignore[no-untyped-def]
            k = [0]

            def tick() -> None:
                now = loop.time()
                if now >= end:
                    if not stop.done():
                        stop.set_result(None)
                    return
                fn(*fargs)
                k[0] += 1
                nxt = start + phase + k[0] * period
                loop.call_at(max(nxt, now), tick)

            loop.call_at(start + phase, tick)

        groups = 5
        for g in range(groups):
            periodic(0.05, g * 0.01, self.send_poses, g, groups)
        if self.args.stagger_voice:
            for k, sim in enumerate(speakers):
                periodic(0.02, 0.02 * k / max(1, len(speakers)), self.send_voice, [sim])
        else:
            periodic(0.02, 0.0, self.send_voice, speakers)
        lag = self.loop_lag

        def probe() -> None:
            now = loop.time()
            lag.add(now - probe_at[0])
            if now < end:
                probe_at[0] = now + 0.005
                loop.call_at(probe_at[0], probe)

        probe_at = [start]
        loop.call_at(start, probe)
        await stop
        await asyncio.sleep(0.1)


def read_stats(path: Path) -> dict:  # type: ignore[type-arg]
    for _ in range(50):
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            time.sleep(0.05)
    return {}


async def main_async(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="vrd-relay-load-"))
    port = free_port()
    stats_path = tmp / "stats.json"
    relay = subprocess.Popen(
        [sys.executable, "-m", "vrdiplomacy", "-q", "relay", "--listen", f"127.0.0.1:{port}", "--state-dir", str(tmp / "state"),
         "--stats-file", str(stats_path), "--last-n", str(args.last_n)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(ROOT),
        preexec_fn=(lambda: os.nice(args.nice)) if args.nice else None,
    )
    try:
        fp = ""
        assert relay.stdout is not None
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20:
            line = relay.stdout.readline()
            if not line:
                break
            if "fingerprint" in line:
                fp = line.rsplit(" ", 1)[1].strip()
                break
        if not fp:
            print("relay did not start", file=sys.stderr)
            return 1
        bench = Bench(args)
        print(f"joining {args.clients} clients ...", file=sys.stderr)
        await bench.join_all("127.0.0.1", port, fp)
        ready = sum(s.client.core.media_ready for s in bench.sims)
        bench.prepare_poses()
        gc.collect()
        gc.freeze()  # long-lived set-up objects need no more scanning
        print(f"{ready}/{args.clients} clients ready; warming up {args.warmup:g} s, measuring {args.duration:g} s ...", file=sys.stderr)
        await bench.drive(args.warmup)
        stats0 = read_stats(stats_path)
        cpu0, wall0 = proc_cpu(relay.pid), time.monotonic()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        bench.measuring = True
        bench.loop_lag = LatencyHistogram()
        await bench.drive(args.duration)
        bench.measuring = False
        cpu1, wall1 = proc_cpu(relay.pid), time.monotonic()
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.sleep(1.2)
        stats1 = read_stats(stats_path)
        for s in bench.sims:
            await s.client.close(leave=False)
    finally:
        relay.terminate()
        try:
            relay.wait(5)
        except subprocess.TimeoutExpired:
            relay.kill()
    wall = wall1 - wall0
    n = len(bench.sims)
    listeners = n - 1
    expected_voice = bench.voice_sent * listeners
    got_voice = sum(s.rx_voice for s in bench.sims)
    down = sorted((s.rx_bytes + 0) * 8 / wall / 1000 for s in bench.sims)
    # datagram overhead: header + tag + UDP/IP per received bundle (from relay counters)
    c0, c1 = stats0.get("counters", {}), stats1.get("counters", {})
    dgrams = c1.get("datagrams_out", 0) - c0.get("datagrams_out", 0)
    overhead_kbps = dgrams * (wire.MEDIA_HEADER_SIZE + 16 + UDP_IP_OVERHEAD) * 8 / wall / 1000 / max(1, n)
    down = [d + overhead_kbps for d in down]
    drops = {k: c1.get(k, 0) - c0.get(k, 0) for k in c1 if k.startswith("dropped_") and c1.get(k, 0) - c0.get(k, 0)}
    vl = stats1.get("voice_latency", {})
    pl = stats1.get("pose_latency", {})
    relay_cpu = (cpu1 - cpu0) / wall * 100
    gen_cpu = ((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)) / wall * 100
    rows = [
        ("clients / speakers", f"{n} / {args.speakers}", ""),
        ("voice alignment", "staggered" if args.stagger_voice else "same tick", ""),
        ("measured window", f"{wall:.1f} s", ""),
        ("relay CPU (% of one core)", f"{relay_cpu:.1f}", "<= 25"),
        ("load generator CPU (% of one core)", f"{gen_cpu:.1f}", ""),
        ("load generator loop lag p50 / p99", f"{bench.loop_lag.percentile(50)*1e3:.2f} / {bench.loop_lag.percentile(99)*1e3:.2f} ms", ""),
        ("relay voice forwarding p50 / p99", f"{vl.get('p50_ms', 0):.2f} / {vl.get('p99_ms', 0):.2f} ms", "p99 <= 5 ms"),
        ("relay pose forwarding p50 / p99", f"{pl.get('p50_ms', 0):.2f} / {pl.get('p99_ms', 0):.2f} ms", ""),
        ("voice end-to-end p50 / p99", f"{bench.voice_e2e.percentile(50)*1e3:.2f} / {bench.voice_e2e.percentile(99)*1e3:.2f} ms", ""),
        ("pose end-to-end p50 / p99", f"{bench.pose_e2e.percentile(50)*1e3:.2f} / {bench.pose_e2e.percentile(99)*1e3:.2f} ms", ""),
        ("downlink per client mean / max", f"{sum(down)/max(1,len(down)):.0f} / {max(down, default=0):.0f} kbit/s", "<= 600"),
        ("relay datagrams out /s", f"{dgrams / wall:.0f}", ""),
        ("voice frames delivered", f"{got_voice}/{expected_voice} ({100*got_voice/max(1,expected_voice):.2f} %)", ""),
        ("poses received per client /s", f"{sum(s.rx_poses for s in bench.sims)/max(1,n)/wall:.0f}", ""),
        ("relay drops in window", ", ".join(f"{k}={v}" for k, v in drops.items()) or "none", ""),
        ("relay send errors (total)", str(stats1.get("send_errors", 0)), ""),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'metric':<{w0}}  {'value':<{w1}}  target")
    print("-" * (w0 + w1 + 12))
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:<{w1}}  {c}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "relay": stats1}, indent=1))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=200, help="simulated delegates (1-200, default 200)")
    p.add_argument("--speakers", type=int, default=3, help="simultaneous speakers (default 3)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds (max 120, default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring (default 2)")
    p.add_argument("--voice-bytes", type=int, default=90, help="voice payload bytes per 20 ms frame (default 90)")
    p.add_argument("--last-n", type=int, default=4, help="relay last-N (default 4)")
    p.add_argument("--stagger-voice", action="store_true", help="spread speakers' frames over the 20 ms period")
    p.add_argument("--json", default="", help="also write results as JSON to this file")
    p.add_argument("--nice", type=int, default=0,
                   help="niceness for the relay and this process (negative needs root; use on a busy machine)")
    args = p.parse_args()
    if not 1 <= args.clients <= 200 or not 0 <= args.speakers <= args.clients:
        p.error("--clients must be 1..200 and --speakers 0..clients")
    if not 0 < args.duration <= 120 or not 8 <= args.voice_bytes <= 1000:
        p.error("--duration must be in (0, 120] and --voice-bytes in [8, 1000]")
    if args.nice:
        try:
            os.nice(args.nice)
        except PermissionError:
            p.error("--nice below 0 needs root")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
