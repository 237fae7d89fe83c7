"""Checks of the files a command will write, made before its work starts: a wrong folder is one
error line at once, not a traceback (or a lost run) at the end."""

from __future__ import annotations

import os
from pathlib import Path

from vrdiplomacy.errors import ConfigError


def check_writable(path: str | Path, option: str) -> Path:
    """``path`` as a Path when a file can be written there (its folder exists and is writable, and
    it is not a folder itself); else ConfigError naming ``option``."""
    p = Path(path)
    folder = p.parent
    if p.is_dir():
        raise ConfigError(f"{option} {p}: cannot write it (it is a folder)")
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise ConfigError(f"{option} {p}: cannot write it (no writable folder {folder})")
    return p
