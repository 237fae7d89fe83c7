#!/usr/bin/env python3
"""Build the committed flag atlas ``assets/textures/flags.png`` from the npm package flag-icons.

    python tools/fetch_flags.py                        # npm pack flag-icons@7.5.0, rasterize, write
    python tools/fetch_flags.py --tarball FILE.tgz     # use a tarball already downloaded
    python tools/fetch_flags.py --check                # rebuild in memory, compare with the committed files

Tool-time only: it needs ``npm`` (or ``--tarball``) and the SVG rasterizer ``resvg-py``
(``pip install -e '.[assets]'``). Nothing at runtime or in the tests needs either: the client, the
tests and ``tools/gen_assets.py`` read the committed PNG.

Outputs (under ``assets/textures/``):

- ``flags.png``: one cell per UN member state, in General Assembly order, 16 cells a row. A cell is
  96 x 72 px, the 4:3 drawing flag-icons ships (``flags/4x3/<iso2>.svg``) rasterized to fill the cell
  exactly: no letterbox, so a banner or tag shows the whole flag edge to edge. (Flags whose official
  ratio is not 4:3 — 1:2, 2:3, 1:1 — are drawn by flag-icons' own 4:3 adaptation, not stretched here.)
- ``flags.json``: ``{"cell": [w, h], "cols": n, "flags": {alpha-3 code: {"iso2": .., "cell": [x, y]}}}``.
- ``FLAGS-LICENSE.txt``: provenance (package, version, tarball SHA-256, rasterizer, date) and the
  flag-icons MIT licence text.

The rasterizer renders each SVG at 4x the cell and Pillow box-filters it down, so edges are
antialiased the same way for every flag.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from PIL import Image  # noqa: E402

from assetgen.un_members import MEMBERS  # noqa: E402

REPO = HERE.parent
OUT = REPO / "assets" / "textures"
PACKAGE = "flag-icons"
VERSION = "7.5.0"
CELL = (96, 72)
COLS = 16
SUPERSAMPLE = 4

# ISO 3166-1 alpha-3 (the delegation code) -> alpha-2 (flag-icons' file name), every UN member state.
ISO2: dict[str, str] = {
    "AFG": "af", "ALB": "al", "DZA": "dz", "AND": "ad", "AGO": "ao", "ATG": "ag", "ARG": "ar", "ARM": "am",
    "AUS": "au", "AUT": "at", "AZE": "az", "BHS": "bs", "BHR": "bh", "BGD": "bd", "BRB": "bb", "BLR": "by",
    "BEL": "be", "BLZ": "bz", "BEN": "bj", "BTN": "bt", "BOL": "bo", "BIH": "ba", "BWA": "bw", "BRA": "br",
    "BRN": "bn", "BGR": "bg", "BFA": "bf", "BDI": "bi", "CPV": "cv", "KHM": "kh", "CMR": "cm", "CAN": "ca",
    "CAF": "cf", "TCD": "td", "CHL": "cl", "CHN": "cn", "COL": "co", "COM": "km", "COG": "cg", "CRI": "cr",
    "CIV": "ci", "HRV": "hr", "CUB": "cu", "CYP": "cy", "CZE": "cz", "PRK": "kp", "COD": "cd", "DNK": "dk",
    "DJI": "dj", "DMA": "dm", "DOM": "do", "ECU": "ec", "EGY": "eg", "SLV": "sv", "GNQ": "gq", "ERI": "er",
    "EST": "ee", "SWZ": "sz", "ETH": "et", "FJI": "fj", "FIN": "fi", "FRA": "fr", "GAB": "ga", "GMB": "gm",
    "GEO": "ge", "DEU": "de", "GHA": "gh", "GRC": "gr", "GRD": "gd", "GTM": "gt", "GIN": "gn", "GNB": "gw",
    "GUY": "gy", "HTI": "ht", "HND": "hn", "HUN": "hu", "ISL": "is", "IND": "in", "IDN": "id", "IRN": "ir",
    "IRQ": "iq", "IRL": "ie", "ISR": "il", "ITA": "it", "JAM": "jm", "JPN": "jp", "JOR": "jo", "KAZ": "kz",
    "KEN": "ke", "KIR": "ki", "KWT": "kw", "KGZ": "kg", "LAO": "la", "LVA": "lv", "LBN": "lb", "LSO": "ls",
    "LBR": "lr", "LBY": "ly", "LIE": "li", "LTU": "lt", "LUX": "lu", "MDG": "mg", "MWI": "mw", "MYS": "my",
    "MDV": "mv", "MLI": "ml", "MLT": "mt", "MHL": "mh", "MRT": "mr", "MUS": "mu", "MEX": "mx", "FSM": "fm",
    "MCO": "mc", "MNG": "mn", "MNE": "me", "MAR": "ma", "MOZ": "mz", "MMR": "mm", "NAM": "na", "NRU": "nr",
    "NPL": "np", "NLD": "nl", "NZL": "nz", "NIC": "ni", "NER": "ne", "NGA": "ng", "MKD": "mk", "NOR": "no",
    "OMN": "om", "PAK": "pk", "PLW": "pw", "PAN": "pa", "PNG": "pg", "PRY": "py", "PER": "pe", "PHL": "ph",
    "POL": "pl", "PRT": "pt", "QAT": "qa", "KOR": "kr", "MDA": "md", "ROU": "ro", "RUS": "ru", "RWA": "rw",
    "KNA": "kn", "LCA": "lc", "VCT": "vc", "WSM": "ws", "SMR": "sm", "STP": "st", "SAU": "sa", "SEN": "sn",
    "SRB": "rs", "SYC": "sc", "SLE": "sl", "SGP": "sg", "SVK": "sk", "SVN": "si", "SLB": "sb", "SOM": "so",
    "ZAF": "za", "SSD": "ss", "ESP": "es", "LKA": "lk", "SDN": "sd", "SUR": "sr", "SWE": "se", "CHE": "ch",
    "SYR": "sy", "TJK": "tj", "THA": "th", "TLS": "tl", "TGO": "tg", "TON": "to", "TTO": "tt", "TUN": "tn",
    "TUR": "tr", "TKM": "tm", "TUV": "tv", "UGA": "ug", "UKR": "ua", "ARE": "ae", "GBR": "gb", "TZA": "tz",
    "USA": "us", "URY": "uy", "UZB": "uz", "VUT": "vu", "VEN": "ve", "VNM": "vn", "YEM": "ye", "ZMB": "zm",
    "ZWE": "zw",
}


def check_mapping() -> list[str]:
    """Every member state maps, to a distinct alpha-2 code; the problems found (none: [])."""
    codes = [m[0] for m in MEMBERS]
    bad = [f"{c}: no alpha-2 code" for c in codes if c not in ISO2]
    bad += [f"{c}: mapped but not a member state" for c in ISO2 if c not in codes]
    if len(set(ISO2.values())) != len(ISO2):
        bad.append("two delegations share an alpha-2 code")
    return bad


def npm_pack(dest: Path) -> Path:
    """``npm pack flag-icons@VERSION`` into ``dest``; the tarball's path."""
    try:
        p = subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(dest)],
                           capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        raise SystemExit("fetch_flags: npm is not installed; download the tarball and pass --tarball") from None
    if p.returncode != 0:
        raise SystemExit(f"fetch_flags: npm pack failed:\n{p.stderr}")
    (tgz,) = dest.glob(f"{PACKAGE}-{VERSION}.tgz")
    return tgz


def read_package(tgz: Path) -> tuple[dict[str, bytes], str, str]:
    """The 4:3 SVGs by alpha-2 code, the LICENSE text and package.json's version."""
    svgs: dict[str, bytes] = {}
    licence = version = ""
    with tarfile.open(tgz, "r:gz") as tar:
        for m in tar.getmembers():
            if not m.isfile():
                continue
            f = tar.extractfile(m)
            if f is None:
                continue
            name = m.name.removeprefix("package/")
            if name.startswith("flags/4x3/") and name.endswith(".svg"):
                svgs[name[len("flags/4x3/"):-4]] = f.read()
            elif name == "LICENSE":
                licence = f.read().decode("utf-8")
            elif name == "package.json":
                version = str(json.loads(f.read())["version"])
    if not licence or not svgs:
        raise SystemExit(f"fetch_flags: {tgz} is not a flag-icons package (no LICENSE or flags/4x3)")
    return svgs, licence, version


def rasterize(svg: bytes) -> Image.Image:
    """One flag, CELL-sized RGB: rendered at SUPERSAMPLE x by resvg, box-filtered down by Pillow."""
    import resvg_py

    w, h = CELL[0] * SUPERSAMPLE, CELL[1] * SUPERSAMPLE
    png = resvg_py.svg_to_bytes(svg_string=svg.decode("utf-8"), width=w, height=h, background="#ffffff",
                                skip_system_fonts=True, shape_rendering="geometric_precision")
    img = Image.open(io.BytesIO(bytes(png))).convert("RGB")
    if img.size != (w, h):
        raise SystemExit(f"fetch_flags: rasterizer gave {img.size}, wanted {(w, h)}")
    return img.resize(CELL, Image.Resampling.BOX)


def build(tgz: Path) -> dict[str, bytes]:
    """The three output files by name."""
    import resvg_py  # noqa: F401 (fail early with a clear message)

    bad = check_mapping()
    if bad:
        raise SystemExit("fetch_flags: " + "; ".join(bad))
    svgs, licence, version = read_package(tgz)
    if version != VERSION:
        raise SystemExit(f"fetch_flags: {tgz} is flag-icons {version}, expected {VERSION}")
    codes = [m[0] for m in MEMBERS]
    missing = [c for c in codes if ISO2[c] not in svgs]
    if missing:
        raise SystemExit(f"fetch_flags: no 4x3 SVG for {missing}")
    rows = (len(codes) + COLS - 1) // COLS
    atlas = Image.new("RGB", (COLS * CELL[0], rows * CELL[1]), (255, 255, 255))
    table: dict[str, dict[str, object]] = {}
    for i, code in enumerate(codes):
        x, y = (i % COLS) * CELL[0], (i // COLS) * CELL[1]
        atlas.paste(rasterize(svgs[ISO2[code]]), (x, y))
        table[code] = {"iso2": ISO2[code], "cell": [x, y]}
    buf = io.BytesIO()
    atlas.save(buf, format="PNG", optimize=True)
    sha = hashlib.sha256(tgz.read_bytes()).hexdigest()
    meta = {
        "description": "Real national flags of the 193 UN member states, one cell each, from the npm package "
        f"{PACKAGE} {VERSION} (MIT, see FLAGS-LICENSE.txt): its 4:3 SVG rasterized to fill the cell. "
        "Written by tools/fetch_flags.py; code: ISO 3166-1 alpha-3; cell: the top-left pixel in flags.png.",
        "source": {"package": PACKAGE, "version": VERSION, "tarball_sha256": sha},
        "image": "flags.png",
        "cell": list(CELL),
        "cols": COLS,
        "flags": table,
    }
    import resvg_py as r

    rasterizer = f"resvg-py {getattr(r, '__version__', '') or _dist_version('resvg-py')}"
    prov = (
        "Flag images in flags.png (assets/textures/) come from the npm package flag-icons.\n\n"
        f"Package:   {PACKAGE}@{VERSION} (https://github.com/lipis/flag-icons)\n"
        f"Tarball:   {PACKAGE}-{VERSION}.tgz, SHA-256 {sha}\n"
        f"Files:     flags/4x3/<iso2>.svg for the 193 UN member states\n"
        f"Rendered:  {rasterizer}, {CELL[0] * SUPERSAMPLE}x{CELL[1] * SUPERSAMPLE} px, box-filtered to "
        f"{CELL[0]}x{CELL[1]} px cells by Pillow\n"
        f"Tool:      tools/fetch_flags.py\n"
        f"Date:      2026-12-07\n\n"
        "The flag-icons licence:\n\n" + licence.rstrip() + "\n"
    )
    return {
        "flags.png": buf.getvalue(),
        "flags.json": (json.dumps(meta, indent=1) + "\n").encode("utf-8"),
        "FLAGS-LICENSE.txt": prov.encode("utf-8"),
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Rasterize flag-icons' SVGs into the committed flag atlas.")
    ap.add_argument("--tarball", type=Path, help=f"{PACKAGE}-{VERSION}.tgz already downloaded (default: npm pack)")
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (default: assets/textures/)")
    ap.add_argument("--check", action="store_true", help="rebuild and compare with the files in --out")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tgz = args.tarball or npm_pack(Path(tmp))
        files = build(tgz)
    if args.check:
        bad = [n for n, data in files.items() if not (args.out / n).is_file() or (args.out / n).read_bytes() != data]
        print("differs: " + ", ".join(bad) if bad else f"{len(files)} files identical in {args.out}")
        return 1 if bad else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).write_bytes(data)
        print(f"{len(data):>10,d}  {args.out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
