#!/usr/bin/env python3
"""PESQ-WB of the voice path under packet loss (tools/bench/voice_pesq.py).

    .venv/bin/python tools/bench/voice_pesq.py [--seeds 5] [--repeat 2]

Speech: Debian alsa-utils' recordings (/usr/share/sounds/alsa/*.wav without Noise.wav),
concatenated, --repeat times (default 2: 22.8 s, so the loss estimate that drives FEC has
settled for most of the clip). Each condition runs the full sender -> simulated network
-> adaptive jitter buffer -> decoder path (vrdiplomacy.voice.simulate) with receiver
reports driving the encoder's expected loss, and is scored with PESQ-WB (pesq package,
'wb' mode, 48 kHz resampled to 16 kHz with scipy.signal.resample_poly). Prints mean and
minimum over --seeds network seeds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vrdiplomacy.voice import simulate  # noqa: E402
from vrdiplomacy.voice.codec import OpusSettings  # noqa: E402
from vrdiplomacy.voice.netsim import NetSimSettings  # noqa: E402
from vrdiplomacy.voice.sender import SenderSettings  # noqa: E402

CONDITIONS = [
    # label, loss, burst, jitter ms, bandwidth, target
    ("no loss", 0.00, 1.0, 0.0, "wb", 4.2),
    ("5 % random", 0.05, 1.0, 0.0, "wb", 3.9),
    ("10 % random", 0.10, 1.0, 0.0, "wb", 3.5),
    ("5 % random, 20 ms jitter", 0.05, 1.0, 20.0, "wb", None),
    ("5 %, bursts of 2", 0.05, 2.0, 0.0, "wb", None),
    ("no loss, fullband", 0.00, 1.0, 0.0, "fb", None),
    ("5 % random, fullband", 0.05, 1.0, 0.0, "fb", None),
    ("10 % random, fullband", 0.10, 1.0, 0.0, "fb", None),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    x1 = simulate.alsa_speech()
    x = np.concatenate([x1] * a.repeat)
    if simulate.pesq_wb(x1[:48000 * 3], x1[:48000 * 3]) is None:
        print("the pesq package is not installed: pip install pesq")
        return 1
    print(f"speech: {x.size / 48000:.1f} s (alsa-utils recordings x{a.repeat}); Opus 32 kb/s VBR, 20 ms, "
          f"FEC on, DTX on, VAD; seeds 1..{a.seeds}")
    print(f"{'condition':28s} {'band':4s} {'PESQ-WB mean':>12s} {'min':>6s} {'target':>7s} {'lost':>5s} "
          f"{'FEC':>5s} {'late':>5s} {'m2e ms':>7s}")
    ok = True
    for label, loss, burst, jit, bw, target in CONDITIONS:
        scores, lost, fec, late, lat = [], 0, 0, 0, []
        t0 = time.perf_counter()
        for seed in range(1, a.seeds + 1):
            r = simulate.run(x, SenderSettings(opus=OpusSettings(bandwidth=bw)),
                             NetSimSettings(loss=loss, burst=burst, jitter_ms=jit), seed=seed)
            s = simulate.pesq_wb(x, r.output)
            assert s is not None
            scores.append(s)
            lost += r.network_lost
            fec += r.fec
            late += r.late
            lat.append(r.latency_ms)
        mean = float(np.mean(scores))
        tgt = f">={target:.1f}" if target else ""
        if target and mean < target:
            ok = False
            tgt += " MISS"
        print(f"{label:28s} {bw:4s} {mean:12.3f} {min(scores):6.3f} {tgt:>7s} {lost:5d} {fec:5d} {late:5d} "
              f"{np.mean(lat):7.1f}   ({time.perf_counter() - t0:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
