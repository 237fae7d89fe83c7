"""Relay load generator: N simulated delegates on loopback against a relay subprocess.

    python tools/bench/relay_load.py --clients 200 --speakers 3 --duration 15

The relay runs as ``python -m vrdiplomacy relay`` in its own process; its CPU time is read from
``/proc/<pid>/stat`` over the measurement window. The simulated delegates are sans-I/O
:class:`~vrdiplomacy.net.client_core.ClientCore` instances in this process, each with its own
TLS control connection (heartbeats included) on one asyncio loop. Their media shares one
non-blocking UDP socket (the relay keeps a return address per session, so it does the same
work per datagram as with 200 sockets; here the load generator stays cheap enough not to be the
bottleneck it was with one socket and one wake-up per client).

Each delegate sends head + hand poses at 20 Hz (keyframe every 10 frames) in 20 phase groups
2.5 ms apart; speakers send 20 ms voice frames whose first 8 bytes carry the send time. Seats
are a hemicycle (rows of 40, 8 to 16 m from the rostrum). Reported: relay CPU, relay-internal
forwarding latency (receive to ``sendto``, measured by the relay), end-to-end latency (send to
receive, including both kernels' queues and this process's own delay), per-client downlink
(UDP payload + 28 bytes UDP/IPv4 header per datagram), delivery and drops.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

import corelink
from corelink import CoreLinks, free_port

from vrdiplomacy.errors import CryptoError
from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import ClientCore
from vrdiplomacy.net.hop import DOWNLINK, HopOpener
from vrdiplomacy.net.pose import PoseEncoder
from vrdiplomacy.net.stats import LatencyHistogram
from vrdiplomacy.scene.math3d import Pose

CLK_TCK = os.sysconf("SC_CLK_TCK")
UDP_IP_OVERHEAD = 28
POSE_GROUPS = 20  # phase groups of pose senders (50 ms / 20 = 2.5 ms apart)
RING = 256  # pose send times kept per client (by sequence number)
POSE_SAMPLE = 8  # every n-th client times the poses it receives (all clients count them)
_ENTRY = wire.ENTRY_HDR.unpack_from
_CTR = wire.MEDIA_HEADER.unpack_from
ANC_SIZE = socket.CMSG_SPACE(16)  # room for one timestamp (SO_TIMESTAMPNS) per datagram


class SimClient:
    """One simulated delegate: its protocol core, TLS link, pre-encoded poses and receive tallies."""

    def __init__(self, index: int, core: ClientCore, seat_pos: tuple[float, float, float], yaw: float) -> None:
        self.index = index
        self.core = core
        self.seat_pos = seat_pos
        self.yaw = yaw
        self.rx_bytes = 0
        self.rx_dgrams = 0
        self.rx_voice = 0
        self.rx_poses = 0
        self.pose_sent = array("q", bytes(8 * RING))
        self.frames: list[tuple[bool, tuple[int, int, int], bytes]] = []
        self.seq = 0
        self.opener: HopOpener | None = None  # downlink opener (key read from the Welcome)
        self.ctl = wire.FrameDecoder()  # control frames, read until the Welcome
        self.sampled = True  # opens its bundles and times their entries (loadgen: only some guests)
        self.rx_bad = 0
        self.writer: asyncio.StreamWriter | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.lost = ""


def seat_position(i: int) -> tuple[tuple[float, float, float], float]:
    row, col = divmod(i, 40)
    r = 8.0 + 2.0 * row
    a = math.pi * (col + 0.5) / 40
    x, z = -r * math.cos(a), r * math.sin(a)
    return (x, 0.0, z), math.degrees(math.atan2(x, z))


def proc_cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of process ``pid``."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) / CLK_TCK, int(parts[12]) / CLK_TCK


def run_queue_wait(pid: int) -> float:
    """Seconds the threads of process ``pid`` spent runnable but waiting for a CPU
    (``/proc/<pid>/task/*/schedstat``, second field): the share of latency due to a busy machine."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for t in tasks:
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[1])
        except (OSError, ValueError, IndexError):
            pass
    return total * 1e-9


def udp_rcvbuf_errors() -> int:
    """Datagrams the kernel dropped for full receive buffers (all UDP sockets of the machine)."""
    try:
        with open("/proc/net/snmp") as f:
            rows = [line.split() for line in f if line.startswith("Udp:")]
        return int(rows[1][rows[0].index("RcvbufErrors")])
    except (OSError, ValueError, IndexError):
        return 0


class Bench(CoreLinks):
    """Simulated delegates on TLS control links (:class:`corelink.CoreLinks`) and one shared UDP socket."""

    join_batch = 25  # links connected at once, each batch welcomed within join_timeout
    join_timeout = 30.0
    ready_timeout = 10.0  # for every guest's media binding

    def __init__(self, args: argparse.Namespace, host: str, port: int, fingerprint: str) -> None:
        super().__init__(host, port, fingerprint)
        self.args = args
        self.sims: list[SimClient] = []
        self.by_id: dict[int, SimClient] = {}
        self.voice_e2e = LatencyHistogram()
        self.pose_e2e = LatencyHistogram()
        self.loop_lag = LatencyHistogram()
        self.measuring = False
        self.window_ns = (0, 1 << 62)  # voice frames sent in this window count as delivered
        self.voice_sent = 0
        self.pose_sent = 0
        self.send_failed = 0
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.setblocking(False)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self.udp.bind(("127.0.0.1", 0))
        self.relay_udp: tuple[str, int] | None = None

    # ------------------------------------------------------------ control links

    def flush(self, sim: SimClient) -> None:
        super().flush(sim)
        self._send_dgrams(sim)

    def on_data(self, sim: SimClient, data: bytes) -> None:
        if sim.opener is None:  # watch for the Welcome: its media key opens downlink bundles here
            sim.ctl.feed(data)
            while (frame := sim.ctl.next_frame()) is not None:
                if frame[1] == wire.Welcome.TYPE:
                    sim.opener = HopOpener(wire.Welcome.parse(frame).media_key, DOWNLINK)

    def make_sims(self) -> list[SimClient]:
        """The simulated participants (delegates in the hemicycle)."""
        sims = []
        for i in range(self.args.clients):
            pos, yaw = seat_position(i)
            sims.append(SimClient(i, ClientCore(f"delegate-{i:03d}", f"seat-{i:03d}", "bench"), pos, yaw))
        return sims

    def joined(self, sim: SimClient) -> None:
        """``sim`` is welcomed (a bench notes where its media goes)."""
        if self.relay_udp is None:
            self.relay_udp = (self.host, sim.core.udp_port)

    async def join_all(self) -> list[asyncio.Task[None]]:
        """Connect every participant, bind their media, wait until all are bound."""
        self.sims = self.make_sims()
        self.prepare_poses()  # before any link is up: no heartbeat waits for it
        tasks = await self.connect_all(self.sims, self.join_batch, self.join_timeout)
        for s in self.sims:
            self.by_id[s.core.client_id] = s
            self.joined(s)
        self.loop.add_reader(self.udp.fileno(), self._on_readable)
        for s in self.sims:
            self.flush(s)  # first bind datagram now that the reader is up
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline and not all(s.core.media_ready for s in self.sims):
            await asyncio.sleep(0.05)
        return tasks

    # ------------------------------------------------------------ media

    def _bundles(self) -> Iterator[tuple[SimClient, bytes, list[tuple[int, int, bytes]]]]:
        """Drain the media socket (up to 4096 datagrams). Bind acks go to their cores; while
        measuring, every bundle counts as its guest's downlink, and for each guest that opens its
        bundles (``sampled``) this yields the guest, the opened bundle and the datagram's
        ancillary data (its kernel receive time where the socket asks for it)."""
        recvmsg = self.udp.recvmsg
        by_id = self.by_id
        now = self.loop.time()
        measuring = self.measuring
        for _ in range(4096):
            try:
                data, anc, _flags, _addr = recvmsg(2048, ANC_SIZE)
            except OSError:  # BlockingIOError: drained
                break
            if len(data) < wire.MEDIA_HEADER_SIZE + 16:
                continue
            _v, kind, cid, ctr = _CTR(data)
            sim = by_id.get(cid)
            if sim is None:
                continue
            if kind != wire.DG_BUNDLE or sim.opener is None:
                sim.core.receive_datagram(data, now)  # bind acks
                continue
            if measuring:
                sim.rx_bytes += len(data) + UDP_IP_OVERHEAD
                sim.rx_dgrams += 1
            if not sim.sampled:
                continue
            try:
                pt = sim.opener.open(data, ctr)
            except CryptoError:
                sim.rx_bad += 1
                continue
            if measuring:
                yield sim, pt, anc

    def _on_readable(self) -> None:
        """Count (and time) the entries of each bundle."""
        by_id = self.by_id
        clock = time.monotonic_ns
        vh, ph = self.voice_e2e, self.pose_e2e
        w0, w1 = self.window_ns
        for sim, pt, _anc in self._bundles():
            cid = sim.core.client_id
            t = clock()
            timed = sim.index % POSE_SAMPLE == 0
            pos, n = 0, len(pt)
            while pos < n:
                k, src, ln = _ENTRY(pt, pos)
                pos += 7
                if src != cid:
                    if k == wire.DG_VOICE:
                        sent = int.from_bytes(pt[pos + 3 : pos + 11], "big")
                        if w0 <= sent < w1:
                            sim.rx_voice += 1
                            vh.add((t - sent) * 1e-9)
                    else:
                        sim.rx_poses += 1
                        if timed:
                            other = by_id.get(src)
                            if other is not None:
                                sent = other.pose_sent[((pt[pos + 1] << 8) | pt[pos + 2]) % RING]
                                if sent:
                                    ph.add((t - sent) * 1e-9)
                pos += ln

    def media_target(self, sim: SimClient) -> tuple[str, int] | None:
        """Where ``sim``'s datagrams go (its relay's UDP address, once known)."""
        return self.relay_udp

    def _send_dgrams(self, sim: SimClient) -> None:
        target = self.media_target(sim)
        if target is None:
            return
        send = self.udp.sendto
        for d in sim.core.datagrams_to_send(self.loop.time()):
            try:
                send(d, target)
            except OSError:
                self.send_failed += 1

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

    def send_poses(self, group: int) -> None:
        clock = time.monotonic_ns
        for sim in self.sims[group::POSE_GROUPS]:
            sim.seq = (sim.seq + 1) & 0xFFFF
            key, cm, payload = sim.frames[sim.seq % 20]
            sim.pose_sent[sim.seq % RING] = clock()
            sim.core.send_pose_frame(wire.PoseFrame(key, sim.seq, cm, payload))
            self._send_dgrams(sim)
            if self.measuring:
                self.pose_sent += 1

    def send_voice(self, speakers: list[SimClient]) -> None:
        level = wire.level_byte(-20.0, True)
        pad = bytes(self.args.voice_bytes - 8)
        for sim in speakers:
            sim.core.send_voice(level, time.monotonic_ns().to_bytes(8, "big") + pad)
            self._send_dgrams(sim)
            if self.measuring:
                self.voice_sent += 1

    async def drive(self, seconds: float) -> None:
        """Send poses (20 Hz in phase groups) and voice (50 Hz) for ``seconds``."""
        loop = self.loop
        start = loop.time() + 0.01
        end = start + seconds
        speakers = self.sims[: self.args.speakers]
        stop: asyncio.Future[None] = loop.create_future()

        def periodic(period: float, phase: float, fn: Callable[..., None], *fargs: Any) -> None:
            k = [0]

            def tick() -> None:
                now = loop.time()
                if now >= end:
                    if not stop.done():
                        stop.set_result(None)
                    return
                fn(*fargs)
                k[0] += 1
                loop.call_at(max(start + phase + k[0] * period, now), tick)

            loop.call_at(start + phase, tick)

        for g in range(POSE_GROUPS):
            periodic(0.05, g * 0.05 / POSE_GROUPS, self.send_poses, g)
        if self.args.stagger_voice:
            for k, sim in enumerate(speakers):
                periodic(0.02, 0.02 * k / max(1, len(speakers)), self.send_voice, [sim])
        else:
            periodic(0.02, 0.0, self.send_voice, speakers)
        lag = self.loop_lag
        probe_at = [start]

        def probe() -> None:
            now = loop.time()
            lag.add(now - probe_at[0])
            if now < end:
                probe_at[0] = now + 0.005
                loop.call_at(probe_at[0], probe)

        loop.call_at(start, probe)
        await stop
        await asyncio.sleep(0.1)

    async def close(self, tasks: list[asyncio.Task[None]]) -> None:  # type: ignore[override]
        self.loop.remove_reader(self.udp.fileno())
        await super().close(self.sims, tasks)
        self.udp.close()


def read_stats(path: Path) -> dict[str, Any]:
    for _ in range(50):
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            time.sleep(0.05)
    return {}


def set_autogroup_nice(pid: int | str, nice: int) -> None:
    """Give process ``pid``'s scheduler autogroup (its session) the niceness ``nice``: with
    ``sched_autogroup`` Linux shares the CPU between sessions first, and a process's own niceness
    counts only inside its session. (No effect where autogroups are off; negative needs root.)"""
    try:
        with open(f"/proc/{pid}/autogroup", "w") as f:
            f.write(str(nice))
    except OSError:
        pass


def prepare_process(args: argparse.Namespace) -> None:
    """Apply --nice to this process and its scheduler autogroup (Linux groups processes by session)."""
    if args.nice:
        os.nice(args.nice)
        set_autogroup_nice("self", args.nice)


def start_relay(args: argparse.Namespace, tmp: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    return corelink.start_relay(port, tmp / "state", ["--stats-file", str(tmp / "stats.json"), "--last-n", str(args.last_n),
                                                      "--handshakes-per-address", "1100"],
                                cwd=ROOT, preexec=lambda: prepare_process(args))


async def main_async(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="vrd-relay-load-"))
    port = free_port()
    stats_path = tmp / "stats.json"
    relay, fp = start_relay(args, tmp, port)
    load0 = os.getloadavg()
    try:
        bench = Bench(args, "127.0.0.1", port, fp)
        print(f"joining {args.clients} clients ...", file=sys.stderr)
        tasks = await bench.join_all()
        ready = sum(s.core.media_ready for s in bench.sims)
        gc.collect()
        gc.freeze()  # long-lived set-up objects need no more scanning
        print(f"{ready}/{args.clients} clients ready; warming up {args.warmup:g} s, measuring {args.duration:g} s ...", file=sys.stderr)
        await bench.drive(args.warmup)
        stats0 = read_stats(stats_path)
        cpu0, wall0 = proc_cpu(relay.pid), time.monotonic()
        kdrop0 = udp_rcvbuf_errors()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        bench.measuring = True
        bench.window_ns = (time.monotonic_ns(), 1 << 62)
        bench.loop_lag = LatencyHistogram()
        await bench.drive(args.duration)
        bench.window_ns = (bench.window_ns[0], time.monotonic_ns())
        cpu1, wall1 = proc_cpu(relay.pid), time.monotonic()
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        load1 = os.getloadavg()
        rx_bytes = [s.rx_bytes for s in bench.sims]
        await asyncio.sleep(1.2)  # voice frames of the window still on their way count as delivered
        bench.measuring = False
        kdrop1 = udp_rcvbuf_errors()
        stats1 = read_stats(stats_path)
        await bench.close(tasks)
    finally:
        relay.terminate()
        try:
            relay.wait(5)
        except subprocess.TimeoutExpired:
            relay.kill()
    wall = wall1 - wall0
    n = len(bench.sims)
    expected_voice = bench.voice_sent * (n - 1)
    got_voice = sum(s.rx_voice for s in bench.sims)
    down = [b * 8 / wall / 1000 for b in rx_bytes]
    c0, c1 = stats0.get("counters", {}), stats1.get("counters", {})
    dgrams = c1.get("datagrams_out", 0) - c0.get("datagrams_out", 0)
    drops = {k: c1.get(k, 0) - c0.get(k, 0) for k in c1 if k.startswith("dropped_") and c1.get(k, 0) - c0.get(k, 0)}
    vl = stats1.get("voice_latency", {})
    pl = stats1.get("pose_latency", {})
    relay_user = (cpu1[0] - cpu0[0]) / wall * 100
    relay_sys = (cpu1[1] - cpu0[1]) / wall * 100
    relay_cpu = relay_user + relay_sys
    gen_cpu = ((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)) / wall * 100
    ms = lambda h: f"{h.percentile(50) * 1e3:.2f} / {h.percentile(99) * 1e3:.2f} ms"
    rows = [
        ("clients / speakers", f"{n} / {args.speakers}", ""),
        ("voice alignment", "staggered" if args.stagger_voice else "same tick", ""),
        ("measured window", f"{wall:.1f} s", ""),
        ("load average before / after", f"{load0[0]:.2f} / {load1[0]:.2f}", ""),
        ("niceness of relay and generator", f"{args.nice:+d}", ""),
        ("relay CPU (% of one core)", f"{relay_cpu:.1f}", "<= 25"),
        ("  of which user / kernel", f"{relay_user:.1f} / {relay_sys:.1f}", ""),
        ("load generator CPU (% of one core)", f"{gen_cpu:.1f}", ""),
        ("load generator loop lag p50 / p99", ms(bench.loop_lag), ""),
        ("relay voice forwarding p50 / p99", f"{vl.get('p50_ms', 0):.2f} / {vl.get('p99_ms', 0):.2f} ms", "p99 <= 5 ms"),
        ("relay pose forwarding p50 / p99", f"{pl.get('p50_ms', 0):.2f} / {pl.get('p99_ms', 0):.2f} ms", "(held to bundle; conservative)"),
        ("voice end-to-end p50 / p99", ms(bench.voice_e2e), ""),
        ("pose end-to-end p50 / p99", ms(bench.pose_e2e), ""),
        ("downlink per client mean / max", f"{sum(down) / max(1, n):.0f} / {max(down, default=0):.0f} kbit/s", "<= 600"),
        ("relay datagrams in / out per s", f"{(c1.get('datagrams_in', 0) - c0.get('datagrams_in', 0)) / wall:.0f} / {dgrams / wall:.0f}", ""),
        ("voice frames delivered", f"{got_voice}/{expected_voice} ({100 * got_voice / max(1, expected_voice):.2f} %)", ""),
        ("poses received per client /s", f"{sum(s.rx_poses for s in bench.sims) / max(1, n) / wall:.0f}", ""),
        ("relay drops in window", ", ".join(f"{k}={v}" for k, v in drops.items()) or "none", ""),
        ("kernel UDP receive-buffer drops (whole machine)", str(kdrop1 - kdrop0), ""),
        ("relay send errors / generator send errors", f"{stats1.get('send_errors', 0)} / {bench.send_failed}", ""),
        ("bundles failing to open at the generator", str(sum(s.rx_bad for s in bench.sims)), ""),
        ("control links lost", str(bench.links_lost), ""),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'metric':<{w0}}  {'value':<{w1}}  target")
    print("-" * (w0 + w1 + 12))
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:<{w1}}  {c}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "relay": stats1}, indent=1))
    summary = {"clients": n, "relay_cpu": relay_cpu, "gen_cpu": gen_cpu, "gen_lag_p99_ms": bench.loop_lag.percentile(99) * 1e3,
               "voice_p99_ms": vl.get("p99_ms", 0), "in_pps": (c1.get("datagrams_in", 0) - c0.get("datagrams_in", 0)) / wall,
               "out_pps": dgrams / wall, "bundle_bytes": sum(rx_bytes) / max(1, sum(s.rx_dgrams for s in bench.sims)) - UDP_IP_OVERHEAD - 32,
               "delivered_pct": 100 * got_voice / max(1, expected_voice), "load": load1[0]}
    if args.with_floor:
        summary.update(run_floor(args, summary))
        print(f"floor (same forwarding, right after): {summary['floor_cpu']:.1f} % of a core; relay / floor = "
              f"{summary['relay_cpu'] / max(0.1, summary['floor_cpu']):.2f}")
    args.summary = summary
    return 0


def run_floor(args: argparse.Namespace, r: dict[str, Any]) -> dict[str, Any]:
    """``relay_floor.py`` with this run's forwarding: its receivers, uplink rate, bundle size and
    bundles per tick (the relay's datagrams out per second over 50 ticks and N receivers)."""
    out = Path(tempfile.mkdtemp(prefix="vrd-floor-")) / "floor.json"
    bursts = max(1, min(10, round(r["out_pps"] / (50 * r["clients"]))))
    cmd = ["nice", "-n", str(max(0, args.nice)), sys.executable, str(Path(__file__).with_name("relay_floor.py")),
           "--receivers", str(r["clients"]), "--bursts", str(bursts), "--uplink-pps", f"{r['in_pps']:.0f}",
           "--bundle-bytes", str(max(64, min(1200, round(r["bundle_bytes"])))), "--duration", f"{args.duration:g}",
           "--json", str(out)]
    subprocess.run(cmd, check=True, cwd=str(ROOT), stdout=subprocess.DEVNULL)
    f = json.loads(out.read_text())
    return {"floor_cpu": f["cpu"], "floor_p99_ms": f["p99"], "floor_bursts": bursts}


def add_traffic_options(p: argparse.ArgumentParser) -> None:
    """The load's options shared by the relay load benches (this one, federation.py, loadgen.py)."""
    p.add_argument("--speakers", type=int, default=3, help="simultaneous speakers (default 3)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring (default 2)")
    p.add_argument("--voice-bytes", type=int, default=90, help="voice payload bytes per 20 ms frame (default 90)")
    p.add_argument("--last-n", type=int, default=4, help="relay last-N (default 4)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=200, help="simulated delegates (1-250, default 200)")
    p.add_argument("--duration", type=float, default=15.0, help="measured seconds (max 120, default 15)")
    add_traffic_options(p)
    p.add_argument("--stagger-voice", action="store_true", help="spread speakers' frames over the 20 ms period")
    p.add_argument("--json", default="", help="also write results as JSON to this file")
    p.add_argument("--nice", type=int, default=0,
                   help="niceness increment for the relay and this process (negative needs root; for a machine "
                        "busy with other work, to measure the relay as if it had its cores; reported in the table)")
    p.add_argument("--with-floor", action="store_true",
                   help="right after the run, measure tools/bench/relay_floor.py with the same forwarding (receivers, "
                        "uplink datagrams/s, bundle size, bundles per tick) and report relay / floor")
    p.add_argument("--table", default="", help="comma-separated client counts (such as 100,200,400): one run each "
                                               "with --with-floor, then a table with the ratio column")
    args = p.parse_args()
    sizes = [int(x) for x in args.table.split(",") if x.strip()] if args.table else [args.clients]
    if not all(1 <= c <= 400 for c in sizes) or not 0 <= args.speakers <= min(sizes):
        p.error("--clients must be 1..400 and --speakers 0..clients")
    if not 0 < args.duration <= 120 or not 8 <= args.voice_bytes <= 1000:
        p.error("--duration must be in (0, 120] and --voice-bytes in [8, 1000]")
    try:
        prepare_process(args)
    except PermissionError:
        p.error("--nice below 0 needs root")
    if not args.table:
        return asyncio.run(main_async(args))
    args.with_floor = True
    results = []
    for c in sizes:
        args.clients = c
        asyncio.run(main_async(args))
        results.append(args.summary)
    print()
    print("| N | relay CPU % | floor CPU % | relay / floor | relay voice p99 ms | floor p99 ms | generator CPU % "
          "| generator lag p99 ms | delivered % | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['clients']} | {r['relay_cpu']:.1f} | {r['floor_cpu']:.1f} | {r['relay_cpu'] / max(0.1, r['floor_cpu']):.2f} "
              f"| {r['voice_p99_ms']:.2f} | {r['floor_p99_ms']:.2f} | {r['gen_cpu']:.1f} | {r['gen_lag_p99_ms']:.2f} "
              f"| {r['delivered_pct']:.2f} | {r['load']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
