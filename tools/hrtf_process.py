#!/usr/bin/env python3
"""Process the MIT KEMAR SOFA file into the compact HRTF set shipped in assets/hrtf/.

    .venv/bin/python tools/hrtf_process.py [--sofa /usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa]
                                           [--length 256] [--out assets/hrtf/mit_kemar_48k.npz]

Reads the SOFA file through libmysofa (Debian: libmysofa1; no h5py needed), resamples the
44.1 kHz impulse responses to 48 kHz, splits each into an onset-aligned filter of --length taps
and a per-ear delay, normalises to unit diffuse-field energy and writes a compressed .npz that
vrdiplomacy.voice.hrtf.load_kemar() reads. Prints a short summary (ITD/ILD at a few angles).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vrdiplomacy.voice.hrtf import (  # noqa: E402
    KEMAR_ASSET,
    KEMAR_CITATION,
    SYSTEM_SOFA,
    head_direction,
    hrtf_from_sofa,
    load_hrtf,
    save_hrtf,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sofa", default=str(SYSTEM_SOFA), help="input SOFA file (SimpleFreeFieldHRIR)")
    ap.add_argument("--length", type=int, default=256, help="taps per filter at 48 kHz (default 256)")
    ap.add_argument("--out", default=str(KEMAR_ASSET), help="output .npz")
    a = ap.parse_args()
    h = hrtf_from_sofa(a.sofa, 48000, a.length)
    h.name = "MIT KEMAR normal pinna (48 kHz, onset-aligned)"
    h.citation = KEMAR_CITATION
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    save_hrtf(h, a.out)
    back = load_hrtf(a.out)
    print(f"wrote {a.out}: {back.directions.shape[0]} directions, {back.length} taps, "
          f"{Path(a.out).stat().st_size / 1024:.0f} KiB")
    for az in (-90, -45, 0, 45, 90, 180):
        i = back.nearest(head_direction(az))
        itd_ms = (back.delay[i, 0] - back.delay[i, 1]) / back.fs * 1e3
        print(f"  azimuth {az:+4d} deg (clockwise): onset ITD {itd_ms:+.3f} ms (left minus right)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
