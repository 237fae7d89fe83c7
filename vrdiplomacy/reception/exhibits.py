"""Exhibits with narrated audio: a TOML file next to the scene's assets names, per exhibit of the
layout (its image and caption), a narration (a WAV file) played near it.

::

    # embassy-exhibits.toml (paths relative to this file)
    [[exhibit]]
    id = "highlands"                      # an exhibit of the scene's layout (image and caption from there)
    narration = "narration/highlands.wav"
    radius_m = 2.5                        # heard within this distance (default 2.5 m)

Narration is local to each visitor (every guest's client has the scene's assets and this file):
when the listener's head comes within ``radius_m`` of an exhibit, its narration starts from the
beginning and plays once, from the exhibit's position through the same HRTF spatializer, distance
gain and limiter as the voices (:class:`~vrdiplomacy.session.audio.ListenerMix` mixes what
:meth:`Narration.sources` returns); walking away stops it, coming back starts it again. Nothing
goes through the relay.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.voice.devices import read_wav

F32 = npt.NDArray[np.float32]
DEFAULT_RADIUS = 2.5
SOURCE_BASE = -1000  # mix keys of narrations: -1000, -1001, ... (never a relay client id or member key)


@dataclass(frozen=True)
class ExhibitSpec:
    """One exhibit: ``exhibit_id`` in the layout, its ``position`` and ``caption`` (the layout's)
    and the narration samples (48 kHz mono; empty: none) heard within ``radius_m``."""

    exhibit_id: str
    position: tuple[float, float, float]
    caption: str
    narration: F32
    radius_m: float = DEFAULT_RADIUS


def load_exhibits(path: Path, layout: Any) -> list[ExhibitSpec]:
    """The exhibits of ``layout`` with what ``path`` (TOML) adds; one-line errors (ConfigError)."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read exhibits file {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: exhibits file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    by_id = {e.exhibit_id: e for e in layout.exhibits}
    out: list[ExhibitSpec] = []
    entries = data.get("exhibit", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: [[exhibit]] entries expected")
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise ConfigError(f"{path}: exhibit {i} has no id")
        ex = by_id.get(entry["id"])
        if ex is None:
            raise ConfigError(f"{path}: no exhibit '{entry['id']}' in the {layout.scene} layout "
                              f"({', '.join(sorted(by_id)) or 'it has none'})")
        radius = entry.get("radius_m", DEFAULT_RADIUS)
        if not isinstance(radius, (int, float)) or not 0.3 <= float(radius) <= 20.0:
            raise ConfigError(f"{path}: exhibit '{ex.exhibit_id}': radius_m must be 0.3 to 20 metres")
        narration = np.zeros(0, np.float32)
        if entry.get("narration"):
            narration = read_wav(path.parent / str(entry["narration"]))  # AssetError names the file
        out.append(ExhibitSpec(ex.exhibit_id, tuple(float(v) for v in ex.position),  # type: ignore[arg-type]
                               ex.caption, narration, float(radius)))
    return out


class Narration:
    """Which narrations play for one listener, and where each one is (sans-I/O: positions and
    the block size are passed in)."""

    def __init__(self, exhibits: list[ExhibitSpec]) -> None:
        self.exhibits = [e for e in exhibits if e.narration.size]
        self.pos: dict[int, int] = {}  # exhibit index -> next sample, while the listener is near
        self.started = 0  # narrations started (visits)
        self.blocks = 0  # blocks of narration mixed

    def sources(self, listener: npt.ArrayLike, n: int) -> dict[int, tuple[npt.ArrayLike, F32]]:
        """The next ``n`` samples of every narration the listener at ``listener`` is near, keyed
        ``SOURCE_BASE - index``, with the exhibit's position."""
        lp = np.asarray(listener, np.float64)
        out: dict[int, tuple[npt.ArrayLike, F32]] = {}
        for i, e in enumerate(self.exhibits):
            near = float(np.linalg.norm(lp - np.asarray(e.position))) <= e.radius_m
            if not near:
                self.pos.pop(i, None)  # walked away: it starts again on the next visit
                continue
            k = self.pos.get(i)
            if k is None:
                k = 0
                self.started += 1
            if k >= e.narration.size:
                self.pos[i] = k  # played once this visit
                continue
            block = e.narration[k:k + n]
            if block.size < n:
                block = np.concatenate([block, np.zeros(n - block.size, np.float32)])
            self.pos[i] = k + n
            out[SOURCE_BASE - i] = (e.position, block.astype(np.float32))
            self.blocks += 1
        return out
