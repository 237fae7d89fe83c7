"""Meeting latency: a chair's action -> visible in the procedure state of every client.

    nice python tools/bench/meeting_latency.py --clients 200 --actions 100

The relay runs as ``python -m vrdiplomacy relay`` in its own process (its procedure checks,
stamps and routing included). N simulated participants are sans-I/O
:class:`~vrdiplomacy.net.client_core.ClientCore` instances on one asyncio loop in this process,
each with its own TLS control connection, and each folds every procedure action it receives into
its own :class:`~vrdiplomacy.session.meeting.MeetingSession` (the same sans-I/O glue the real
client's ``meeting_view`` reads). One of them claims the chair; the others are delegates, a few of
whom raise their hands now and then.

The chair sends one action every ``--interval`` seconds (grant, set time, mute, unmute, agenda
item, revoke, in turn). An action counts as visible on a client once that client has folded it
(the procedure state its screens and panels show changed); both clocks are this process's
monotonic clock. Reported: per delivery (one client, one action) and per action on *every* client
(the slowest client of each action), p50 / p95 / max in milliseconds, plus whether every client
ended with the identical procedure state.

It is a bench, not a test: bounded (``--actions``, 200 clients at most), run it niced.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import corelink
from corelink import CoreLinks, free_port, pct

from vrdiplomacy.meeting import wire as mw
from vrdiplomacy.meeting.roles import role_index
from vrdiplomacy.net.client_core import ClientCore, RoomEventReceived
from vrdiplomacy.session.meeting import MeetingSession

CHAIR_ACTIONS = (mw.GRANT, mw.SET_TIME, mw.MUTE, mw.UNMUTE, mw.AGENDA_ITEM, mw.REVOKE)


class Sim:
    """One participant: protocol core, TLS link, its procedure fold and when it saw chair actions."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.core = ClientCore(f"p-{index:03d}", f"seat-{index:03d}", "bench")
        self.meeting = MeetingSession(None)
        self.writer: asyncio.StreamWriter | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.seen: list[int] = []  # monotonic ns at which the k-th chair action was folded
        self.lost = ""


class Bench(CoreLinks):
    def __init__(self, args: argparse.Namespace, port: int, fingerprint: str) -> None:
        super().__init__("127.0.0.1", port, fingerprint)
        self.args = args
        self.sims: list[Sim] = []
        self.chair_id = 0
        self.sent_ns: list[int] = []

    def on_event(self, sim: Sim, ev: object) -> None:
        if isinstance(ev, RoomEventReceived) and mw.looks_like(ev.payload):
            sim.meeting.receive(ev.sender, ev.room_seq, ev.payload, int(time.time() * 1000))
            if ev.sender == self.chair_id and ev.payload[2] in CHAIR_ACTIONS:
                sim.seen.append(time.monotonic_ns())

    async def join_all(self) -> list[asyncio.Task[None]]:
        self.sims = [Sim(i) for i in range(self.args.clients)]
        tasks = await self.connect_all(self.sims)
        for s in self.sims:
            s.meeting.me = s.core.client_id
        self.chair_id = self.sims[0].core.client_id
        return tasks

    def act(self, sim: Sim, action: int, subject: int | None = None, value: int = 0, data: bytes = b"") -> None:
        a = mw.MeetingAction(action, mw.NOBODY if subject is None else subject, value, data)
        sim.core.send_event(bytes(a.header(subject or 0)) + bytes(a))
        self.flush(sim)

    async def run(self) -> None:
        chair, delegates = self.sims[0], self.sims[1:]
        rng = random.Random(7)
        self.act(chair, mw.CLAIM_ROLE, value=role_index("chair"))
        self.act(chair, mw.AGENDA, value=0, data=b"Opening\nClimate finance\nMaritime boundaries\nAOB")
        await asyncio.sleep(0.5)
        for d in rng.sample(delegates, min(10, len(delegates))):
            self.act(d, mw.REQUEST)
        await asyncio.sleep(0.5)
        muted: int | None = None
        for k in range(self.args.actions):
            kind = CHAIR_ACTIONS[k % len(CHAIR_ACTIONS)]
            if k % 3 == 0:  # a delegate raises a hand now and then
                self.act(rng.choice(delegates), mw.REQUEST)
            subject, value = None, 0
            if kind == mw.SET_TIME:
                value = rng.choice((60_000, 90_000, 120_000))
            elif kind == mw.MUTE:
                subject = muted = rng.choice(delegates).core.client_id
            elif kind == mw.UNMUTE:
                subject = muted
            elif kind == mw.AGENDA_ITEM:
                value = k % 4
            elif kind == mw.GRANT and not chair.meeting.procedure.queue:
                self.act(rng.choice(delegates), mw.REQUEST)
                await asyncio.sleep(0.05)
            self.sent_ns.append(time.monotonic_ns())
            self.act(chair, kind, subject, value)
            await asyncio.sleep(self.args.interval)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(len(s.seen) >= len(self.sent_ns) for s in self.sims):
            await asyncio.sleep(0.05)



def start_relay(tmp: Path, port: int, nice: int) -> tuple[subprocess.Popen[str], str]:
    def prep() -> None:
        if nice:
            os.nice(nice)

    return corelink.start_relay(port, tmp / "state", cwd=ROOT, preexec=prep)


async def main_async(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="vrd-meeting-bench-"))
    port = free_port()
    relay, fp = start_relay(tmp, port, args.nice)
    try:
        bench = Bench(args, port, fp)
        tasks = await bench.join_all()
        try:
            await bench.run()
        finally:
            await bench.close(bench.sims, tasks)
    finally:
        corelink.stop_relay(relay)
    n = len(bench.sent_ns)
    per: list[float] = []
    every: list[float] = []
    missing = 0
    for k, t0 in enumerate(bench.sent_ns):
        lat = [(s.seen[k] - t0) / 1e6 for s in bench.sims if len(s.seen) > k]
        missing += len(bench.sims) - len(lat)
        per.extend(lat)
        if len(lat) == len(bench.sims):
            every.append(max(lat))
    states = {s.meeting.procedure.state_key() for s in bench.sims}
    ignored = sum(sum(s.meeting.procedure.ignored.values()) for s in bench.sims)
    res = {
        "clients": len(bench.sims), "chair_actions": n, "interval_s": args.interval,
        "per_delivery_ms": {"p50": pct(per, 50), "p95": pct(per, 95), "max": max(per, default=float("nan")),
                            "count": len(per)},
        "on_every_client_ms": {"p50": pct(every, 50), "p95": pct(every, 95), "max": max(every, default=float("nan")),
                               "count": len(every)},
        "missing_deliveries": missing, "identical_states": len(states) == 1, "ignored_actions": ignored,
        "links_lost": sum(1 for s in bench.sims if s.lost and s.lost != "closed"),
    }
    d, e = res["per_delivery_ms"], res["on_every_client_ms"]
    print(f"meeting latency: {res['clients']} clients, {n} chair actions every {args.interval:g} s, relay on loopback")
    print("| measure | p50 ms | p95 ms | max ms | samples |")
    print("|---|---:|---:|---:|---:|")
    print(f"| one client sees the action | {d['p50']:.1f} | {d['p95']:.1f} | {d['max']:.1f} | {d['count']} |")
    print(f"| every client sees the action | {e['p50']:.1f} | {e['p95']:.1f} | {e['max']:.1f} | {e['count']} |")
    print(f"missing deliveries {missing}; identical procedure state on every client: {res['identical_states']}; "
          f"links lost {res['links_lost']}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
    ok = e["p95"] <= args.target_ms and missing == 0 and res["identical_states"]
    print(f"target p95 <= {args.target_ms:g} ms on every client: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=200, help="participants including the chair (2-200, default 200)")
    p.add_argument("--actions", type=int, default=100, help="chair actions measured (1-1000, default 100)")
    p.add_argument("--interval", type=float, default=0.1, help="seconds between chair actions (default 0.1)")
    p.add_argument("--target-ms", type=float, default=150.0, help="p95 target on every client (default 150)")
    p.add_argument("--nice", type=int, default=0, help="niceness of the relay process (default 0)")
    p.add_argument("--json", default="", help="also write the results as JSON to this file")
    args = p.parse_args()
    if not 2 <= args.clients <= 200 or not 1 <= args.actions <= 1000 or args.interval <= 0:
        p.error("--clients 2-200, --actions 1-1000, --interval > 0")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
