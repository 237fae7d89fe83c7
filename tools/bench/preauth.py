"""Pre-authentication flood against a real relay: unfinished TLS handshakes and trickled frames.

    python tools/bench/preauth.py                      # 2000 connections from 8 addresses, 30 s settle
    python tools/bench/preauth.py --root /work/main    # the same against another checkout's relay

The relay runs as ``python -m vrdiplomacy relay`` (from ``--root``) on 127.0.0.1. An attacker
process opens ``--connections`` TCP connections from 127.0.0.2 ... 127.0.0.(1+N)
(``--addresses``): every other one from 127.0.0.2 (far beyond the per-address limit), the rest
spread over the others (beyond the global limit together). Half send nothing, half send the first half of a real TLS 1.3 ClientHello. For
``--attack`` seconds it replaces each connection the relay closes (at most ``--rate`` per second);
then it closes them all. Meanwhile this process joins an end-to-end encrypted room every 0.2 s
from 127.0.0.1 as an invited member (TLS, Hello, admission challenge and proof, Welcome) and
times each join. After the attack, ``--tricklers`` TLS clients finish their handshake and send a
control frame one byte per second without ever finishing it; the time until the relay closes
each is reported. The relay's RSS (``/proc/<pid>/statm``) is sampled every 50 ms: baseline (after
three warm-up joins and ten timed joins without an attack, for comparison), peak, and ``--settle``
seconds after the attack ended. Relay CPU is read from ``/proc/<pid>/stat`` over the attack.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import selectors
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from vrdiplomacy.crypto import identity as ident  # noqa: E402
from vrdiplomacy.crypto.admission import Admission, Invitation  # noqa: E402
from vrdiplomacy.net import tls  # noqa: E402
from vrdiplomacy.net.client_io import connect  # noqa: E402
from vrdiplomacy.net.preauth import raise_fd_limit  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_hello() -> bytes:
    """A real TLS 1.3 ClientHello, as the relay's clients send it."""
    i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = tls.client_context().wrap_bio(i, o)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return o.read()


# ---------------------------------------------------------------- attacker (its own process)

def attack(port: int, n: int, addresses: int, duration: float, rate: float) -> dict[str, int]:
    """Keep ``n`` unfinished handshakes in flight for ``duration`` s; returns what happened."""
    raise_fd_limit()
    partial = client_hello()
    partial = partial[: len(partial) // 2]
    sel = selectors.DefaultSelector()
    opened = closed_by_relay = 0
    k = 0

    def open_one() -> None:
        nonlocal opened, k
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((f"127.0.0.{2 if k % 2 == 0 or addresses < 2 else 3 + (k // 2) % (addresses - 1)}", 0))
        s.connect_ex(("127.0.0.1", port))
        sel.register(s, selectors.EVENT_WRITE, k % 2)  # 1: send a partial ClientHello; 0: silent
        k += 1
        opened += 1

    end = time.monotonic() + duration
    for _ in range(n):
        open_one()
    owed = 0.0
    last = time.monotonic()
    while (now := time.monotonic()) < end:
        owed = min(owed + (now - last) * rate, float(n))
        last = now
        for key, ev in sel.select(0.01):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            if ev & selectors.EVENT_WRITE:
                if key.data:
                    try:
                        s.send(partial)
                    except OSError:
                        pass
                sel.modify(s, selectors.EVENT_READ, key.data)
                continue
            try:
                gone = s.recv(4096) == b""
            except OSError:
                gone = True
            if gone:
                sel.unregister(s)
                s.close()
                closed_by_relay += 1
        missing = n - len(sel.get_map())
        while missing > 0 and owed >= 1:
            open_one()
            owed -= 1
            missing -= 1
    held = len(sel.get_map())
    for key in list(sel.get_map().values()):
        sel.unregister(key.fileobj)
        key.fileobj.close()  # type: ignore[union-attr]
    return {"opened": opened, "closed_by_relay": closed_by_relay, "held_at_end": held}


# ---------------------------------------------------------------- the relay under test

def start_relay(root: Path, state: Path, stats: Path, extra: list[str] | None = None) -> tuple[subprocess.Popen[str], int, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "vrdiplomacy", "-q", "relay", "--listen", f"127.0.0.1:{port}", "--state-dir", str(state),
         "--stats-file", str(stats), *(extra or [])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(root),
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert proc.stdout is not None
    for _ in range(20):
        line = proc.stdout.readline()
        if "fingerprint" in line:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining its output
            return proc, port, line.rsplit(" ", 1)[1].strip()
    proc.kill()
    raise RuntimeError(f"relay did not start: {line!r}")


class Sampler(threading.Thread):
    """The relay's RSS every 50 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.samples.append((time.monotonic(), rss_mb(self.pid)))
            except OSError:
                return
            self.stop.wait(0.05)

    def peak(self, t0: float, t1: float) -> float:
        return max((r for t, r in self.samples if t0 <= t <= t1), default=0.0)


def member() -> Admission:
    now = time.time()
    root_key, root = ident.create_ministry_root("Secretariat", "CH", now - 60, scope=[ident.ANY_COUNTRY])
    ck, csr = ident.create_delegation_request("Chair", "CH")
    cc = ident.issue_delegation(csr, root_key, root, "chair", now - 60)
    mk, mcsr = ident.create_delegation_request("France", "FR")
    mc = ident.issue_delegation(mcsr, root_key, root, "head", now - 60)
    return Admission(Invitation.create("chamber", cc, ck, mc, "head", now, "A1", 1.0), mk)


async def join_once(port: int, fp: str, adm: Admission) -> float:
    t0 = time.perf_counter()
    async with connect("127.0.0.1", port, fp, "France", "A1", "chamber", admission=adm, connect_timeout=10.0):
        t = time.perf_counter() - t0
    return t


async def trickle(port: int, limit: float = 15.0, frame_len: int = 200) -> float:
    """Finish a TLS handshake, then send a control frame 1 byte per second; seconds until the relay
    closed the connection (``limit`` when it had not by then)."""
    r, w = await asyncio.open_connection("127.0.0.1", port, ssl=tls.client_context(), server_hostname=None)
    frame = frame_len.to_bytes(2, "big") + bytes(frame_len)
    t0 = time.monotonic()
    try:
        for b in frame[: int(limit)]:  # never the last byte
            w.write(bytes((b,)))
            await w.drain()
            try:
                if await asyncio.wait_for(r.read(65536), 1.0) == b"":
                    break
            except asyncio.TimeoutError:
                continue
            while await r.read(65536):  # the relay's Error frame, then EOF
                pass
            break
    except (ConnectionError, ssl.SSLError):
        pass
    took = min(time.monotonic() - t0, limit)
    w.close()
    return took


def read_stats(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


async def _bench(port: int, fp: str, pid: int, args: argparse.Namespace, sampler: Sampler) -> dict[str, Any]:
    adm = member()
    for _ in range(3):  # warm-up: imports, the room, the first handshakes
        await join_once(port, fp, adm)
    quiet: list[float] = []
    for _ in range(args.quiet_joins):  # the same joins without an attack, for comparison
        quiet.append(await join_once(port, fp, adm))
        await asyncio.sleep(0.1)
    quiet.sort()
    await asyncio.sleep(2.0)
    baseline = statistics.median(rss_mb(pid) for _ in range(5))
    loop = asyncio.get_running_loop()
    t_attack = time.monotonic()
    cpu0 = cpu_s(pid)
    atk = asyncio.create_subprocess_exec(
        sys.executable, __file__, "--attacker", str(port), str(args.connections), str(args.addresses), str(args.attack),
        str(args.rate), stdout=asyncio.subprocess.PIPE, cwd=str(ROOT))
    proc = await atk
    joins: list[float] = []
    failed = 0
    await asyncio.sleep(0.5)  # the burst is under way
    while proc.returncode is None and time.monotonic() - t_attack < args.attack - 0.3:
        try:
            joins.append(await join_once(port, fp, adm))
        except Exception:  # noqa: BLE001 - a refused or timed-out join is what this bench counts
            failed += 1
        await asyncio.sleep(0.2)
    out, _ = await proc.communicate()
    t_end = time.monotonic()
    relay_cpu = (cpu_s(pid) - cpu0) / (t_end - t_attack)
    attacker = json.loads(out.decode().strip().splitlines()[-1])
    tricklers = await asyncio.gather(*(trickle(port) for _ in range(args.tricklers)))
    await asyncio.sleep(max(0.0, t_end + args.settle - time.monotonic()))
    after = statistics.median(rss_mb(pid) for _ in range(5))
    await loop.run_in_executor(None, time.sleep, 1.1)  # the stats file is written every second
    st = read_stats(args.stats_path)
    joins.sort()
    return {
        "baseline_mb": baseline,
        "peak_mb": sampler.peak(t_attack, time.monotonic()),
        "after_mb": after,
        "joins": len(joins),
        "joins_failed": failed,
        "join_p50_ms": 1000 * joins[len(joins) // 2] if joins else float("nan"),
        "join_p95_ms": 1000 * joins[min(len(joins) - 1, int(len(joins) * 0.95))] if joins else float("nan"),
        "join_max_ms": 1000 * joins[-1] if joins else float("nan"),
        "quiet_p50_ms": 1000 * quiet[len(quiet) // 2] if quiet else float("nan"),
        "quiet_p95_ms": 1000 * quiet[min(len(quiet) - 1, int(len(quiet) * 0.95))] if quiet else float("nan"),
        "attacker": attacker,
        "relay_cpu": relay_cpu,
        "trickle_closed_s": tricklers,
        "preauth": st.get("preauth", {}),
        "counters": st.get("counters", {}),
    }


def run(root: Path = ROOT, connections: int = 2000, addresses: int = 8, attack_s: float = 8.0, rate: float = 1000.0,
        settle: float = 30.0, tricklers: int = 4, quiet_joins: int = 10, relay_args: list[str] | None = None) -> dict[str, Any]:
    """Start a relay from ``root``, flood it, and return the figures (see the module docstring)."""
    raise_fd_limit()
    with tempfile.TemporaryDirectory(prefix="vrd-preauth-") as tmp:
        stats = Path(tmp) / "stats.json"
        args = argparse.Namespace(connections=connections, addresses=addresses, attack=attack_s, rate=rate, settle=settle,
                                  tricklers=tricklers, quiet_joins=quiet_joins, stats_path=stats)
        proc, port, fp = start_relay(root, Path(tmp) / "state", stats, relay_args)
        sampler = Sampler(proc.pid)
        sampler.start()
        try:
            res = asyncio.run(_bench(port, fp, proc.pid, args, sampler))
        finally:
            sampler.stop.set()
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    res.update(connections=connections, addresses=addresses, attack_s=attack_s, rate=rate, settle_s=settle)
    return res


def table(r: dict[str, Any]) -> str:
    p = r["preauth"]
    a = r["attacker"]
    tr = r["trickle_closed_s"]
    rows = [
        ("attack", f"{r['connections']} unfinished TLS handshakes from {r['addresses']} addresses, replaced at "
                   f"<= {r['rate']:g}/s for {r['attack_s']:g} s ({a['opened']} opened, {a['closed_by_relay']} closed by "
                   f"the relay)"),
        ("relay CPU during attack", f"{100 * r['relay_cpu']:.0f} % of one core"),
        ("relay RSS baseline", f"{r['baseline_mb']:.1f} MB"),
        ("relay RSS peak", f"{r['peak_mb']:.1f} MB (+{r['peak_mb'] - r['baseline_mb']:.1f} MB)"),
        (f"relay RSS {r['settle_s']:g} s after", f"{r['after_mb']:.1f} MB ({100 * (r['after_mb'] / r['baseline_mb'] - 1):+.1f} %)"),
        ("join latency without attack", f"p50 {r['quiet_p50_ms']:.1f} / p95 {r['quiet_p95_ms']:.1f} ms"),
        ("join latency during attack", f"p50 {r['join_p50_ms']:.1f} / p95 {r['join_p95_ms']:.1f} / max {r['join_max_ms']:.1f} ms "
                                       f"({r['joins']} invited joins, {r['joins_failed']} failed)"),
        ("handshakes refused / evicted", f"{p.get('handshakes_refused', '-')} / {p.get('handshakes_evicted', '-')}"
                                         + ("" if p else " (this relay does not count them)")),
        ("handshake timeouts / failed", f"{p.get('handshake_timeouts', '-')} / {p.get('handshakes_failed', '-')}"),
        ("most unfinished at once", f"{p.get('peak', '-')}"),
        ("heap trims", f"{p.get('heap_trims', '-')}"),
        ("trickling frames closed after", ", ".join(f"{t:.1f}" for t in tr) + " s"
                                          + f" (frame timeouts: {r['counters'].get('frame_timeouts', '-')})"),
    ]
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose relay to run (default: this one)")
    ap.add_argument("--connections", type=int, default=2000)
    ap.add_argument("--addresses", type=int, default=8)
    ap.add_argument("--attack", type=float, default=8.0, help="seconds of flood")
    ap.add_argument("--rate", type=float, default=1000.0, help="replacement connections per second at most")
    ap.add_argument("--settle", type=float, default=30.0, help="seconds after the attack to measure RSS")
    ap.add_argument("--tricklers", type=int, default=4)
    ap.add_argument("--relay-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for 'vrdiplomacy relay' (repeatable), e.g. --relay-arg=--handshakes-per-address=1000")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    ap.add_argument("--attacker", nargs=5, metavar=("PORT", "N", "ADDRS", "SECONDS", "RATE"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.attacker:
        port, n, addrs, secs, rate = a.attacker
        print(json.dumps(attack(int(port), int(n), int(addrs), float(secs), float(rate))), flush=True)
        return
    r = run(a.root, a.connections, a.addresses, a.attack, a.rate, a.settle, a.tricklers, relay_args=a.relay_arg)
    print(table(r))
    if a.json:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
