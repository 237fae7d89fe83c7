"""Speech through a live session over a real relay, with loss and jitter injected between the
clients and the relay by tools/faultproxy.py, keeps its quality (PESQ-WB): the acceptance
thresholds of issue 16 at a short duration (tools/bench/voice_loss_live.py is the full bench).

Fails on main e0e384d: no loss reports are sent in a session, so the sender never protects its
stream (issue 16 measured PESQ-WB 3.28 / 2.77 / 1.95 at 5 / 10 / 20 % loss, 2.35 for bursts),
and whole-frame skips and stretches made 20 ms of jitter cost 1.3 points (3.03). About 3 minutes
(three loss patterns per condition, their mean against the threshold); a run is measured again
only when the machine stalled the process.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from toolscripts import load_tool

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    return load_tool("bench/voice_loss_live.py", "vrd_voice_loss_live")


CLIP = ("Front_Left", "Rear_Center")  # tuning-set recordings, 2.8 s, played twice
SEEDS = (3, 4, 5)  # fault proxy seeds: three loss patterns per condition


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    b = _bench()
    if not all((b.ALSA / f"{n}.wav").is_file() for n in CLIP):
        pytest.skip("needs alsa-utils' recorded speech (apt install alsa-utils)")
    try:
        import pesq  # noqa: F401
    except ImportError:
        pytest.skip("needs the pesq package")
    b.warm_up()
    return b


@pytest.mark.parametrize("label,loss,burst,jitter,target", [c for c in _bench().CONDITIONS], ids=[c[0] for c in _bench().CONDITIONS])
def test_live_speech_quality_under_loss(bench: ModuleType, label: str, loss: float, burst: float, jitter: float,
                                        target: float) -> None:
    clip = bench.speech(CLIP)
    runs = []
    for seed in SEEDS:  # one loss pattern can hit every word: the mean of three is what a listener meets
        r = bench.live(clip, loss, burst, jitter, seed=seed, settle=1.0)
        if r.warm < target and (r.stats["stalls"] > 0 or r.stats["late_blocks"] > 0):
            # the test machine starved the process (the event loop woke over 30 ms late, audio ticks
            # came late): that is not the network under test, so measure once more
            print(f"{label}: {r.warm:.2f} with {r.stats['stalls']:.0f} stalls "
                  f"(longest {r.stats['stall_ms']:.0f} ms), {r.stats['late_blocks']:.0f} late audio ticks; again")
            r = bench.live(clip, loss, burst, jitter, seed=seed + 100, settle=1.0)
        print(f"{label}, seed {seed}: PESQ-WB {r.warm:.2f} (first pass {r.cold:.2f}), {r.stats}")
        runs.append(r)
    mean = sum(r.warm for r in runs) / len(runs)
    assert mean >= target, [round(r.warm, 2) for r in runs]
    r = runs[-1]
    if loss > 0:
        assert r.stats["applied"] >= 1  # the speaker heard the listener's loss reports
        assert r.stats["recovered"] > 0  # and lost frames played from copies in later packets
