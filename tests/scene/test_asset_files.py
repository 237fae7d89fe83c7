"""The committed asset files: size budget, manifest, and that the generator reproduces them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from toolscripts import load_tool

from vrdiplomacy.scene.layout import ASSETS_DIR

REPO = ASSETS_DIR.parent
MANIFEST = ASSETS_DIR / "MANIFEST.json"


def test_assets_stay_under_the_size_budget() -> None:
    total = sum(p.stat().st_size for p in ASSETS_DIR.rglob("*") if p.is_file())
    assert total < 20 * 1024 * 1024, f"assets/ holds {total / 2**20:.1f} MiB"
    scenes = sum((ASSETS_DIR / f"{n}.glb").stat().st_size for n in ("chamber", "bilateral", "embassy"))
    assert scenes < 8 * 1024 * 1024


def test_manifest_matches_the_files() -> None:
    manifest = json.loads(MANIFEST.read_text())
    assert {"chamber.glb", "bilateral.glb", "embassy.glb", "layouts/chamber.json", "data/delegations.json"} <= set(
        manifest["files"]
    )
    for rel, info in manifest["files"].items():
        data = (ASSETS_DIR / rel).read_bytes()
        assert len(data) == info["bytes"], rel
        assert hashlib.sha256(data).hexdigest() == info["sha256"], f"{rel} changed since tools/gen_assets.py wrote it"


def _environment() -> dict[str, str]:
    return load_tool("gen_assets.py", "gen_assets").environment()  # type: ignore[no-any-return]


def test_generator_reproduces_the_committed_bytes(tmp_path: Path) -> None:
    manifest = json.loads(MANIFEST.read_text())
    env = _environment()
    if env != manifest["environment"]:
        pytest.skip(f"assets were generated with {manifest['environment']}, this machine has {env}: "
                    "byte-for-byte reproduction needs the same Pillow, numpy and font")
    out = tmp_path / "assets"
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "gen_assets.py"), "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    produced = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert produced == sorted([*manifest["files"], "MANIFEST.json"])
    for rel in produced:
        assert (out / rel).read_bytes() == (ASSETS_DIR / rel).read_bytes(), f"{rel} differs from the committed file"
