"""Multi-process load generator: up to 1000 simulated guests of one reception on relay nodes over NATS.

    python tools/bench/loadgen.py --clients 1000 --nodes 2 --workers 4 --duration 10
    python tools/bench/loadgen.py --clients 1000 --nodes 1 --workers 4 --duration 10   # one relay, no NATS
    python tools/bench/loadgen.py --clients 200 --nodes 2 --workers 2 --open-every 1  # every guest opens its bundles
    python tools/bench/loadgen.py --clients 1000 --nodes 2 --compare-one-node         # then one relay, side by side

The set-up is ``tools/bench/federation.py``'s (a 3-node NATS cluster with JetStream on loopback and
``vrdiplomacy relay --nats`` processes; guest ``i`` joins node ``i % nodes``), but the guests are
spread over ``--workers`` processes (guest ``i`` in worker ``i % workers``), each one asyncio loop
with its guests' TLS links and one UDP socket per worker, so one process's event loop is not
what limits 1000 links. The workers start their load at one agreed ``CLOCK_MONOTONIC`` instant
and measure the same window. A voice frame carries its send time (``CLOCK_REALTIME``, written by
the speaker's worker right before sealing and sending it); its latency runs to the moment the
kernel put the bundle in the receiving guest's socket (``SO_TIMESTAMPNS``, the same clock), so a
worker's own wait for a CPU before it reads is not counted: the guests stand for delegates on
machines of their own. ``voice_read_same_cross_p99_ms`` is the same figure to the moment the
worker read the frame, for comparison. For the same reason the workers run at the lowest priority
(``--worker-nice``, default 19, applied to their scheduler autogroup too): on the shared machine
they must not take the CPU from the relays and NATS servers being measured; their CPU, loop lag
and run-queue wait are reported, and ``voice_delivered_pct`` shows whether they kept up.

``voice_send_stall_p50_p99_max_ms`` is the time from the send time written in a voice frame to its
``sendto`` (a generator losing its CPU while sealing would add it to the frame's latency; it stays
under 0.1 ms at p99). Every ``--open-every``-th guest *of each node* opens its bundles, so both
nodes' guests are sampled (with two nodes and an even ``--open-every``, every n-th guest were all
on node 0). The relays keep their histograms since they started, joins included; the loop lag,
forwarding and NATS transit figures here are of the measured window (from two snapshots of their
bins; a relay of an older checkout without bins: since its start).

Every guest counts its downlink (UDP payload + 28 bytes of UDP/IPv4 header per datagram); every
``--open-every``-th guest also opens its bundles (ChaCha20-Poly1305, as a client does) and times
the voice frames in them (a voice frame carries its send time and the sender's node), the others
only count bytes: opening 100 000 bundles a second would take the generator more CPU than the
relays it measures. Reported: per-guest downlink, voice end-to-end p50/p99 for same-node and
cross-node pairs, delivery (of the guests that open), relay CPU per node, NATS server CPU, and,
so that a saturated generator is told apart from a slow relay, each worker's CPU and event-loop
lag and the run-queue wait (``/proc/<pid>/task/*/schedstat``: time runnable but not running) of
every process of the run. Bounded: at most 1000 guests, 8 workers and 60 s.

On a shared machine the generator may offer less than the nominal load (its workers wait for a
CPU, or a starved relay reads late and the kernel drops): ``uplink_handled_pct`` is the share of
the nominal uplink (poses at 20 Hz, voice at 50 Hz) the relays received and handled, and ``relay_cpu_us_per_dgram_in``/``_out`` the relay CPU per datagram,
which compares two runs (``--relay-root``: before/after) where CPU per second would follow the
load each happened to get. ``uptime_before`` and ``load_average_1min`` (at the end) say how busy
the machine was. ``--profile`` writes each relay's cProfile of the measured window.

``--realtime PRIO`` (root; a diagnostic) runs the relays as ``SCHED_RR`` at PRIO and the NATS servers
one above: the machine is saturated (the workers take every cycle left), and with niceness alone a
relay still waits 10-13 % of its time for a CPU behind the other relay and the NATS servers;
``--nats-nice`` sets the NATS servers' niceness apart from the relays'.

Every worker, relay and NATS server runs in its own session. Linux (``sched_autogroup``) shares
the CPU between sessions first and by niceness only within one: processes left in the session of
the shell that started the bench share one session's part of a busy machine, which starved the
generator and the NATS servers of earlier runs (run-queue waits of 0.2 to 0.9 s per second).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from federation import ROOT, FedBench, report, start_relay, stop_all
from relay_load import (
    UDP_IP_OVERHEAD,
    SimClient,
    add_traffic_options,
    proc_cpu,
    read_stats,
    run_floor,
    run_queue_wait,
    set_autogroup_nice,
)

from vrdiplomacy.net import wire
from vrdiplomacy.net.stats import BINS, LatencyHistogram

_ENTRY = wire.ENTRY_HDR.unpack_from
_CTR = wire.MEDIA_HEADER.unpack_from
_SCM_TIMESTAMPNS = getattr(socket, "SCM_TIMESTAMPNS", 35)  # Linux: SO_TIMESTAMPNS == SCM_TIMESTAMPNS == 35
_TIMESPEC = struct.Struct("@qq").unpack_from


def hist_out(h: LatencyHistogram) -> dict[str, Any]:
    return {"c": {i: c for i, c in enumerate(h.counts) if c}, "n": h.n, "t": h.total}


def hist_in(d: dict[str, Any]) -> LatencyHistogram:
    h = LatencyHistogram()
    for i, c in d["c"].items():
        h.counts[min(int(i), BINS)] += int(c)
    h.n, h.total = int(d["n"]), float(d["t"])
    return h


# ---------------------------------------------------------------- worker


class WorkerBench(FedBench):
    """One worker's share of the guests (``indices``); only ``sampled`` guests open their bundles."""

    def __init__(self, args: argparse.Namespace, nodes: list[tuple[int, str]], indices: list[int]) -> None:
        super().__init__(args, nodes)
        self.indices = indices
        self.tx_voice: dict[int, int] = {}
        # voice latency to the moment the guest's worker read the frame (includes the generator's own waits)
        self.read_local, self.read_cross = LatencyHistogram(), LatencyHistogram()
        self.send_stall = LatencyHistogram()

    ready_timeout = 60.0
    join_timeout = 120.0

    def make_sims(self) -> list[SimClient]:
        self.join_batch = self.args.join_batch
        sims = [self.guest(i) for i in self.indices]
        nodes = len(self.nodes)
        for sim in sims:
            # every open_every-th guest of each node (guest i is on node i % nodes): with an even open_every
            # and two nodes, i % open_every == 0 sampled node 0 only, so cross-node meant node 1 -> node 0 alone
            sim.sampled = (sim.index // nodes) % self.args.open_every == 0
        return sims

    async def join_all(self) -> list[asyncio.Task[None]]:
        self.udp.setsockopt(socket.SOL_SOCKET, _SCM_TIMESTAMPNS, 1)  # kernel receive time of each datagram
        return await super().join_all()

    def send_voice(self, speakers: list[SimClient]) -> None:
        level = wire.level_byte(-20.0, True)
        pad = bytes(self.args.voice_bytes - 9)
        for sim in speakers:
            node = getattr(sim, "node", 0)
            t = time.time_ns()
            sim.core.send_voice(level, t.to_bytes(8, "big") + bytes((node,)) + pad)
            stall = time.time_ns() - t
            self._send_dgrams(sim)
            if self.measuring:
                # from the send time written in the frame to its sendto: a generator that loses its CPU in
                # between (sealing) adds that wait to the frame's measured latency
                self.send_stall.add(stall * 1e-9)
                self.voice_sent += 1
                self.tx_voice[sim.index] = self.tx_voice.get(sim.index, 0) + 1

    def _on_readable(self) -> None:
        """Voice latency to the guest's socket (kernel receive time) and to the worker's read."""
        clock = time.time_ns
        w0, w1 = self.window_ns
        for sim, pt, anc in self._bundles():
            cid = sim.core.client_id
            t = clock()
            arrived = t
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == _SCM_TIMESTAMPNS and len(cdata) >= 16:
                    sec, nsec = _TIMESPEC(cdata)
                    arrived = sec * 1_000_000_000 + nsec
            here = sim.node  # type: ignore[attr-defined]
            pos, n = 0, len(pt)
            while pos < n:
                k, src, ln = _ENTRY(pt, pos)
                pos += 7
                if src != cid:
                    if k == wire.DG_VOICE and ln >= 12:
                        sent = int.from_bytes(pt[pos + 3:pos + 11], "big")
                        if w0 <= sent < w1:
                            sim.rx_voice += 1
                            cross = pt[pos + 11] != here
                            (self.voice_cross if cross else self.voice_local).add((arrived - sent) * 1e-9)
                            (self.read_cross if cross else self.read_local).add((t - sent) * 1e-9)
                    else:
                        sim.rx_poses += 1
                pos += ln


async def worker_main(cfg: dict[str, Any]) -> None:
    args = argparse.Namespace(**cfg["args"])
    nodes = [tuple(x) for x in cfg["nodes"]]
    indices = list(cfg["indices"])
    args.speakers = sum(1 for i in indices if i < cfg["speakers"])  # the first sims are the speakers
    bench = WorkerBench(args, nodes, indices)  # type: ignore[arg-type]
    tasks = await bench.join_all()
    gc.collect()
    gc.freeze()
    loop = asyncio.get_running_loop()
    print(json.dumps({"ready": sum(s.core.media_ready for s in bench.sims), "of": len(bench.sims)}), flush=True)
    line = await loop.run_in_executor(None, sys.stdin.readline)
    go = json.loads(line)
    t0_ns = int(go["t0_ns"])
    warm, dur = float(go["warmup"]), float(go["duration"])
    await asyncio.sleep(max(0.0, (t0_ns - time.monotonic_ns()) * 1e-9))
    await bench.drive(warm)
    w0 = time.time_ns()
    bench.window_ns = (w0, 1 << 62)
    bench.loop_lag = LatencyHistogram()
    c0 = os.times()
    bench.measuring = True
    await bench.drive(dur)
    c1 = os.times()
    w1 = time.time_ns()
    bench.window_ns = (w0, w1)
    wall = (w1 - w0) * 1e-9
    rx = [(s.index, s.rx_bytes) for s in bench.sims]
    await asyncio.sleep(1.2)  # frames of the window still on their way count as delivered
    bench.measuring = False
    res = {
        "wall": wall,
        "cpu_pct": ((c1.user + c1.system) - (c0.user + c0.system)) / wall * 100,
        "rx_bytes": rx,
        "sampled": [s.index for s in bench.sims if s.sampled],  # type: ignore[attr-defined]
        "rx_voice_sampled": sum(s.rx_voice for s in bench.sims if s.sampled),  # type: ignore[attr-defined]
        "tx_voice": bench.tx_voice,
        "voice_sent": bench.voice_sent,
        "voice_local": hist_out(bench.voice_local),
        "voice_cross": hist_out(bench.voice_cross),
        "read_local": hist_out(bench.read_local),
        "read_cross": hist_out(bench.read_cross),
        "loop_lag": hist_out(bench.loop_lag),
        "send_stall": hist_out(bench.send_stall),
        "rx_bad": sum(s.rx_bad for s in bench.sims),
        "links_lost": bench.links_lost,
        "send_failed": bench.send_failed,
    }
    print(json.dumps(res), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # "close"
    await bench.close(tasks)


# ---------------------------------------------------------------- orchestrator


def spawn_worker(args: argparse.Namespace, w: int, nodes: list[tuple[int, str]]) -> subprocess.Popen[str]:
    cfg = {"args": {"voice_bytes": args.voice_bytes, "join_batch": args.join_batch, "open_every": args.open_every, "room": "reception", "last_n": args.last_n,
                    "stagger_voice": False, "speakers": 0, "clients": args.clients},
           "nodes": nodes, "indices": list(range(w, args.clients, args.workers)), "speakers": args.speakers}
    p = subprocess.Popen(["nice", "-n", str(args.worker_nice), sys.executable, __file__, "--worker", json.dumps(cfg)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT),
                         env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         start_new_session=True)  # its own scheduler autogroup, as each relay and NATS server
    # with sched_autogroup the CPU is shared between sessions first, and a process's own niceness counts only
    # inside its session: the worker's session gets the same niceness (no effect where autogroups are off)
    set_autogroup_nice(p.pid, args.worker_nice)
    return p


def set_realtime(pid: int, prio: int) -> None:
    """SCHED_RR at ``prio`` for every thread of ``pid`` (``--realtime``: root only; Linux keeps 5 % of
    each second for other tasks, so a runaway process cannot take the machine)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setscheduler(int(tid), os.SCHED_RR, os.sched_param(prio))
        except OSError as e:
            raise SystemExit(f"--realtime: cannot set SCHED_RR on {pid}/{tid}: {e}") from None


def read_line(p: subprocess.Popen[str], what: str) -> dict[str, Any]:
    assert p.stdout is not None
    line = p.stdout.readline()
    if not line:
        raise SystemExit(f"worker {p.pid} ended before {what}")
    return dict(json.loads(line))


def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="vrd-loadgen-"))
    uptime0 = " ".join(f"{x:.2f}" for x in os.getloadavg())  # the machine's load before this run
    cluster = None
    relays: list[tuple[subprocess.Popen[str], int, str, Path]] = []
    workers: list[subprocess.Popen[str]] = []
    try:
        if args.nodes > 1:
            sys.path.insert(0, str(ROOT / "tests" / "federation"))
            from fedcluster import NatsCluster

            nats_nice = args.nice if args.nats_nice is None else args.nats_nice
            cluster = NatsCluster(tmp, nice=nats_nice)
            cluster.start()
            for proc in cluster.procs:
                if proc is not None:
                    set_autogroup_nice(proc.pid, nats_nice)
        for n in range(1, args.nodes + 1):
            relays.append(start_relay(args, tmp, n, cluster))
        if args.realtime:
            for p in relays:
                set_realtime(p[0].pid, args.realtime)
            for proc in cluster.procs if cluster is not None else []:
                if proc is not None:  # one above the relays: a message between the nodes never waits for a fan-out
                    set_realtime(proc.pid, min(99, args.realtime + 1))
        nodes = [(port, fp) for _p, port, fp, _s in relays]
        print(f"joining {args.clients} guests over {args.nodes} node(s) from {args.workers} workers ...", file=sys.stderr)
        workers = [spawn_worker(args, w, nodes) for w in range(args.workers)]
        ready = [read_line(p, "joining") for p in workers]
        n_ready = sum(r["ready"] for r in ready)
        print(f"{n_ready}/{args.clients} ready; warming up {args.warmup:g} s, measuring {args.duration:g} s", file=sys.stderr)
        t0_ns = time.monotonic_ns() + 300_000_000
        for p in workers:
            assert p.stdin is not None
            p.stdin.write(json.dumps({"t0_ns": t0_ns, "warmup": args.warmup, "duration": args.duration}) + "\n")
            p.stdin.flush()
        pids = [p.pid for p, *_ in relays]
        npids = [p.pid for p in cluster.procs if p is not None] if cluster is not None else []
        wpids = [p.pid for p in workers]
        time.sleep(max(0.0, (t0_ns - time.monotonic_ns()) * 1e-9) + args.warmup)
        if args.profile:
            for pid in pids:
                os.kill(pid, signal.SIGUSR1)
        stats0 = [read_stats(s) for *_x, s in relays]
        cpu0 = [sum(proc_cpu(pid)) for pid in pids + npids]
        rq0 = [run_queue_wait(pid) for pid in wpids + pids + npids]
        t0 = time.monotonic()
        time.sleep(args.duration)
        wall = time.monotonic() - t0
        cpu1 = [sum(proc_cpu(pid)) for pid in pids + npids]
        rq1 = [run_queue_wait(pid) for pid in wpids + pids + npids]
        if args.profile:
            for pid in pids:
                os.kill(pid, signal.SIGUSR2)
        results = [read_line(p, "reporting") for p in workers]
        stats1 = [read_stats(s) for *_x, s in relays]
        for p in workers:
            assert p.stdin is not None
            p.stdin.write("close\n")
            p.stdin.flush()
        for p in workers:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
    finally:
        for p in workers:
            if p.poll() is None:
                p.kill()
        stop_all(relays, cluster)
    cpu = [(b - a) / wall * 100 for a, b in zip(cpu0, cpu1)]
    rq = [round((b - a) / wall * 1000) for a, b in zip(rq0, rq1)]
    nw, nr = len(wpids), len(pids)
    local, cross, lag, stall = LatencyHistogram(), LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    read_local, read_cross = LatencyHistogram(), LatencyHistogram()
    down: list[float] = []
    sampled: list[int] = []
    tx: dict[int, int] = {}
    got = 0
    for r in results:
        local.merge(hist_in(r["voice_local"]))
        cross.merge(hist_in(r["voice_cross"]))
        read_local.merge(hist_in(r["read_local"]))
        read_cross.merge(hist_in(r["read_cross"]))
        lag.merge(hist_in(r["loop_lag"]))
        stall.merge(hist_in(r["send_stall"]))
        down += [b * 8 / r["wall"] / 1000 for _i, b in r["rx_bytes"]]
        sampled += r["sampled"]
        got += r["rx_voice_sampled"]
        for k, v in r["tx_voice"].items():
            tx[int(k)] = tx.get(int(k), 0) + v
    sent = sum(tx.values())
    expected = sum(sent - tx.get(i, 0) for i in sampled)
    # the load the relays really got (a starved generator offers less than nominal) and their CPU per datagram:
    # a figure that compares two runs on a busy machine, where CPU per second follows what was offered
    def cdelta(k: str) -> list[int]:
        return [b.get("counters", {}).get(k, 0) - a.get("counters", {}).get(k, 0) for a, b in zip(stats0, stats1)]

    d_in, d_out, b_out = cdelta("datagrams_in"), cdelta("datagrams_out"), cdelta("bytes_out")
    nominal_in = args.clients * 20 + args.speakers * 50  # poses at 20 Hz, voice at 50 Hz
    cpu_s = [c / 100 * wall for c in cpu[:len(pids)]]
    fed = []
    for a, b in zip(stats0, stats1):
        fa, fb = a.get("federation", {}), b.get("federation", {})
        fed.append({k: fb.get(k, 0) - fa.get(k, 0) for k in ("publish_msgs", "publish_bytes")})
    floor: dict[str, Any] = {}
    if args.with_floor:
        c0, c1 = stats0[0].get("counters", {}), stats1[0].get("counters", {})
        d_out = c1.get("datagrams_out", 0) - c0.get("datagrams_out", 0)
        rx_total = sum(b for r in results for _i, b in r["rx_bytes"])
        fl = run_floor(args, {"clients": args.clients, "in_pps": (c1.get("datagrams_in", 0) - c0.get("datagrams_in", 0)) / wall,
                              "out_pps": d_out / wall, "bundle_bytes": rx_total / max(1, d_out) - UDP_IP_OVERHEAD - 32})
        floor = {"floor_cpu_pct": round(fl["floor_cpu"], 1), "relay_over_floor": round(cpu[0] / max(0.1, fl["floor_cpu"]), 2),
                 "floor_p99_ms": round(fl["floor_p99_ms"], 2), "floor_bursts_per_tick": fl["floor_bursts"]}
    ms = lambda h: (round(h.percentile(50) * 1e3, 2), round(h.percentile(99) * 1e3, 2))

    def win(a: dict[str, Any], b: dict[str, Any], key: str, fed: bool = True) -> tuple[float, float]:
        """p50/p99 of a relay histogram over the measured window (the relay keeps them since its start,
        joins included; an older relay without bins: its figures since start)."""
        sa, sb = (a.get("federation", {}), b.get("federation", {})) if fed else (a, b)
        if key + "_bins" in sb:
            return ms(LatencyHistogram.between(sa.get(key + "_bins", {}), sb[key + "_bins"]))
        return (round(sb.get(key, {}).get("p50_ms", 0), 2), round(sb.get(key, {}).get("p99_ms", 0), 2))

    return {
        "guests": args.clients, "ready": n_ready, "nodes": args.nodes, "uptime_before": uptime0, "workers": args.workers, "speakers": args.speakers,
        "guests_opening_bundles": len(sampled), "window_s": round(wall, 1), "load_average_1min": round(os.getloadavg()[0], 2),
        "downlink_kbit_mean": round(sum(down) / max(1, len(down))), "downlink_kbit_max": round(max(down, default=0)),
        "voice_same_node_p50_p99_ms": ms(local), "voice_cross_node_p50_p99_ms": ms(cross),
        "voice_read_same_cross_p99_ms": (ms(read_local)[1], ms(read_cross)[1]),
        "voice_delivered_pct": round(100 * got / max(1, expected), 2),
        "relay_cpu_pct": [round(c, 1) for c in cpu[:nr]], "nats_cpu_pct": [round(c, 1) for c in cpu[nr:]],
        "relay_cpu_pct_total": round(sum(cpu[:nr]), 1), "nats_cpu_pct_total": round(sum(cpu[nr:]), 1),
        "uplink_handled_pct": round(100 * sum(d_in) / wall / nominal_in, 1),
        "relay_in_out_dgrams_per_s": [(round(i / wall), round(o / wall)) for i, o in zip(d_in, d_out)],
        "relay_downlink_dgrams_per_guest_s": round(sum(d_out) / wall / max(1, args.clients), 1),
        "relay_out_bytes_per_dgram": round(sum(b_out) / max(1, sum(d_out))),
        "relay_cpu_us_per_dgram_in": [round(c * 1e6 / max(1, i), 1) for c, i in zip(cpu_s, d_in)],
        "relay_cpu_us_per_dgram_out": [round(c * 1e6 / max(1, o), 1) for c, o in zip(cpu_s, d_out)],
        "worker_cpu_pct": [round(r["cpu_pct"], 1) for r in results],
        "worker_loop_lag_p50_p99_ms": ms(lag),
        "voice_send_stall_p50_p99_max_ms": (*ms(stall), round(stall.percentile(100) * 1e3, 2)),
        "run_queue_wait_ms_per_s_workers": rq[:nw], "run_queue_wait_ms_per_s_relays": rq[nw:nw + nr],
        "run_queue_wait_ms_per_s_nats": rq[nw + nr:],
        "relay_loop_lag_p50_p99_ms": [win(a, b, "loop_lag") for a, b in zip(stats0, stats1)],
        "relay_voice_forwarding_p50_p99_ms": [win(a, b, "voice_latency", fed=False) for a, b in zip(stats0, stats1)],
        "nats_voice_transit_p50_p99_ms": [win(a, b, "voice_transit") for a, b in zip(stats0, stats1)],
        "nats_published_per_s": [round(f["publish_msgs"] / wall) for f in fed],
        "nats_kbyte_per_s": [round(f["publish_bytes"] / wall / 1000) for f in fed],
        # full collector passes in the window and the longest pause of one since the relay started
        "relay_gc_full_passes": [b.get("gc", {}).get("passes", [0, 0, 0])[2] - a.get("gc", {}).get("passes", [0, 0, 0])[2]
                                 for a, b in zip(stats0, stats1)],
        "relay_gc_pause_ms_max": [b.get("gc", {}).get("pause_ms_max", [0, 0, 0]) for b in stats1],
        "bundles_failing_to_open": sum(r["rx_bad"] for r in results),
        "links_lost": sum(r["links_lost"] for r in results),
        **floor,
        "logs": str(tmp),
    }


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        asyncio.run(worker_main(json.loads(sys.argv[2])))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=1000, help="simulated guests (1-1000, default 1000)")
    p.add_argument("--nodes", type=int, default=2, help="relay nodes (1: one relay without NATS; default 2)")
    p.add_argument("--workers", type=int, default=4, help="load generator processes (1-8, default 4)")
    p.add_argument("--open-every", type=int, default=0,
                   help="every n-th guest opens and times its bundles (default: 1 up to 200 guests, else clients/100)")
    p.add_argument("--join-batch", type=int, default=10,
                   help="guests each worker connects at once, waiting for them before the next (default 10)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds (max 60, default 10)")
    add_traffic_options(p)
    p.add_argument("--nice", type=int, default=5, help="niceness of the relays and NATS servers, their scheduler autogroups "
                   "included (default 5; negative, as root, measures them as if they had the machine to themselves)")
    p.add_argument("--nats-nice", type=int, default=None,
                   help="niceness of the NATS servers (default: --nice's). In a deployment NATS has CPUs of its own; here it "
                        "shares two cores with both relays, and a message between nodes waits while both relays seal a fan-out")
    p.add_argument("--realtime", type=int, default=0, metavar="PRIO",
                   help="run the relays (every thread) as SCHED_RR at this priority (1-98, root), the NATS servers one above: "
                        "a diagnostic that takes the scheduler's share-out between them and the guests' workers out of the "
                        "figures (the machine is saturated; without it a relay waits 10-13 %% of its time for a CPU)")
    p.add_argument("--worker-nice", type=int, default=19,
                   help="niceness of the guests' workers (default 19: they stand for guests on machines of their own, "
                        "so on a shared machine they must not take CPU from the relays and NATS servers being measured)")
    p.add_argument("--json", default="", help="also write the result as JSON to this file")
    p.add_argument("--relay-root", default="", help="run the relays from this checkout (such as `git archive` of "
                                                    "another commit), for a before/after comparison")
    p.add_argument("--compare-one-node", action="store_true", help="after the run, the same load on one relay "
                   "without NATS, printed side by side")
    p.add_argument("--profile", action="store_true", help="profile each relay (cProfile) over the measured window; "
                   "written to the logs folder as relay-N.prof (`python -m pstats`); its CPU figures are then inflated")
    p.add_argument("--with-floor", action="store_true", help="with --nodes 1: right after the run, measure "
                   "tools/bench/relay_floor.py with the same forwarding and report relay / floor")
    args = p.parse_args()
    if args.with_floor and args.nodes != 1:
        p.error("--with-floor compares one relay process with its floor: use --nodes 1")
    if not 1 <= args.clients <= 1000 or not 1 <= args.nodes <= 3 or not 0 <= args.speakers <= args.clients:
        p.error("--clients 1..1000, --nodes 1..3, --speakers 0..clients")
    if not 1 <= args.workers <= 8 or not 0 < args.duration <= 60 or not 16 <= args.voice_bytes <= 1000:
        p.error("--workers 1..8, --duration in (0, 60], --voice-bytes 16..1000")
    if args.open_every <= 0:
        args.open_every = 1 if args.clients <= 200 else max(1, args.clients // 100)
    res = run(args)
    if args.compare_one_node and args.nodes > 1:
        print(f"the same load on one relay (no NATS) for comparison, {time.strftime('%H:%M:%S')} ...", file=sys.stderr)
        one = run(argparse.Namespace(**{**vars(args), "nodes": 1}))
        w = max(map(len, res))
        print(f"{'':<{w}}  {str(args.nodes) + ' nodes over NATS':<40}  1 node")
        for k, v in res.items():
            print(f"{k:<{w}}  {v!s:<40}  {one.get(k, '')}")
        if args.json:
            Path(args.json).write_text(json.dumps({"nodes": res, "one_node": one}, indent=1))
    else:
        report(res, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
