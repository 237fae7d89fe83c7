"""A wheel built from the source tree carries the assets and shaders, and an install of it works
away from the checkout: it finds its layouts, HRTF and shaders, and renders a scene headless."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "vrdiplomacy", "assets", "shaders")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build a wheel from a copy of the sources (the checkout gets no build/ or egg-info litter)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=junk)
        else:
            shutil.copy2(p, src / name)
    dist = tmp / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (whl,) = dist.glob("vrdiplomacy-*.whl")
    return whl


def test_wheel_carries_assets_and_shaders(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = "vrdiplomacy/_data/"
    for scene in ("chamber", "bilateral", "embassy"):
        assert f"{data}assets/{scene}.glb" in names
        assert f"{data}assets/layouts/{scene}.json" in names
    assert f"{data}assets/hrtf/mit_kemar_48k.npz" in names
    assert f"{data}assets/data/delegations.json" in names
    for flags in ("flags.png", "flags.json", "FLAGS-LICENSE.txt"):  # the real flags and their licence
        assert f"{data}assets/textures/{flags}" in names
    shaders = {p.name for p in (ROOT / "shaders").iterdir() if p.is_file()}
    assert shaders and all(f"{data}shaders/{s}" in names for s in shaders)
    assert "vrdiplomacy/simxr/shim.c" in names and "vrdiplomacy/py.typed" in names
    assert not any("screenshots" in n for n in names), "README screenshots belong in the repository, not the wheel"


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The wheel unpacked as a site directory (what pip install puts there), and an environment using it."""
    site = tmp_path_factory.mktemp("site")
    zipfile.ZipFile(wheel).extractall(site)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "VRD_SHADER_DIR", "PYTHONPATH")}
    env.update(PYTHONPATH=str(site), PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless")
    return site, env


def test_installed_wheel_reads_its_own_data(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    site, env = installed
    code = (
        "import vrdiplomacy, vrdiplomacy.resources as r\n"
        "from vrdiplomacy.scene.layout import load_layout\n"
        "from vrdiplomacy.render.shaders import load_shader\n"
        "from vrdiplomacy.voice.hrtf import KEMAR_ASSET\n"
        "print(vrdiplomacy.__file__)\n"
        "print(r.data_root('assets'))\n"
        "print(len(load_layout('chamber').seats))\n"
        "print(KEMAR_ASSET.is_file())\n"
        "print(len(load_shader('static.vert')) > 0)\n"
        "from vrdiplomacy.render.flags import load_flag_atlas\n"
        "print(len(load_flag_atlas().cells))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    module, assets, seats, hrtf, shader, flags = p.stdout.split()
    assert Path(module).is_relative_to(site)
    assert Path(assets) == site / "vrdiplomacy" / "_data" / "assets"
    assert int(seats) >= 193
    assert hrtf == "True" and shader == "True"
    assert int(flags) == 193, "the installed client finds its real flags"


@pytest.mark.gl
def test_installed_wheel_renders_headless(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    _, env = installed
    out = tmp_path / "bilateral.png"
    p = subprocess.run([sys.executable, "-m", "vrdiplomacy", "render", "--scene", "bilateral", "--size", "96x64", "--out", str(out)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    from PIL import Image

    img = Image.open(out)
    assert img.size == (96, 64)
    assert len(img.convert("RGB").getcolors(maxcolors=1 << 16) or ()) > 20  # a scene, not a cleared framebuffer
