#!/usr/bin/env python3
"""Mouth-to-ear latency and late loss over real loopback UDP (tools/bench/voice_latency_udp.py).

    .venv/bin/python tools/bench/voice_latency_udp.py [--seconds 20] [--jitter-ms 20]

A minimal sender and receiver (plain asyncio UDP sockets on 127.0.0.1, not the relay):
the sender takes 10 ms microphone blocks from recorded speech at their real-time
instants, encodes (Opus 32 kb/s, 20 ms) and sends each packet; a jitter run delays each
send by 3 sigma + N(0, sigma) before it goes on the wire. The receiver files datagrams
with their arrival time and plays 10 ms blocks at their real-time instants through the
adaptive jitter buffer. The played signal is put on the same clock as the injected one
and the mouth-to-ear delay is the lag of their cross-correlation (capture block, Opus
framing and look-ahead, network, buffer; no sound-card buffers). Late loss: packets that
arrived after their playout time, over packets received.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vrdiplomacy.voice import simulate  # noqa: E402
from vrdiplomacy.voice.receiver import VoiceReceiver  # noqa: E402
from vrdiplomacy.voice.sender import VoiceSender  # noqa: E402

FS, B = 48000, 480


async def measure(x: np.ndarray, jitter_ms: float, seed: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    rcv = VoiceReceiver()

    class Rx(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            rcv.receive(data, loop.time())

    rx_t, _ = await loop.create_datagram_endpoint(Rx, local_addr=("127.0.0.1", 0))
    port = rx_t.get_extra_info("sockname")[1]
    tx_t, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=("127.0.0.1", port))
    snd = VoiceSender(1)
    rng = np.random.default_rng(seed)
    sigma = jitter_ms / 1000.0
    nblocks = x.size // B
    tail = int((0.5 + 6 * sigma) * FS / B)
    out = np.zeros((nblocks + tail + 2) * B, dtype=np.float32)
    t0 = loop.time() + 0.2
    lateness: list[float] = []

    async def until(t: float) -> None:
        d = t - loop.time()
        if d > 0:
            await asyncio.sleep(d)

    async def capture() -> None:
        for k in range(nblocks):
            t = t0 + (k + 1) * B / FS
            await until(t)
            for pkt in snd.capture(x[k * B:(k + 1) * B]):
                data = bytes(pkt)
                if sigma > 0:
                    d = max(0.0, 3 * sigma + rng.normal(0.0, sigma))
                    loop.call_at(t + d, tx_t.sendto, data)
                else:
                    tx_t.sendto(data)

    async def playout() -> None:
        for k in range(nblocks + tail):
            t = t0 + (k + 1) * B / FS
            await until(t)
            lateness.append(loop.time() - t)
            voices = rcv.pull(t, B)
            if voices:
                out[(k + 1) * B:(k + 2) * B] = sum(voices.values())

    try:
        await asyncio.gather(capture(), playout())
    finally:
        tx_t.close()
        rx_t.close()
    lag = simulate.delay_by_xcorr(x, out, int((0.6 + 6 * sigma) * FS))
    jb = rcv.jitter_buffer(1)
    st = jb.stats
    return {
        "m2e_ms": lag / FS * 1000.0,
        "late": st.late,
        "received": st.received + st.late,
        "late_pct": 100.0 * st.late / max(1, st.received + st.late),
        "buffer_ms": float(np.median(st.buffer_ms)) if st.buffer_ms else 0.0,
        "sched_p99_ms": float(np.percentile(lateness, 99) * 1000.0),
        "sent": snd.sent,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="speech per run (default 20)")
    ap.add_argument("--jitter-ms", type=float, default=20.0, help="sigma of the jitter run (default 20)")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    x1 = simulate.alsa_speech()
    x = np.tile(x1, int(a.seconds * FS / x1.size) + 1)[: int(a.seconds * FS)]
    print(f"loopback UDP 127.0.0.1, speech {x.size / FS:.1f} s per run, 10 ms blocks, Opus 32 kb/s 20 ms")
    print(f"{'link':22s} {'mouth-to-ear':>12s} {'buffer med':>10s} {'late/received':>14s} {'late %':>7s} "
          f"{'timer p99':>9s}")
    ok = True
    for label, jit in (("clean", 0.0), (f"jitter sigma {a.jitter_ms:g} ms", a.jitter_ms)):
        r = asyncio.run(measure(x, jit, a.seed))
        print(f"{label:22s} {r['m2e_ms']:9.1f} ms {r['buffer_ms']:7.1f} ms {int(r['late']):6d}/{int(r['received']):<7d} "
              f"{r['late_pct']:7.2f} {r['sched_p99_ms']:6.1f} ms")
        if jit == 0.0 and r["m2e_ms"] > 60.0:
            ok = False
        if jit > 0 and r["late_pct"] > 2.0:
            ok = False
    print("targets: clean mouth-to-ear <= 60 ms; late loss <= 2 % with jitter: " + ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
