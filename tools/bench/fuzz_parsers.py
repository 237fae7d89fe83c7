"""A large fuzz campaign over every wire decoder (the mutators and decoders of tests/test_fuzz_parsers.py).

    .venv/bin/python tools/bench/fuzz_parsers.py [--per-decoder 22000] [--seed 1]

Prints, per decoder, the inputs fed and the seconds taken; exits 1 at the first decoder that raises
anything but a VrdError (the input is printed in hex), spends over 0.25 s on one input, or (a
canonical format) decodes an input that does not re-encode to the same bytes. The suite
runs the same with a few hundred inputs per decoder; this is the campaign to run by hand after
changing a parser.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import test_fuzz_parsers as fz


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-decoder", type=int, default=22_000, help="random mutations per decoder")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    fz.SEED = args.seed
    certs = fz.make_certs()
    total, t0 = 0, time.perf_counter()
    for name, decode, samples in fz.wire_decoders(certs):
        t1 = time.perf_counter()
        try:
            n = fz.hammer(name, decode, samples, args.per_decoder, canonical=bytes if name in fz.CANONICAL else None)
        except AssertionError as e:
            print(f"FAIL {e}")
            return 1
        total += n
        print(f"{name:40s} {n:8d} inputs {time.perf_counter() - t1:7.2f} s", flush=True)
    print(f"total {total} inputs in {time.perf_counter() - t0:.1f} s: only VrdError")
    return 0


if __name__ == "__main__":
    sys.exit(main())
