"""Golden-image comparison (numpy + Pillow, no GL).

Goldens are PNGs rendered on one GL implementation (Mesa llvmpipe is deterministic), stored
beside a ``renderer.json`` naming its GL_RENDERER and GL_VERSION. Comparing against a
different renderer is refused: its rasterisation rules differ within the tolerances.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import AssetError, GoldenMismatch


@dataclass(frozen=True)
class Tolerance:
    """A pixel "differs" when any channel is off by more than ``channel``; the images match when
    at most ``max_fraction`` of the pixels differ and the mean absolute error is <= ``mean``."""

    channel: int = 2
    max_fraction: float = 0.0005
    mean: float = 0.15


def load_png(path: Path) -> npt.NDArray[np.uint8]:
    from PIL import Image

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except FileNotFoundError:
        raise AssetError(f"{path}: golden image missing (run tools/update_goldens.py)") from None
    except OSError as e:
        raise AssetError(f"{path}: cannot read golden image ({e})") from None


def compare(image: npt.NDArray[np.uint8], golden: npt.NDArray[np.uint8], name: str = "image",
            tol: Tolerance = Tolerance()) -> None:
    """Raise :class:`GoldenMismatch` unless ``image`` (RGB or RGBA) matches ``golden`` (RGB)."""
    a = np.asarray(image)[..., :3].astype(np.int16)
    b = np.asarray(golden)[..., :3].astype(np.int16)
    if a.shape != b.shape:
        raise GoldenMismatch(f"{name}: size {a.shape[1]}x{a.shape[0]} differs from the golden's {b.shape[1]}x{b.shape[0]}")
    diff = np.abs(a - b)
    bad = float(np.mean(diff.max(axis=2) > tol.channel))
    mean = float(diff.mean())
    if bad > tol.max_fraction or mean > tol.mean:
        raise GoldenMismatch(
            f"{name}: {bad * 100:.3f}% of pixels differ by more than {tol.channel} (allowed {tol.max_fraction * 100:.3f}%), "
            f"mean error {mean:.3f} (allowed {tol.mean}), largest {int(diff.max())}"
        )


def read_info(directory: Path) -> dict[str, str]:
    p = directory / "renderer.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssetError(f"{p}: missing (run tools/update_goldens.py)") from None
    except (OSError, json.JSONDecodeError) as e:
        raise AssetError(f"{p}: cannot read ({e})") from None
    return {str(k): str(v) for k, v in data.items()}


def write_info(directory: Path, info: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    keep = {k: info[k] for k in ("GL_RENDERER", "GL_VERSION", "GL_VENDOR") if k in info}
    (directory / "renderer.json").write_text(json.dumps(keep, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def renderer_mismatch(stored: dict[str, str], current: dict[str, str]) -> str | None:
    """Why goldens made on ``stored`` cannot judge ``current`` (None when they can)."""
    for key in ("GL_RENDERER", "GL_VERSION"):
        if stored.get(key) != current.get(key):
            return (f"goldens were rendered with {key}={stored.get(key)!r} but this context is "
                    f"{current.get(key)!r}; regenerate them with tools/update_goldens.py on this renderer")
    return None
