#!/usr/bin/env python3
"""CPU cost of receiving 16 simultaneous speakers (tools/bench/voice_cpu.py).

    .venv/bin/python tools/bench/voice_cpu.py [--speakers 16] [--blocks 500]

Per 20 ms block: 16 voice packets are filed in the receiver (parse, jitter buffer), each
speaker's frame is decoded (libopus), all are spatialized with the KEMAR HRTFs while the
listener turns at 360 deg/s and the speakers move (worst case: every filter changes every
block, so every block is crossfaded), then mixed and limited. Reports process CPU time per
block (single-threaded BLAS/FFT) and the wall time distribution.
"""

from __future__ import annotations

import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vrdiplomacy.scene.math3d import Pose  # noqa: E402
from vrdiplomacy.voice import simulate  # noqa: E402
from vrdiplomacy.voice.codec import OpusSettings  # noqa: E402
from vrdiplomacy.voice.hrtf import load_kemar  # noqa: E402
from vrdiplomacy.voice.mixer import Mixer  # noqa: E402
from vrdiplomacy.voice.receiver import VoiceReceiver  # noqa: E402
from vrdiplomacy.voice.sender import SenderSettings, VoiceSender  # noqa: E402
from vrdiplomacy.voice.spatial import SpatialSettings, Spatializer  # noqa: E402

FS, B = 48000, 960


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--speakers", type=int, default=16)
    ap.add_argument("--blocks", type=int, default=500)
    a = ap.parse_args()
    n, nb = a.speakers, a.blocks
    speech = simulate.alsa_speech()
    warm = 20
    total = nb + warm
    streams: list[list[bytes]] = []
    for s in range(n):
        snd = VoiceSender(s + 1, SenderSettings(opus=OpusSettings(dtx=False), transmit="continuous"))
        x = np.roll(speech, s * 7919)
        need = total * B
        x = np.tile(x, need // x.size + 1)[:need]
        streams.append([bytes(p) for k in range(total) for p in snd.capture(x[k * B:(k + 1) * B])])
    rcv = VoiceReceiver()
    spat = Spatializer(load_kemar(), SpatialSettings(block=B))
    mix = Mixer()
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    cpu, wall, stage = [], [], np.zeros(3)
    decoded_per_block = []
    for k in range(total):
        now = (k + 1) * B / FS
        c0, w0 = time.process_time(), time.perf_counter()
        for s in range(n):
            rcv.receive(streams[s][k], now - 0.001)
        voices = rcv.pull(now, B)
        c_dec = time.process_time()
        listener = Pose.from_yaw([0.0, 1.2, 0.0], (k * 7.2) % 360.0)
        pos = {spk: (np.array([3 * np.cos(angles[i] + 0.01 * k), 1.2, 3 * np.sin(angles[i] + 0.01 * k)]), v)
               for i, (spk, v) in enumerate(voices.items())}
        stereo = spat.render(listener, pos)
        c_sp = time.process_time()
        out = mix.mix([stereo], B)
        c1, w1 = time.process_time(), time.perf_counter()
        if k >= warm:
            cpu.append((c1 - c0) * 1e3)
            wall.append((w1 - w0) * 1e3)
            decoded_per_block.append(len(voices))
            stage += ((c_dec - c0) * 1e3, (c_sp - c_dec) * 1e3, (c1 - c_sp) * 1e3)
        assert out.shape == (B, 2)
    cpu_a, wall_a = np.array(cpu), np.array(wall)
    print(f"{n} speakers, {nb} blocks of 20 ms, KEMAR {spat.hrtf.length} taps, FFT {spat.nfft}, "
          f"{np.mean(decoded_per_block):.1f} voices decoded per block")
    print(f"{'per 20 ms block':22s} {'mean':>7s} {'median':>7s} {'p95':>7s} {'max':>7s}")
    print(f"{'CPU time (ms)':22s} {cpu_a.mean():7.3f} {np.median(cpu_a):7.3f} {np.percentile(cpu_a, 95):7.3f} "
          f"{cpu_a.max():7.3f}")
    print(f"{'wall time (ms)':22s} {wall_a.mean():7.3f} {np.median(wall_a):7.3f} {np.percentile(wall_a, 95):7.3f} "
          f"{wall_a.max():7.3f}")
    st = stage / len(cpu)
    print(f"CPU by stage (ms): receive+jitter buffer+decode {st[0]:.3f}, spatialize {st[1]:.3f}, "
          f"mix+limiter {st[2]:.3f}")
    print(f"target: <= 2 ms CPU per block: {'met' if cpu_a.mean() <= 2.0 else 'MISSED'} (mean)")
    return 0 if cpu_a.mean() <= 2.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
