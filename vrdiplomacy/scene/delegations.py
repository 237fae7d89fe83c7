"""The delegations: the 193 UN member states in General Assembly seating order.

Read from ``assets/data/delegations.json`` (written by ``tools/gen_assets.py``). Each entry has
the ISO 3166-1 alpha-3 ``code`` (the ``delegation`` of a chamber seat), the ``name`` as the UN
lists it, the shorter ``placard`` label, the seating ``order``, a ``colour`` (the colour its real
flag is known by — the most common colour of its cell in ``assets/textures/flags.png`` other than
white, when that covers 12 % of the flag — to tint avatars) and its chamber ``seat`` id. The flag
images themselves are read by :mod:`vrdiplomacy.render.flags`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from vrdiplomacy.errors import AssetError
from vrdiplomacy.scene.layout import ASSETS_DIR

DELEGATIONS_FILE = ASSETS_DIR / "data" / "delegations.json"


@dataclass(frozen=True)
class Delegation:
    """One delegation. ``colour`` is sRGB in 0..1."""

    code: str
    name: str
    placard: str
    order: int
    colour: tuple[float, float, float]
    seat: str


def _colour(hex_: str) -> tuple[float, float, float]:
    h = hex_.lstrip("#")
    if len(h) != 6:
        raise ValueError(f"colour {hex_!r} is not #rrggbb")
    v = int(h, 16)
    return ((v >> 16) / 255.0, ((v >> 8) & 0xFF) / 255.0, (v & 0xFF) / 255.0)


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> tuple[Delegation, ...]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        out = tuple(
            Delegation(str(d["code"]), str(d["name"]), str(d.get("placard") or d["name"]), int(d["order"]),
                       _colour(str(d["colour"])), str(d.get("seat", "")))
            for d in data["delegations"]
        )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise AssetError(f"{path}: cannot read delegations ({e})") from None
    except (KeyError, TypeError, ValueError, OverflowError) as e:  # a member missing or of the wrong type
        raise AssetError(f"{path}: malformed delegations ({type(e).__name__}: {e})") from None
    if len({d.code for d in out}) != len(out):
        raise AssetError(f"{path}: duplicate delegation codes")
    return tuple(sorted(out, key=lambda d: d.order))


def load_delegations(path: str | Path = DELEGATIONS_FILE) -> list[Delegation]:
    """Every delegation, in seating order."""
    p = Path(path)
    try:
        mtime = p.stat().st_mtime_ns
    except FileNotFoundError:
        raise AssetError(f"{p}: delegations file not found") from None
    return list(_load(str(p), mtime))


def delegation(code: str) -> Delegation:
    """The delegation with ISO alpha-3 ``code`` (case-insensitive)."""
    want = code.upper()
    for d in load_delegations():
        if d.code == want:
            return d
    raise AssetError(f"unknown delegation '{code}'")


def seat_of(name: str, seat_ids: set[str]) -> str:
    """The seat of the delegation called ``name`` (its name, placard or ISO alpha-3 code, any
    case) when that seat is among ``seat_ids``; "" when no delegation or seat matches."""
    want = name.strip().casefold()
    if not want:
        return ""
    try:
        every = load_delegations()
    except AssetError:
        return ""
    for d in every:
        if want in (d.name.casefold(), d.placard.casefold(), d.code.casefold()) and d.seat in seat_ids:
            return d.seat
    return ""
