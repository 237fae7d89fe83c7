"""Federation load: N simulated guests of one room spread over relay nodes joined by NATS.

    python tools/bench/federation.py --clients 200 --nodes 2 --duration 10
    python tools/bench/federation.py --clients 200 --nodes 1 --duration 10   # the same, one relay, no NATS

Starts a 3-node NATS cluster with JetStream on loopback (``relay --nats-config``'s writer, random
ports, a temp folder) and ``--nodes`` relay processes (``vrdiplomacy relay --nats``); with
``--nodes 1`` one plain relay (no NATS) for comparison. Guests are the sans-I/O clients of
``tools/bench/relay_load.py`` (one TLS link each, one shared UDP socket per node, poses at 20 Hz
and ``--speakers`` voices at 50 Hz with their send time in the first 8 bytes); guest ``i`` joins
node ``i % nodes``. Reported: per-guest downlink, voice end-to-end latency split into same-node and
cross-node pairs, delivery, relay CPU per node and NATS server CPU (``/proc``), NATS messages and
bytes the relays published. Bounded: at most 1000 guests and 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests" / "federation"))

from corelink import free_port
from relay_load import (
    Bench,
    SimClient,
    add_traffic_options,
    proc_cpu,
    read_stats,
    run_queue_wait,
    seat_position,
    set_autogroup_nice,
)

from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import ClientCore
from vrdiplomacy.net.stats import LatencyHistogram

_ENTRY = wire.ENTRY_HDR.unpack_from
_CTR = wire.MEDIA_HEADER.unpack_from


class FedBench(Bench):
    """relay_load's generator with each guest on its own node (``sim.node``)."""

    def __init__(self, args: argparse.Namespace, nodes: list[tuple[int, str]]) -> None:
        super().__init__(args, "127.0.0.1", nodes[0][0], nodes[0][1])
        self.nodes = nodes
        self.node_of: dict[int, int] = {}  # client id -> node index
        self.udp_targets: list[tuple[str, int] | None] = [None] * len(nodes)
        self.voice_cross = LatencyHistogram()
        self.voice_local = LatencyHistogram()

    join_timeout = 60.0
    ready_timeout = 20.0

    def address(self, sim: SimClient) -> tuple[str, int]:
        return "127.0.0.1", self.nodes[sim.node][0]  # type: ignore[attr-defined]

    def make_sims(self) -> list[SimClient]:
        return [self.guest(i) for i in range(self.args.clients)]

    def guest(self, i: int) -> SimClient:
        """Guest ``i`` of the reception, on node ``i % nodes``."""
        pos, yaw = seat_position(i)
        sim = SimClient(i, ClientCore(f"guest-{i:04d}", f"seat-{i:04d}", "reception"), pos, yaw)
        sim.node = i % len(self.nodes)  # type: ignore[attr-defined]
        return sim

    def joined(self, sim: SimClient) -> None:
        node = sim.node  # type: ignore[attr-defined]
        self.node_of[sim.core.client_id] = node
        self.udp_targets[node] = ("127.0.0.1", sim.core.udp_port)
        self.relay_udp = self.udp_targets[0]

    def media_target(self, sim: SimClient) -> tuple[str, int] | None:
        return self.udp_targets[getattr(sim, "node", 0)]

    def _on_readable(self) -> None:
        """Voice latency of same-node and cross-node pairs (by the sender's node)."""
        node_of = self.node_of
        clock = time.monotonic_ns
        w0, w1 = self.window_ns
        for sim, pt, _anc in self._bundles():
            cid = sim.core.client_id
            t = clock()
            here = node_of.get(cid)
            pos, n = 0, len(pt)
            while pos < n:
                k, src, ln = _ENTRY(pt, pos)
                pos += 7
                if src != cid:
                    if k == wire.DG_VOICE:
                        sent = int.from_bytes(pt[pos + 3:pos + 11], "big")
                        if w0 <= sent < w1:
                            sim.rx_voice += 1
                            (self.voice_local if node_of.get(src) == here else self.voice_cross).add((t - sent) * 1e-9)
                    else:
                        sim.rx_poses += 1
                pos += ln



_PROFILED = """import cProfile, runpy, signal, sys
pr = cProfile.Profile()
signal.signal(signal.SIGUSR1, lambda *a: pr.enable())
signal.signal(signal.SIGUSR2, lambda *a: (pr.disable(), pr.dump_stats(PATH)))
sys.argv[0] = "vrdiplomacy"
runpy.run_module("vrdiplomacy", run_name="__main__", alter_sys=True)
"""


def start_relay(args: argparse.Namespace, tmp: Path, n: int, cluster: Any) -> tuple[subprocess.Popen[str], int, str, Path]:
    port = free_port()
    stats = tmp / f"stats-{n}.json"
    # --profile: the relay under cProfile from SIGUSR1 to SIGUSR2 (the measured window), which writes
    # relay-N.prof in the logs folder (read with `python -m pstats`)
    prof = ["-c", _PROFILED.replace("PATH", repr(str(tmp / f"relay-{n}.prof")))] if getattr(args, "profile", False) else []
    cmd = ["nice", "-n", str(args.nice), sys.executable, *(prof or ["-m", "vrdiplomacy"]), "-q", "relay", "--listen", f"127.0.0.1:{port}",
           "--state-dir", str(tmp / f"relay-{n}"), "--stats-file", str(stats), "--last-n", str(args.last_n),
           "--handshakes-per-address", "1100"]
    if cluster is not None:
        d = cluster.dir
        urls = cluster.urls[n - 1:] + cluster.urls[:n - 1]
        cmd += ["--shared-dir", str(d / "shared"), "--nats", ",".join(urls), "--node", f"relay-{n}",
                "--nats-user", f"relay-{n}", "--nats-password-file", str(d / f"relay-{n}.password")]
    log = tmp / f"relay-{n}.log"  # a file, not a pipe: a relay never blocks on its own output
    with open(log, "w") as out:
        root = getattr(args, "relay_root", "") or str(ROOT)  # another checkout's relay, for before/after runs
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True, cwd=root,
                             env=dict(os.environ, PYTHONPATH=root), start_new_session=True)
    set_autogroup_nice(p.pid, args.nice)
    end = time.monotonic() + 30
    while time.monotonic() < end and p.poll() is None:
        text = log.read_text()
        if "fingerprint" in text and (cluster is None or "\nfederation:" in text):
            fp = text.split("fingerprint", 1)[1].split("\n", 1)[0].rsplit(" ", 1)[1].strip()
            return p, port, fp, stats
        time.sleep(0.1)
    p.kill()
    raise SystemExit(f"relay {n} did not start: {log.read_text()[-500:]}")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="vrd-fed-bench-"))
    cluster = None
    relays: list[tuple[subprocess.Popen[str], int, str, Path]] = []
    try:
        if args.nodes > 1:
            from fedcluster import NatsCluster

            cluster = NatsCluster(tmp, nice=args.nice)
            await asyncio.to_thread(cluster.start)
        for n in range(1, args.nodes + 1):
            relays.append(start_relay(args, tmp, n, cluster))
        bench = FedBench(args, [(port, fp) for _p, port, fp, _s in relays])
        print(f"joining {args.clients} guests over {args.nodes} node(s) ...", file=sys.stderr)
        tasks = await bench.join_all()
        ready = sum(s.core.media_ready for s in bench.sims)
        gc.collect()
        gc.freeze()
        print(f"{ready}/{args.clients} ready; warming up {args.warmup:g} s, measuring {args.duration:g} s", file=sys.stderr)
        await bench.drive(args.warmup)
        pids = [p.pid for p, *_ in relays]
        npids = [p.pid for p in cluster.procs if p is not None] if cluster is not None else []
        stats0 = [read_stats(s) for *_x, s in relays]
        cpu0 = [sum(proc_cpu(pid)) for pid in pids + npids]
        rq0 = [run_queue_wait(pid) for pid in [os.getpid(), *pids, *npids]]
        t0 = time.monotonic()
        ru0 = os.times()
        bench.loop_lag = LatencyHistogram()
        bench.measuring = True
        bench.window_ns = (time.monotonic_ns(), 1 << 62)
        await bench.drive(args.duration)
        bench.window_ns = (bench.window_ns[0], time.monotonic_ns())
        wall = time.monotonic() - t0
        ru1 = os.times()
        cpu1 = [sum(proc_cpu(pid)) for pid in pids + npids]
        rq1 = [run_queue_wait(pid) for pid in [os.getpid(), *pids, *npids]]
        rx = [s.rx_bytes for s in bench.sims]
        await asyncio.sleep(1.2)
        bench.measuring = False
        stats1 = [read_stats(s) for *_x, s in relays]
        await bench.close(tasks)
    finally:
        stop_all(relays, cluster)
    cpu = [(b - a) / wall * 100 for a, b in zip(cpu0, cpu1)]
    rq = [round((b - a) / wall * 1000, 1) for a, b in zip(rq0, rq1)]
    n = len(bench.sims)
    down = [b * 8 / wall / 1000 for b in rx]
    expected = bench.voice_sent * (n - 1)
    got = sum(s.rx_voice for s in bench.sims)
    fed = []
    for a, b in zip(stats0, stats1):
        fa, fb = a.get("federation", {}), b.get("federation", {})
        fed.append({k: fb.get(k, 0) - fa.get(k, 0) for k in ("publish_msgs", "publish_bytes", "batches_out", "entries_out",
                                                             "batches_in", "entries_in")})
    ms = lambda h: (round(h.percentile(50) * 1e3, 2), round(h.percentile(99) * 1e3, 2))
    return {
        "guests": n, "nodes": args.nodes, "speakers": args.speakers, "ready": ready, "window_s": round(wall, 1),
        "downlink_kbit_mean": round(sum(down) / max(1, n)), "downlink_kbit_max": round(max(down, default=0)),
        "voice_same_node_p50_p99_ms": ms(bench.voice_local), "voice_cross_node_p50_p99_ms": ms(bench.voice_cross),
        "voice_delivered_pct": round(100 * got / max(1, expected), 2),
        "relay_cpu_pct": [round(c, 1) for c in cpu[:len(relays)]], "nats_cpu_pct": [round(c, 1) for c in cpu[len(relays):]],
        "generator_cpu_pct": round(((ru1.user + ru1.system) - (ru0.user + ru0.system)) / wall * 100, 1),
        "generator_loop_lag_p50_p99_ms": ms(bench.loop_lag),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "run_queue_wait_ms_per_s_gen_relays_nats": rq,
        "relay_loop_lag_p50_p99_ms": [(round(s.get("federation", {}).get("loop_lag", {}).get("p50_ms", 0), 2),
                                       round(s.get("federation", {}).get("loop_lag", {}).get("p99_ms", 0), 2)) for s in stats1],
        "nats_published_per_s": [round(f["publish_msgs"] / wall) for f in fed],
        "nats_kbyte_per_s": [round(f["publish_bytes"] / wall / 1000) for f in fed],
        "entries_per_batch": [round(f["entries_out"] / max(1, f["batches_out"]), 1) for f in fed],
        "nats_voice_transit_p50_p99_ms": [(round(s.get("federation", {}).get("voice_transit", {}).get("p50_ms", 0), 2),
                                           round(s.get("federation", {}).get("voice_transit", {}).get("p99_ms", 0), 2))
                                          for s in stats1],
        "relay_voice_forwarding_p50_p99_ms": [(round(s.get("voice_latency", {}).get("p50_ms", 0), 2),
                                               round(s.get("voice_latency", {}).get("p99_ms", 0), 2)) for s in stats1],
        "room_link_published_dropped": [(s.get("federation", {}).get("room_link", {}).get("published", "-"),
                                         s.get("federation", {}).get("room_link", {}).get("dropped", "-")) for s in stats1],
        "links_lost": bench.links_lost,
        "logs": str(tmp),
    }


def stop_all(relays: list[tuple[subprocess.Popen[str], int, str, Path]], cluster: Any) -> None:
    """Stop the relay nodes (SIGTERM, then SIGKILL after 5 s) and the NATS cluster."""
    for p, *_ in relays:
        p.terminate()
    for p, *_ in relays:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
    if cluster is not None:
        cluster.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=200, help="simulated guests (1-1000, default 200)")
    p.add_argument("--nodes", type=int, default=2, help="relay nodes (1: one relay without NATS; default 2)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds (max 60, default 10)")
    add_traffic_options(p)
    p.add_argument("--nice", type=int, default=5, help="niceness of the relays (default 5)")
    p.add_argument("--json", default="", help="also write the result as JSON to this file")
    p.add_argument("--relay-root", default="", help="run the relays from this checkout (such as `git archive` of "
                                                    "another commit), for a before/after comparison")
    args = p.parse_args()
    args.stagger_voice = False
    if not 1 <= args.clients <= 1000 or not 1 <= args.nodes <= 3 or not 0 <= args.speakers <= args.clients:
        p.error("--clients 1..1000, --nodes 1..3, --speakers 0..clients")
    if not 0 < args.duration <= 60:
        p.error("--duration must be in (0, 60]")
    os.nice(args.nice)
    report(asyncio.run(run(args)), args.json)
    return 0


def report(res: dict[str, Any], json_path: str = "") -> None:
    """Print the results one per line (and write them as JSON to ``json_path`` if given)."""
    w = max(map(len, res))
    for k, v in res.items():
        print(f"{k:<{w}}  {v}")
    if json_path:
        Path(json_path).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    raise SystemExit(main())
