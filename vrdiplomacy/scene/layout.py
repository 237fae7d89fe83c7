"""Scene layouts as data: seats, named viewpoints, points of interest, exhibits and zones.

Layouts live in ``assets/layouts/<scene>.json`` and are read by every part of the app:
the renderer (views), seating, voice and pose zones in the relay, receptions.

Conventions: metres, +Y up, -Z forward; ``yaw_deg`` turns about +Y (0 faces -Z,
90 faces -X). A zone is an axis-aligned box; an ``isolated`` zone (a lounge, the bilateral
room) is not heard outside itself, and poses inside it are seen at low rate from outside.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vrdiplomacy.errors import AssetError
from vrdiplomacy.resources import data_root
from vrdiplomacy.scene.math3d import Pose

ASSETS_DIR = data_root("assets")
SCENES = ("chamber", "bilateral", "embassy")


@dataclass(frozen=True)
class Seat:
    """A delegation seat. ``index`` is the seating order (0-based); ``tier`` the arc row."""

    seat_id: str
    index: int
    delegation: str
    position: tuple[float, float, float]
    yaw_deg: float
    tier: int = 0
    side: str = ""  # bilateral room: "A" or "B"

    def pose(self) -> Pose:
        return Pose.from_yaw(self.position, self.yaw_deg)

    def eye_pose(self, eye_height: float = 1.2) -> Pose:
        """Where a seated delegate's eyes are (seat position is floor level under the seat)."""
        p = np.asarray(self.position, dtype=np.float32) + np.array([0.0, eye_height, 0.0], dtype=np.float32)
        return Pose.from_yaw(p, self.yaw_deg, -8.0)


@dataclass(frozen=True)
class Viewpoint:
    name: str
    position: tuple[float, float, float]
    yaw_deg: float
    pitch_deg: float = 0.0
    fov_deg: float = 90.0

    def pose(self) -> Pose:
        return Pose.from_yaw(self.position, self.yaw_deg, self.pitch_deg)


@dataclass(frozen=True)
class Point:
    """A named point of interest (rostrum, podium, consular desk, greeting line start...)."""

    name: str
    position: tuple[float, float, float]
    yaw_deg: float = 0.0


@dataclass(frozen=True)
class Exhibit:
    exhibit_id: str
    position: tuple[float, float, float]
    yaw_deg: float
    size: tuple[float, float]
    image: str = ""
    caption: str = ""


@dataclass(frozen=True)
class Zone:
    """An axis-aligned box zone. ``kind``: "lounge", "bilateral", "hall", "plenary", ..."""

    name: str
    kind: str
    min: tuple[float, float, float]
    max: tuple[float, float, float]
    isolated: bool = False

    def contains(self, p: Any) -> bool:
        x, y, z = (float(v) for v in p)
        return (
            self.min[0] <= x <= self.max[0]
            and self.min[1] <= y <= self.max[1]
            and self.min[2] <= z <= self.max[2]
        )


@dataclass
class Layout:
    scene: str
    glb: str
    seats: list[Seat] = field(default_factory=list)
    views: dict[str, Viewpoint] = field(default_factory=dict)
    default_view: str = ""
    default_seat: str = ""  # the seat the local delegate takes by default (views start there)
    points: dict[str, Point] = field(default_factory=dict)
    exhibits: list[Exhibit] = field(default_factory=list)
    zones: list[Zone] = field(default_factory=list)
    screens: list[Exhibit] = field(default_factory=list)
    # flags the client paints with the delegations present: slot ("A", "B", "host") -> the pixel box
    # (x0, y0, x1, y1) of its cell in the scene's "flags" texture (vrdiplomacy.render.room_flags)
    flag_slots: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    source: Path | None = None

    def seat(self, seat_id: str) -> Seat:
        for s in self.seats:
            if s.seat_id == seat_id:
                return s
        raise KeyError(seat_id)

    def view(self, name: str | None = None) -> Viewpoint:
        key = name or self.default_view
        if key not in self.views:
            raise AssetError(
                f"{self.source or self.scene}: no view named '{key}' (known: {', '.join(sorted(self.views))})"
            )
        return self.views[key]

    def zone_at(self, position: Any) -> Zone | None:
        """The innermost isolated zone containing ``position``, else any zone, else None."""
        hits = [z for z in self.zones if z.contains(position)]
        if not hits:
            return None
        hits.sort(key=lambda z: (not z.isolated, _volume(z)))
        return hits[0]

    def glb_path(self) -> Path:
        base = self.source.parent.parent if self.source else ASSETS_DIR
        return base / self.glb


def _volume(z: Zone) -> float:
    return float(np.prod(np.subtract(z.max, z.min)))


def _vec3(v: Any, where: str) -> tuple[float, float, float]:
    if not isinstance(v, (list, tuple)) or len(v) != 3:
        raise AssetError(f"{where}: expected [x, y, z], got {v!r}")
    return (float(v[0]), float(v[1]), float(v[2]))


def parse_layout(data: dict[str, Any], source: Path | None = None) -> Layout:
    where = str(source or "layout")
    try:
        layout = Layout(scene=str(data["scene"]), glb=str(data["glb"]), source=source)
        for i, s in enumerate(data.get("seats", [])):
            layout.seats.append(
                Seat(
                    seat_id=str(s["id"]),
                    index=int(s.get("index", i)),
                    delegation=str(s.get("delegation", "")),
                    position=_vec3(s["position"], f"{where}: seats[{i}].position"),
                    yaw_deg=float(s.get("yaw_deg", 0.0)),
                    tier=int(s.get("tier", 0)),
                    side=str(s.get("side", "")),
                )
            )
        for name, v in data.get("views", {}).items():
            layout.views[name] = Viewpoint(
                name,
                _vec3(v["position"], f"{where}: views.{name}.position"),
                float(v.get("yaw_deg", 0.0)),
                float(v.get("pitch_deg", 0.0)),
                float(v.get("fov_deg", 90.0)),
            )
        layout.default_view = str(data.get("default_view", next(iter(layout.views), "")))
        layout.default_seat = str(data.get("default_seat", ""))
        for name, p in data.get("points", {}).items():
            layout.points[name] = Point(name, _vec3(p["position"], f"{where}: points.{name}"), float(p.get("yaw_deg", 0.0)))
        for key, target in (("exhibits", layout.exhibits), ("screens", layout.screens)):
            for i, e in enumerate(data.get(key, [])):
                size = e.get("size", [1.0, 1.0])
                target.append(
                    Exhibit(
                        str(e["id"]),
                        _vec3(e["position"], f"{where}: {key}[{i}].position"),
                        float(e.get("yaw_deg", 0.0)),
                        (float(size[0]), float(size[1])),
                        str(e.get("image", "")),
                        str(e.get("caption", "")),
                    )
                )
        for slot, box in data.get("flag_slots", {}).items():
            if not isinstance(box, list) or len(box) != 4:
                raise AssetError(f"{where}: flag_slots.{slot}: expected [x0, y0, x1, y1], got {box!r}")
            x0, y0, x1, y1 = (int(v) for v in box)
            if not (0 <= x0 < x1 and 0 <= y0 < y1):
                raise AssetError(f"{where}: flag_slots.{slot}: empty or negative box {box!r}")
            layout.flag_slots[str(slot)] = (x0, y0, x1, y1)
        for i, z in enumerate(data.get("zones", [])):
            layout.zones.append(
                Zone(
                    str(z["name"]),
                    str(z.get("kind", z["name"])),
                    _vec3(z["min"], f"{where}: zones[{i}].min"),
                    _vec3(z["max"], f"{where}: zones[{i}].max"),
                    bool(z.get("isolated", False)),
                )
            )
    except AssetError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as e:
        # a field of the wrong JSON type (an object where a list belongs, a short list, a number too large)
        raise AssetError(f"{where}: malformed layout ({type(e).__name__}: {e})") from None
    if layout.default_seat and layout.default_seat not in {s.seat_id for s in layout.seats}:
        raise AssetError(f"{where}: default_seat '{layout.default_seat}' is not among the seats")
    if layout.default_view and layout.default_view not in layout.views:
        raise AssetError(f"{where}: default_view '{layout.default_view}' is not among the views")
    return layout


def load_layout(scene_or_path: str | Path) -> Layout:
    """Load ``assets/layouts/<scene>.json`` (by scene name) or a layout file path."""
    p = Path(scene_or_path)
    if p.suffix != ".json":
        p = ASSETS_DIR / "layouts" / f"{scene_or_path}.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssetError(f"{p}: layout file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise AssetError(f"{p}: cannot read layout ({type(e).__name__}: {e})") from None
    if not isinstance(data, dict):
        raise AssetError(f"{p}: layout must be a JSON object")
    return parse_layout(data, p)
