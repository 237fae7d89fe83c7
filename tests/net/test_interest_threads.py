"""Interest recompute at reception size costs the relay one thread's CPU, no more."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, time
from vrdiplomacy.net.interest import InterestSettings, RoomInterest
ri = RoomInterest(InterestSettings())
for cid in range(1, 401):
    ri.add(cid)
    ri.set_position(cid, ((cid % 20) * 1.5, 1.6, (cid // 20) * 1.5))
ri.recompute(0.0)
time.sleep(0.5)  # OpenBLAS's threads spin for a while after numpy's import: not what is measured here
p0, t0 = time.process_time(), time.thread_time()
for k in range(10):
    ri.recompute(float(k + 1))
    time.sleep(0.03)
main = time.thread_time() - t0
print(json.dumps({"main_s": main, "other_threads_s": time.process_time() - p0 - main}))
"""


def test_recompute_of_400_members_runs_no_spinning_helper_threads() -> None:
    """Routes for 400 members were computed with a BLAS matrix product (``pos @ pos.T``), whose
    OpenBLAS worker threads kept spinning on the relay's cores after each recompute: the relay's
    CPU doubled from 300 to 400 members. Fails on integ dd56d28 (other threads used 0.1 to 0.3 s
    of CPU here, against a few ms of the main thread's)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("OPENBLAS_NUM_THREADS", None)
    env.pop("OMP_NUM_THREADS", None)
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=str(ROOT),
                         timeout=60, check=True)
    r = json.loads(out.stdout)
    assert r["other_threads_s"] < max(0.02, r["main_s"]), r
