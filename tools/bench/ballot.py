"""Benchmark the secret ballot: cast (encrypt + proofs), verify, and the tally with 3 trustees.

    .venv/bin/python tools/bench/ballot.py [--voters 50] [--trustees 3] [--threshold 2] [--repeat 5]

Rows (median over ``--repeat`` runs, milliseconds; one core, single-threaded):

* cast: one voter's ballot for yes/no/abstain: three exponential-ElGamal ciphertexts, three
  disjunctive Chaum–Pedersen range proofs, one sum proof (target <= 5 ms);
* verify N: one client verifies N ballots (every proof) (target N = 50 <= 1 s);
* tally: after the close, each trustee computes its partial decryptions with proofs, and one client
  checks ``threshold`` of them, combines them and takes the discrete logs (target <= 2 s for 3
  trustees);
* key ceremony: commitments, sealed shares and their checks for all trustees (one process).

The group is ristretto255 from libsodium (``pysodium``). Exit code 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vrdiplomacy.ballot import ceremony as ce
from vrdiplomacy.ballot import proofs as zk
from vrdiplomacy.ballot.election import (
    ElectionContext,
    Manifest,
    encrypt_ballot,
    verify_ballot,
)


def timed(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--voters", type=int, default=50)
    ap.add_argument("--trustees", type=int, default=3)
    ap.add_argument("--threshold", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    voters = tuple(f"Delegation {i:03d}" for i in range(a.voters))
    tn = tuple(f"Trustee {i + 1}" for i in range(a.trustees))
    m = Manifest("bench", "1", "Adopt?", voters=voters, trustees=tn, threshold=a.threshold, chair="Chair")
    cid = ce.ceremony_id(bytes(m))
    ts: list[ce.Trustee] = []

    def ceremony() -> None:
        ts.clear()
        ts.extend(ce.Trustee(cid, i + 1, a.trustees, a.threshold) for i in range(a.trustees))
        comms = [t.commitment() for t in ts]
        for c in comms:
            c.verify(cid, a.threshold)
        dealt = {t.index: t.shares_for(comms) for t in ts}
        for t in ts:
            t.receive_shares(comms, {d: s[t.index] for d, s in dealt.items() if d != t.index})
        ts_comms[:] = comms

    ts_comms: list[ce.Commitment] = []
    t_cer = timed(ceremony, max(1, a.repeat // 2))
    ctx = ElectionContext(m, ce.joint_key(ts_comms))
    rng = random.Random(1)
    choices = [rng.randrange(3) for _ in voters]

    cast_runs = []
    ballots = []
    for i, v in enumerate(voters):
        t = time.perf_counter()
        ballots.append(encrypt_ballot(ctx, v, choices[i]))
        cast_runs.append(time.perf_counter() - t)
    t_cast = statistics.median(cast_runs) * 1e3
    t_cast_p95 = sorted(cast_runs)[int(0.95 * (len(cast_runs) - 1))] * 1e3

    def verify_all() -> None:
        for b in ballots:
            verify_ballot(ctx, b)

    t_verify = timed(verify_all, a.repeat)
    sums = [zk.add_all([b.ciphertexts[i] for b in ballots]) for i in range(3)]

    def tally() -> tuple[int, ...]:
        parts = {t.index: t.partial(ctx.hash, sums) for t in ts}  # every trustee decrypts
        use = sorted(parts)[: a.threshold]
        for j in use:  # one client checks what it combines
            pub = ce.public_share(ts_comms, j)
            for i, (mj, pr) in enumerate(parts[j]):
                assert ce.check_partial(ctx.hash, j, i, pub, sums[i], mj, pr)
        return tuple(ce.combine(sums[i], {j: parts[j][i][0] for j in use}, len(ballots)) for i in range(3))

    t_tally = timed(tally, a.repeat)
    assert tally() == tuple(choices.count(i) for i in range(3))

    rows = [
        ("key ceremony", f"{a.trustees} trustees, threshold {a.threshold}", t_cer, None),
        ("cast one ballot", f"median of {a.voters} (p95 {t_cast_p95:.2f} ms)", t_cast, 5.0),
        (f"verify {a.voters} ballots", "every proof", t_verify, 1000.0 * a.voters / 50),
        (f"tally, {a.trustees} trustees", f"{a.voters} ballots, threshold {a.threshold}", t_tally, 2000.0),
    ]
    print("| step | what | ms | target |\n|---|---|---:|---:|")
    ok = True
    for name, what, ms, target in rows:
        mark = "" if target is None else (f"<= {target:g}" + (" ok" if ms <= target else " MISSED"))
        ok &= target is None or ms <= target
        print(f"| {name} | {what} | {ms:.2f} | {mark} |")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
