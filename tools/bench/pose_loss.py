"""Pose streams under packet loss, through a real relay and ``tools/faultproxy.py``.

    python tools/bench/pose_loss.py                       # loss 0/5/20/50 %, old and new codec, 10 s each
    python tools/bench/pose_loss.py --seconds 5 --loss 0.2 --burst 3 --direction down

A sender ("alice") streams head + both hands at 20 Hz for ``--seconds``, moving as a seated
delegate does (head sway of a few centimetres, hands gesturing about 6 cm). A near listener
("bob", 1 m away: every frame) and a far one ("carol", 30 m away: the relay sends her keyframes
only) take the stream through an in-process relay (:class:`EmbeddedRelay`, real TLS, real UDP
on loopback). The lossy path is the fault proxy: ``--direction up`` puts the sender behind it
(its uplink loses ``--loss`` of its datagrams), ``down`` puts the near listener behind it (her
downlink bundles are lost). Each loss rate runs with the older delta codec ("old":
``PoseEncoder(deltas=True)``, a delta is useless without its keyframe) and the self-contained
one ("new", the default), with the same proxy seed, so both see the same drop pattern.

Each row sums one run per ``--seeds`` (the drop pattern of one seed may happen to spare or hit
the keyframes). Columns: frames sent; frames the near listener decoded; delivery (decoded / sent); the longest
time the near listener's view of the sender got no new pose (from the first frame sent to the
last: an avatar "frozen" that long, before any extrapolation); frames per
second the far listener decoded (the keyframe tier still works); the pose stream's payload
bytes/s and its uplink bytes/s as datagrams (hop header and tag, routing header, UDP/IPv4).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from vrdiplomacy.net import wire  # noqa: E402
from vrdiplomacy.net.client_core import PoseUpdate  # noqa: E402
from vrdiplomacy.net.client_io import Client, connect  # noqa: E402
from vrdiplomacy.net.hop import TAG_SIZE  # noqa: E402
from vrdiplomacy.net.pose import PoseEncoder  # noqa: E402
from vrdiplomacy.net.relay_server import EmbeddedRelay  # noqa: E402
from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll  # noqa: E402

RATE = 20.0
UDP_IP = 28  # UDP + IPv4 headers


def load_faultproxy() -> ModuleType:
    """``tools/faultproxy.py`` (a script, not part of the package), imported from the tools folder."""
    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))
    return importlib.import_module("faultproxy")


@dataclass
class Result:
    codec: str
    loss: float
    sent: int
    decoded: int
    longest_freeze: float
    far_per_s: float
    payload_bps: float
    datagram_bps: float
    realized_loss: float
    keyframes: int
    dropped: int = 0  # datagrams the fault proxy dropped on the lossy direction while streaming
    late: int = 0  # frames the near listener dropped as older than one it had shown (all senders)
    undecodable: int = 0  # frames the near listener could not decode (a delta without its keyframe)

    @property
    def delivery(self) -> float:
        return self.decoded / self.sent if self.sent else 0.0


def motion(t: float, base: tuple[float, float, float] = (0.0, 1.2, 0.0)) -> tuple[Pose, Pose, Pose]:
    """A seated delegate talking: the head sways a few cm and turns, the hands gesture ~6 cm."""
    x, y, z = base
    head = Pose((x + 0.04 * math.sin(2 * math.pi * 0.3 * t), y + 0.01 * math.sin(2 * math.pi * 0.7 * t), z),
                quat_from_yaw_pitch_roll(math.radians(15 * math.sin(2 * math.pi * 0.2 * t)), math.radians(-5), 0.0))
    left = Pose((x - 0.22 + 0.06 * math.sin(2 * math.pi * 0.5 * t), y - 0.3, z - 0.3 + 0.04 * math.cos(2 * math.pi * 0.4 * t)),
                quat_from_yaw_pitch_roll(0.0, math.radians(20 * math.sin(2 * math.pi * 0.5 * t)), 0.0))
    right = Pose((x + 0.22, y - 0.3 + 0.06 * math.sin(2 * math.pi * 0.6 * t + 1.0), z - 0.32),
                 quat_from_yaw_pitch_roll(0.0, 0.0, math.radians(25 * math.sin(2 * math.pi * 0.6 * t))))
    return head, left, right


async def _until(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def measure(relay: EmbeddedRelay, codec: str, loss: float, seconds: float, burst: float = 1.0, seed: int = 1,
                  direction: str = "up") -> Result:
    """One run: alice streams for ``seconds`` with ``codec`` ("old" or "new") over a path losing
    ``loss`` of the datagrams in ``direction``; see the module docstring."""
    fp = load_faultproxy()
    loop = asyncio.get_running_loop()
    proxy = fp.FaultProxy((relay.host, relay.port), seed=seed)
    await proxy.start()
    direct = (relay.host, relay.port, relay.fingerprint)
    via = (proxy.listen[0], proxy.listen[1], relay.fingerprint)
    tag = f"{codec}-{loss:g}-{direction}-{time.monotonic_ns() % 100000}"
    try:
        room = f"pose-loss-{tag}"  # a room of its own per run
        async with connect(*(via if direction == "up" else direct), "alice", "a", room) as a, \
                connect(*(via if direction == "down" else direct), "bob", "b", room) as b, \
                connect(*direct, "carol", "c", room) as c:
            a.pose_encoder = PoseEncoder(deltas=codec == "old")
            clients = (a, b, c)
            await _until(lambda: all(x.core.media_ready and len(x.members) == 3 for x in clients), 10, "media and members")
            sizes: list[tuple[int, int, bool]] = []  # (payload bytes, pose frame bytes, keyframe) of each pose alice sent
            send_frame = a.core.send_pose_frame

            def counted(frame: wire.PoseFrame) -> bool:
                sizes.append((len(frame.payload), len(bytes(frame)), frame.key))
                return send_frame(frame)

            a.core.send_pose_frame = counted  # type: ignore[method-assign]
            # bob and carol stream too, so the relay knows where they sit (bob near, carol far); alice
            # streams from the start as well (a delegate's stream runs all along), measured from t0
            places = {a: (0.0, 1.2, 0.0), b: (1.0, 1.2, 0.0), c: (30.0, 1.2, 0.0)}

            async def others() -> None:
                k = 0
                while True:
                    k += 1
                    for x, base in list(places.items()):
                        x.send_pose(*motion(k / RATE, base))
                    await asyncio.sleep(1 / RATE)

            side = asyncio.create_task(others())
            await asyncio.sleep(0.6)  # routes recomputed with everyone's position
            del places[a]
            await asyncio.sleep(0.01)  # the loop no longer sends for alice
            sizes.clear()
            first = a.pose_encoder.seq + 1  # the first frame measured
            for x in (b, c):
                x.drain_events()
            arrivals: dict[Client, list[float]] = {b: [], c: []}
            late0, undec0 = b.pose_late, b.pose_undecodable

            async def listen(x: Client) -> None:
                while True:
                    ev = await x.next_event(1.0)
                    if isinstance(ev, PoseUpdate) and ev.source == a.client_id and ev.sample.seq >= first:
                        arrivals[x].append(loop.time())

            listeners = [asyncio.create_task(listen(x)) for x in (b, c)]
            proxy.set_faults(direction, loss=loss, burst=burst)
            before = proxy.stats()[direction]
            t0 = loop.time()
            n = int(seconds * RATE)
            for k in range(n):
                delay = t0 + k / RATE - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                a.send_pose(*motion(k / RATE))
            t_end = loop.time()
            await asyncio.sleep(0.4)
            after = proxy.stats()[direction]
            late, undecodable = b.pose_late - late0, b.pose_undecodable - undec0
            for t in (*listeners, side):
                t.cancel()
            await asyncio.gather(*listeners, side, return_exceptions=True)
    finally:
        await proxy.close()
    near = [t for t in arrivals[b] if t >= t0]
    edges = [t0, *near, max(t_end, near[-1] if near else t0)]
    freeze = max(b2 - b1 for b1, b2 in zip(edges, edges[1:]))
    far = [t for t in arrivals[c] if t >= t0]
    sent = len(sizes)
    dur = n / RATE
    seen = after["datagrams"] - before["datagrams"]
    lost = (after["dropped"] - before["dropped"]) + (after["blacked_out"] - before["blacked_out"])
    return Result(codec, loss, sent, len(near), freeze, len(far) / dur,
                  sum(p for p, _, _ in sizes) / dur,
                  sum(wire.MEDIA_HEADER_SIZE + f + TAG_SIZE + UDP_IP for _, f, _ in sizes) / dur,
                  lost / seen if seen else 0.0, sum(k for _, _, k in sizes), lost, late, undecodable)


def table(rows: list[Result]) -> str:
    out = ["| codec | loss (realized) | sent | decoded | delivery | longest freeze | far listener | payload | datagrams |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r.codec} | {r.loss * 100:.0f} % ({r.realized_loss * 100:.1f} %) | {r.sent} | {r.decoded} | {r.delivery * 100:.1f} % | "
                   f"{r.longest_freeze:.2f} s | {r.far_per_s:.1f} /s | {r.payload_bps:.0f} B/s | {r.datagram_bps:.0f} B/s |")
    return "\n".join(out)


def combine(runs: list[Result]) -> Result:
    """Runs of one codec and loss rate (several seeds) as one row: frames summed, the longest
    freeze of all, rates averaged."""
    n = len(runs)
    return Result(runs[0].codec, runs[0].loss, sum(r.sent for r in runs), sum(r.decoded for r in runs),
                  max(r.longest_freeze for r in runs), sum(r.far_per_s for r in runs) / n,
                  sum(r.payload_bps for r in runs) / n, sum(r.datagram_bps for r in runs) / n,
                  sum(r.realized_loss for r in runs) / n, sum(r.keyframes for r in runs), sum(r.dropped for r in runs),
                  sum(r.late for r in runs), sum(r.undecodable for r in runs))


async def _main(args: argparse.Namespace) -> list[Result]:
    rows = []
    async with EmbeddedRelay() as relay:
        for loss in args.loss:
            for codec in ("old", "new"):
                runs = []
                for seed in args.seeds:
                    r = await measure(relay, codec, loss, args.seconds, args.burst, seed, args.direction)
                    runs.append(r)
                    print(f"  {codec} at {loss * 100:.0f} % loss ({args.direction}, seed {seed}, realized "
                          f"{r.realized_loss * 100:.1f} %): {r.decoded}/{r.sent} decoded, longest freeze "
                          f"{r.longest_freeze:.2f} s", file=sys.stderr, flush=True)
                rows.append(combine(runs))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--loss", type=float, nargs="+", default=[0.0, 0.05, 0.2, 0.5], help="loss rates to run (0..1)")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of streaming per run (default 10)")
    p.add_argument("--burst", type=float, default=1.0, help="mean loss burst length (1: independent loss)")
    p.add_argument("--direction", choices=("up", "down"), default="up",
                   help="up: the sender's uplink is lossy; down: the near listener's downlink")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3],
                   help="fault proxy seeds: one run per seed, summed in a row (default 1 2 3)")
    args = p.parse_args(argv)
    rows = asyncio.run(_main(args))
    print(f"pose streams at {RATE:g} Hz, {len(args.seeds)} runs of {args.seconds:g} s per row, loss on the {args.direction}link"
          f"{'' if args.burst <= 1 else f' in bursts of {args.burst:g}'}:")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
