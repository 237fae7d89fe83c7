from __future__ import annotations

import numpy as np
import pytest

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.voice.mixer import Limiter, Mixer
from vrdiplomacy.voice.netsim import NetSim, NetSimSettings

FS = 48000


def test_limiter_holds_ceiling_and_leaves_quiet_audio_alone() -> None:
    lim = Limiter()
    t = np.arange(FS) / FS
    amp = np.where((t > 0.3) & (t < 0.6), 4.0, 0.25)
    x = np.stack([np.sin(2 * np.pi * 440 * t) * amp] * 2, axis=1).astype(np.float32)
    y = np.concatenate([lim.process(x[i:i + 480]) for i in range(0, FS, 480)])
    assert np.abs(y).max() <= lim.ceiling + 1e-6
    d = lim.L
    assert np.allclose(y[d:int(0.29 * FS)], x[:int(0.29 * FS) - d], atol=1e-6)  # before: untouched
    assert np.allclose(y[int(0.95 * FS):], x[int(0.95 * FS) - d:-d], atol=1e-3)  # released again
    step = np.abs(np.diff(y[:, 0]))
    assert step.max() < 0.2  # no hard clipping edges (a 440 Hz sine at 0.89 moves < 0.052/sample)


def test_mixer_sums_and_checks_shapes() -> None:
    m = Mixer()
    a = np.full((480, 2), 0.1, np.float32)
    y = m.mix([a, a], 480)
    assert y.shape == (480, 2)
    with pytest.raises(ConfigError):
        m.mix([np.zeros((100, 2))], 480)


def test_netsim_is_seeded_and_hits_its_rates() -> None:
    def run(seed: int, **kw: float) -> tuple[list[bytes], NetSim]:
        sim = NetSim(NetSimSettings(**kw), seed)
        got: list[bytes] = []
        for i in range(5000):
            sim.send(i.to_bytes(4, "big"), i * 0.02)
            got += [d for _, d in sim.receive(i * 0.02)]
        got += [d for _, d in sim.receive(1e9)]
        return got, sim

    a, sa = run(7, loss=0.1)
    b, _ = run(7, loss=0.1)
    assert a == b
    assert abs(sa.stats.lost / 5000 - 0.1) < 0.02
    _, sb = run(3, loss=0.1, burst=3.0)
    assert abs(sb.stats.lost / 5000 - 0.1) < 0.03
    got, _ = run(3, jitter_ms=20.0)
    order = [int.from_bytes(d, "big") for d in got]
    assert len(order) == 5000 and order != sorted(order)  # jitter reorders


def test_netsim_burst_lengths() -> None:
    sim = NetSim(NetSimSettings(loss=0.1, burst=4.0), 11)
    lost = [sim.delay_for_next() is None for _ in range(40000)]
    runs, n = [], 0
    for x in lost + [False]:
        if x:
            n += 1
        elif n:
            runs.append(n)
            n = 0
    assert 3.3 < float(np.mean(runs)) < 4.7


def test_netsim_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError):
        NetSim(NetSimSettings(loss=1.5))
    with pytest.raises(ConfigError):
        NetSim(NetSimSettings(burst=0.5))
