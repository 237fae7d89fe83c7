"""The floor of a Python relay on this machine: only the work no relay design can skip.

    python tools/bench/relay_floor.py                      # N = 200, 3 speakers on the same tick
    python tools/bench/relay_floor.py --bursts 3           # the same 3 speakers, unaligned
    python tools/bench/relay_floor.py --receivers 100

At the packet rates that ``relay_load.py`` produces, the "relay" here does nothing but what every
relay must do for each datagram: ``recvfrom`` and open the hop-by-hop seal of every uplink datagram
(ChaCha20-Poly1305 with its replay window, as :class:`~vrdiplomacy.net.hop.HopOpener`), and every
20 ms seal and ``sendto`` one downlink bundle per receiver (as
:class:`~vrdiplomacy.net.hop.HopSealer`), ``--bursts`` times per tick. There is no routing, no
interest management, no bundling, no rate limiting, no asyncio and no control channel. Whatever
this costs, the real relay costs more; if it is near a CPU target, no Python relay meets it.

Speakers on the same 20 ms tick share one bundle per receiver (one burst per tick). Speakers whose
frames arrive at unrelated times, as real microphones do, each cause a burst of their own
(``--bursts 3``), unless the relay holds frames to coalesce them, which adds latency.

Three processes on loopback: an uplink sender (poses and voice at ``--uplink-pps``), the relay
loop measured here, and a sink that drains the downlink (one socket, as in ``relay_load.py``, or
``--sink-sockets`` of them, to show that one busy receiving socket is not what costs).
The relay's CPU comes from ``getrusage`` over the measured window; kernel time includes the
loopback delivery into the sink's socket, as it does for the real relay on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vrdiplomacy.net import wire
from vrdiplomacy.net.hop import DOWNLINK, UPLINK, HopOpener, HopSealer
from vrdiplomacy.net.stats import LatencyHistogram

TICK = 0.020
UP_KEY = bytes(range(32))
DOWN_KEY = bytes(range(32, 64))


def sink(port_file: Path, n: int) -> None:
    """Drain the downlink on ``n`` sockets until killed."""
    sel = selectors.DefaultSelector()
    ports = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, (8 << 20) // n)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        ports.append(str(s.getsockname()[1]))
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(",".join(ports))
    os.replace(tmp, port_file)  # the parent sees all ports or none
    while True:
        for key, _ev in sel.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                while True:
                    sock.recv(4096)
            except BlockingIOError:
                pass


def uplink(port: int, pps: float, size: int, seconds: float) -> None:
    """Send sealed uplink datagrams to ``port`` at ``pps``, in bursts every 2.5 ms, for ``seconds``."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sealer = HopSealer(UP_KEY, UPLINK, 7)
    body = bytes(size)
    per = pps * 0.0025
    due = 0.0
    t = t0 = time.monotonic()
    while t - t0 < seconds:
        t += 0.0025
        due += per
        while due >= 1.0:
            s.sendto(sealer.seal(wire.DG_POSE, body), ("127.0.0.1", port))
            due -= 1.0
        pause = t - time.monotonic()
        if pause > 0:
            time.sleep(pause)


def relay_loop(sock: socket.socket, sinks: list[tuple[str, int]], args: argparse.Namespace) -> dict[str, float]:
    """The measured loop: open every uplink datagram; seal and send ``receivers`` bundles per burst."""
    opener = HopOpener(UP_KEY, UPLINK)
    sealers = [(HopSealer(DOWN_KEY, DOWNLINK, i + 1), sinks[i % len(sinks)]) for i in range(args.receivers)]
    bundle = bytes(args.bundle_bytes)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    hdr = wire.MEDIA_HEADER_SIZE
    unpack = wire.MEDIA_HEADER.unpack_from
    offsets = [TICK * k / args.bursts for k in range(args.bursts)]
    n_in = n_out = bad = 0
    delay = LatencyHistogram()  # per downlink datagram: burst start to its sendto (the relay's metric)
    start = time.monotonic() + args.warmup
    end = start + args.duration
    ru0 = None
    tick = time.monotonic()
    burst = 0
    while True:
        now = time.monotonic()
        if ru0 is None and now >= start:
            ru0 = resource.getrusage(resource.RUSAGE_SELF)
            n_in = n_out = 0
        if now >= end:
            break
        due = tick + offsets[burst]
        if now >= due:
            clock = time.monotonic
            for s, addr in sealers:
                sock.sendto(s.seal(wire.DG_BUNDLE, bundle), addr)
                if ru0 is not None:
                    delay.add(clock() - now)
            n_out += len(sealers)
            burst += 1
            if burst == args.bursts:
                burst = 0
                tick += TICK
            continue
        for _key, _ev in sel.select(due - now):
            while True:
                try:
                    data, _addr = sock.recvfrom(2048)
                except BlockingIOError:
                    break
                n_in += 1
                if len(data) < hdr + 16:
                    bad += 1
                    continue
                try:
                    opener.open(data, unpack(data)[3])
                except Exception:
                    bad += 1
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    assert ru0 is not None
    user, kern = ru1.ru_utime - ru0.ru_utime, ru1.ru_stime - ru0.ru_stime
    return {"p50": delay.percentile(50) * 1e3, "p99": delay.percentile(99) * 1e3,
            "in": n_in / args.duration, "out": n_out / args.duration, "bad": bad,
            "user": 100 * user / args.duration, "kernel": 100 * kern / args.duration}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--receivers", type=int, default=200, help="downlink bundles per burst (default 200)")
    p.add_argument("--bursts", type=int, default=1, help="bursts per 20 ms tick: 1 = speakers on one tick, "
                   "3 = three unaligned speakers (default 1)")
    p.add_argument("--uplink-pps", type=float, default=4150.0, help="uplink datagrams per second (default 4150, "
                   "as relay_load.py at N = 200)")
    p.add_argument("--uplink-bytes", type=int, default=100, help="uplink payload bytes (default 100)")
    p.add_argument("--bundle-bytes", type=int, default=1080, help="downlink bundle plaintext bytes (default 1080, "
                   "the mean at N = 200)")
    p.add_argument("--sink-sockets", type=int, default=1, help="receiving sockets the bundles go to, in turn "
                   "(default 1, as relay_load.py; up to --receivers)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds (max 60, default 10)")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring (default 1)")
    p.add_argument("--json", type=Path, help="also write the result as JSON to this file")
    p.add_argument("--role", choices=("sink", "uplink"), help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--port-file", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.role == "sink":
        sink(args.port_file, args.sink_sockets)
        return 0
    if args.role == "uplink":
        uplink(args.port, args.uplink_pps, args.uplink_bytes, args.duration + args.warmup + 1.0)
        return 0
    if not (1 <= args.receivers <= 1000 and 1 <= args.bursts <= 10 and 0 < args.duration <= 60
            and 1 <= args.sink_sockets <= args.receivers):
        p.error("--receivers 1..1000, --bursts 1..10, --sink-sockets 1..receivers, --duration up to 60 s")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    port_file = Path(f"/tmp/vrd-relay-floor-{os.getpid()}.port")
    me = [sys.executable, __file__]
    procs = [subprocess.Popen(me + ["--role", "sink", "--port-file", str(port_file), "--sink-sockets", str(args.sink_sockets)])]
    try:
        t0 = time.monotonic()
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() - t0 > 10:
                raise SystemExit("the sink process did not start")
            time.sleep(0.05)
        sinks = [("127.0.0.1", int(port)) for port in port_file.read_text().split(",")]
        procs.append(subprocess.Popen(me + ["--role", "uplink", "--port", str(sock.getsockname()[1]),
                                            "--uplink-pps", str(args.uplink_pps), "--uplink-bytes", str(args.uplink_bytes),
                                            "--duration", str(args.duration), "--warmup", str(args.warmup)]))
        print(f"relay floor: {args.receivers} receivers x {args.bursts} burst(s) per 20 ms, "
              f"{args.uplink_pps:g} uplink datagrams/s; measuring {args.duration:g} s ...", file=sys.stderr)
        r = relay_loop(sock, sinks, args)
    finally:
        for pr in procs:
            pr.kill()
            pr.wait()
        port_file.unlink(missing_ok=True)
    cpu = r["user"] + r["kernel"]
    per = cpu * 1e4 / max(1.0, r["in"] + r["out"])
    if args.json:
        args.json.write_text(json.dumps({**r, "cpu": cpu, "us_per_datagram": per}))
    print(f"datagrams in / out per s      {r['in']:.0f} / {r['out']:.0f}  ({r['bad']} failed to open)")
    print(f"relay floor CPU (% of a core) {cpu:.1f}  (user {r['user']:.1f} / kernel {r['kernel']:.1f}; "
          f"{per:.1f} us per datagram in or out)")
    print(f"forwarding delay p50 / p99    {r['p50']:.2f} / {r['p99']:.2f} ms  (burst start to each sendto, "
          f"as relay_load.py reports)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
