"""Where the data folders (``assets/``, ``shaders/``) are: a source checkout's, or an installed wheel's.

A source checkout (and the editable install the README's commands make) reads the top-level
``assets/`` and ``shaders/`` folders beside ``vrdiplomacy/``. A wheel carries copies of them as
``vrdiplomacy/_data/assets`` and ``vrdiplomacy/_data/shaders`` (``setup.py`` puts them there at
build time; the README screenshots stay out), so ``pip install vrdiplomacy-*.whl`` works anywhere.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_FOLDERS = ("assets", "shaders")


def data_root(name: str) -> Path:
    """The folder ``name`` (``"assets"`` or ``"shaders"``): the wheel's copy when installed from
    one, else the source checkout's (returned even when missing, so errors name where it looked)."""
    if name not in DATA_FOLDERS:
        raise ValueError(f"unknown data folder {name!r} (one of {', '.join(DATA_FOLDERS)})")
    packaged = PACKAGE_DIR / "_data" / name
    if packaged.is_dir():
        return packaged
    return PACKAGE_DIR.parent / name
