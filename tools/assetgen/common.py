"""Pieces shared by the scenes: rooms, walls with openings, doors, chairs, flags, lights.

Each function adds geometry to ``Builders`` (material name -> merged mesh) so a scene ends up
with one mesh per material.
"""

from __future__ import annotations

import math
from typing import Any

from .geom import WORLD, Builders, Frame, UVRect, V3

Opening = tuple[float, float, float]  # start, end along the wall, height of the opening


def r4(v: float) -> float:
    """Round for the layout JSON (0.1 mm), normalising -0.0."""
    out = round(float(v), 4)
    return 0.0 if out == 0.0 else out


def v3(p: V3) -> list[float]:
    return [r4(p[0]), r4(p[1]), r4(p[2])]


def floor_quad(b: Builders, mat: str, x0: float, x1: float, z0: float, z1: float, y: float = 0.0) -> None:
    b[mat].add_quad(((x0, y, z1), (x1, y, z1), (x1, y, z0), (x0, y, z0)), (0.0, 1.0, 0.0),
                    (0.0, 0.0, (x1 - x0) / 4.0, (z1 - z0) / 4.0))


def ceiling_quad(b: Builders, mat: str, x0: float, x1: float, z0: float, z1: float, y: float) -> None:
    b[mat].add_quad(((x0, y, z0), (x1, y, z0), (x1, y, z1), (x0, y, z1)), (0.0, -1.0, 0.0))


def wall(b: Builders, mat: str, axis: str, fixed: float, start: float, end: float, height: float,
         openings: tuple[Opening, ...] = (), thickness: float = 0.2, y0: float = 0.0) -> None:
    """A wall running along ``axis`` ("x" or "z") at ``fixed`` on the other axis, with openings
    (doors) cut out up to their height; a lintel closes each opening above."""
    cuts = sorted(openings)
    spans: list[tuple[float, float, float, float]] = []  # a, b, bottom, top
    pos = start
    for a, c, h in cuts:
        if a > pos:
            spans.append((pos, a, y0, height))
        spans.append((a, c, y0 + h, height))
        pos = c
    if pos < end:
        spans.append((pos, end, y0, height))
    for a, c, bottom, top in spans:
        if top <= bottom or c <= a:
            continue
        mid, length = (a + c) / 2.0, c - a
        cy, hy = (bottom + top) / 2.0, top - bottom
        if axis == "x":
            b[mat].add_box(WORLD, (mid, cy, fixed), (length, hy, thickness))
        else:
            b[mat].add_box(WORLD, (fixed, cy, mid), (thickness, hy, length))


def wainscot(b: Builders, panel: str, rail: str, axis: str, fixed: float, start: float, end: float,
             openings: tuple[Opening, ...] = (), thickness: float = 0.2, height: float = 1.0) -> None:
    """Wood panelling on both faces of a :func:`wall` (same ``axis``, ``fixed``, ``openings``): a
    panel to ``height``, a dado rail along its top and a skirting board, stopping at the openings."""
    pos = start
    spans: list[tuple[float, float]] = []
    for a, c, _h in sorted(openings):
        if a > pos:
            spans.append((pos, a))
        pos = c
    if pos < end:
        spans.append((pos, end))
    for a, c in spans:
        mid, length = (a + c) / 2.0, c - a
        for mat, y, h, proud in ((panel, height / 2.0, height, 0.03), (rail, height, 0.05, 0.06),
                                 (rail, 0.06, 0.12, 0.05)):
            if axis == "x":
                b[mat].add_box(WORLD, (mid, y, fixed), (length, h, thickness + proud))
            else:
                b[mat].add_box(WORLD, (fixed, y, mid), (thickness + proud, h, length))


def ceiling_lights(b: Builders, mat: str, x0: float, x1: float, z0: float, z1: float, y: float,
                   nx: int, nz: int, size: tuple[float, float]) -> None:
    """A grid of emissive panels just under the ceiling, facing down."""
    for i in range(nx):
        for j in range(nz):
            cx = x0 + (x1 - x0) * (i + 0.5) / nx
            cz = z0 + (z1 - z0) * (j + 0.5) / nz
            w, d = size[0] / 2.0, size[1] / 2.0
            b[mat].add_quad(((cx - w, y, cz - d), (cx + w, y, cz - d), (cx + w, y, cz + d), (cx - w, y, cz + d)),
                            (0.0, -1.0, 0.0))


def double_door(b: Builders, frame: Frame, width: float, height: float, wood: str = "door_wood",
                handle: str = "brass") -> None:
    """A closed double door centred on ``frame`` (floor level), the leaves in its local XY plane."""
    leaf = width / 2.0 - 0.005
    for side in (-1.0, 1.0):
        cx = side * (leaf / 2.0 + 0.005)
        b[wood].add_box(frame, (cx, height / 2.0, 0.0), (leaf, height, 0.07))
        for face in (-1.0, 1.0):
            b[handle].add_box(frame, (side * 0.09, 1.05, face * 0.06), (0.03, 0.22, 0.04))
    b[wood].add_box(frame, (0.0, height + 0.05, 0.0), (width + 0.16, 0.1, 0.12))
    for side in (-1.0, 1.0):
        b[wood].add_box(frame, (side * (width / 2.0 + 0.04), height / 2.0, 0.0), (0.08, height, 0.12))


def office_chair(b: Builders, frame: Frame, fabric: str, metal: str, width: float = 0.52) -> None:
    """A chair whose seat centre is at the frame origin (floor level), facing the frame's -Z."""
    b[metal].add_box(frame, (0.0, 0.02, 0.05), (width * 0.95, 0.04, 0.08))
    b[metal].add_box(frame, (0.0, 0.02, 0.05), (0.08, 0.04, 0.5))
    b[metal].add_box(frame, (0.0, 0.22, 0.05), (0.07, 0.36, 0.07))
    b[fabric].add_box(frame, (0.0, 0.46, 0.05), (width, 0.1, 0.5))
    b[fabric].add_box(frame, (0.0, 0.84, 0.33), (width, 0.64, 0.08))


def flag_on_pole(b: Builders, base: V3, uv: UVRect, height: float = 2.6, cloth: tuple[float, float] = (0.9, 0.6),
                 yaw_deg: float = 0.0, flags: str = "flags", metal: str = "brass") -> None:
    """A standing flag: a pole on a foot, the cloth hanging from the top towards local +X."""
    f = Frame.at(base, yaw_deg)
    b[metal].add_box(f, (0.0, 0.03, 0.0), (0.34, 0.06, 0.34))
    b[metal].add_cylinder(f, (0.0, 0.06, 0.0), 0.022, height - 0.06, segments=8)
    b[metal].add_box(f, (0.0, height + 0.04, 0.0), (0.07, 0.08, 0.07))
    w, h = cloth
    b[flags].add_box(f, (0.03 + w / 2.0, height - 0.06 - h / 2.0, 0.0), (w, h, 0.012),
                     uv={"+z": uv, "-z": mirror_uv(uv), "+x": uv, "-x": uv, "+y": uv, "-y": uv})


def wall_banner(b: Builders, frame: Frame, uv: UVRect, size: tuple[float, float], flags: str = "flags",
                metal: str = "brass") -> None:
    """A flag hung flat in front of a wall on a short rod; faces the frame's -Z."""
    w, h = size
    b[metal].add_box(frame, (0.0, h / 2.0 + 0.02, -0.06), (w + 0.08, 0.025, 0.025))
    b[flags].add_box(frame, (0.0, 0.0, -0.06), (w, h, 0.01), uv={"-z": uv, "+z": mirror_uv(uv)})


def mirror_uv(uv: UVRect) -> UVRect:
    """``uv`` flipped left to right (the reverse face of a flag)."""
    u0, v0, u1, v1 = uv
    return (u1, v0, u0, v1)


def light(kind: str, color: tuple[float, float, float], intensity: float, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind, "color": [r4(c) for c in color], "intensity": r4(intensity)}
    if "direction" in kw:
        d = kw["direction"]
        n = math.sqrt(sum(c * c for c in d))
        out["direction"] = [r4(c / n) for c in d]
    if "position" in kw:
        out["position"] = v3(kw["position"])
    if "range" in kw:
        out["range"] = r4(kw["range"])
    return out


def view(position: V3, yaw_deg: float, pitch_deg: float = 0.0, fov_deg: float = 90.0) -> dict[str, Any]:
    return {"position": v3(position), "yaw_deg": r4(yaw_deg), "pitch_deg": r4(pitch_deg), "fov_deg": r4(fov_deg)}


def look(frm: V3, to: V3) -> tuple[float, float]:
    """Yaw and pitch (degrees) that turn a viewer at ``frm`` to face ``to``."""
    dx, dy, dz = to[0] - frm[0], to[1] - frm[1], to[2] - frm[2]
    yaw = math.degrees(math.atan2(-dx, -dz))
    pitch = math.degrees(math.atan2(dy, math.sqrt(dx * dx + dz * dz)))
    return yaw, pitch


def point(position: V3, yaw_deg: float = 0.0) -> dict[str, Any]:
    return {"position": v3(position), "yaw_deg": r4(yaw_deg)}


def zone(name: str, kind: str, lo: V3, hi: V3, isolated: bool = False) -> dict[str, Any]:
    return {"name": name, "kind": kind, "min": v3(lo), "max": v3(hi), "isolated": isolated}


def leather_chair(b: Builders, frame: Frame, leather: str, base: str, arms: str, width: float = 0.56) -> None:
    """A leather conference chair facing the frame's -Z, seat centre at the frame origin (floor
    level): a cross foot, a column, a padded seat, a reclined back with a rounded top roll, a
    lumbar roll and wooden armrests."""
    b[base].add_box(frame, (0.0, 0.03, 0.05), (width * 0.95, 0.05, 0.07))
    b[base].add_box(frame, (0.0, 0.03, 0.05), (0.07, 0.05, 0.55))
    b[base].add_cylinder(frame, (0.0, 0.05, 0.05), 0.035, 0.33, segments=8)
    b[leather].add_box(frame, (0.0, 0.44, 0.04), (width, 0.08, 0.5))  # seat pan
    b[leather].add_box(frame, (0.0, 0.5, 0.02), (width - 0.06, 0.05, 0.46))  # cushion
    back = frame.child((0.0, 0.5, 0.3), pitch_deg=10.0)
    b[leather].add_box(back, (0.0, 0.23, 0.0), (width, 0.44, 0.09))
    roll = back.child((0.0, 0.45, 0.0), yaw_deg=90.0, pitch_deg=90.0)  # local +Y along the chair's X
    b[leather].add_cylinder(roll, (0.0, -width / 2.0, 0.0), 0.05, width, segments=10)  # a rounded top
    b[leather].add_box(back, (0.0, 0.12, -0.05), (width - 0.1, 0.12, 0.05))  # lumbar roll
    for side in (-1.0, 1.0):
        x = side * (width / 2.0 + 0.03)
        b[arms].add_box(frame, (x, 0.67, 0.08), (0.06, 0.04, 0.42))
        b[arms].add_box(frame, (x, 0.56, 0.2), (0.04, 0.2, 0.04))


def coffered_ceiling(b: Builders, beam: str, lamp: str, x0: float, x1: float, z0: float, z1: float, y: float,
                     nx: int, nz: int, depth: float = 0.3, width: float = 0.25, lamp_size: float = 0.6) -> None:
    """Beams dividing the ceiling into ``nx`` x ``nz`` coffers, a recessed square light in each."""
    for i in range(nx + 1):
        x = x0 + (x1 - x0) * i / nx
        b[beam].add_box(WORLD, (x, y - depth / 2.0, (z0 + z1) / 2.0), (width, depth, z1 - z0))
    for j in range(nz + 1):
        z = z0 + (z1 - z0) * j / nz
        b[beam].add_box(WORLD, ((x0 + x1) / 2.0, y - depth / 2.0 - 0.002, z), (x1 - x0, depth, width))
    ceiling_lights(b, lamp, x0, x1, z0, z1, y - 0.01, nx, nz, (lamp_size, lamp_size))


def pilasters(b: Builders, mat: str, axis: str, fixed: float, inward: float, start: float, end: float,
              count: int, height: float, width: float = 0.35, proud: float = 0.08) -> None:
    """``count`` flat wooden pilasters spaced along a wall face (``inward`` is the direction, +1
    or -1, from the wall into the room on the fixed axis) and a cornice running along the top."""
    for k in range(count):
        t = start + (end - start) * (k + 0.5) / count
        if axis == "x":
            b[mat].add_box(WORLD, (t, height / 2.0, fixed + inward * proud / 2.0), (width, height, proud))
        else:
            b[mat].add_box(WORLD, (fixed + inward * proud / 2.0, height / 2.0, t), (proud, height, width))
    mid, length = (start + end) / 2.0, end - start
    for y, h, p in ((height, 0.14, proud + 0.06), (height + 0.12, 0.06, proud + 0.1)):
        if axis == "x":
            b[mat].add_box(WORLD, (mid, y, fixed + inward * p / 2.0), (length, h, p))
        else:
            b[mat].add_box(WORLD, (fixed + inward * p / 2.0, y, mid), (p, h, length))


def curtained_window(b: Builders, frame: Frame, width: float, height: float, glass: str, curtain: str,
                     trim: str, uv: UVRect = (0.0, 0.0, 1.0, 1.0), top: float | None = None) -> None:
    """A window centred on ``frame`` (its face towards the frame's -Z), framed, with pleated
    curtains drawn to both sides from floor to a pelmet. ``frame`` sits on the wall at the
    window's centre height; ``top`` is the pelmet's height above the centre."""
    pel = top if top is not None else height / 2.0 + 0.35
    b[trim].add_box(frame, (0.0, 0.0, -0.01), (width + 0.16, height + 0.16, 0.03))
    b[glass].add_panel(frame, (0.0, 0.0, -0.03), width, height, uv)
    b[trim].add_box(frame, (0.0, 0.0, -0.035), (0.05, height, 0.02))  # mullion
    floor = -frame.origin[1]
    drop = pel - floor
    for side in (-1.0, 1.0):
        for k in range(4):  # pleats: alternating depth
            x = side * (width / 2.0 + 0.02 + k * 0.1)
            z = -0.1 - (0.04 if k % 2 else 0.0)
            b[curtain].add_box(frame, (x, floor + drop / 2.0, z), (0.11, drop, 0.05))
    b[curtain].add_box(frame, (0.0, pel + 0.1, -0.14), (width + 1.0, 0.3, 0.06))  # pelmet
    b[trim].add_box(frame, (0.0, pel + 0.26, -0.14), (width + 1.06, 0.03, 0.08))


def painting(b: Builders, frame: Frame, width: float, height: float, canvas: str, gilt: str,
             uv: UVRect = (0.0, 0.0, 1.0, 1.0), border: float = 0.12) -> None:
    """A framed picture hung flat on a wall, facing the frame's -Z: a moulded gilt frame in two
    steps around the canvas."""
    b[gilt].add_box(frame, (0.0, 0.0, -0.03), (width + 2.0 * border, height + 2.0 * border, 0.06))
    b[gilt].add_box(frame, (0.0, 0.0, -0.05), (width + border, height + border, 0.04))
    b[canvas].add_panel(frame, (0.0, 0.0, -0.072), width, height, uv)


def chandelier(b: Builders, centre: V3, metal: str, glow: str, crystal: str, arms: int = 10,
               radius: float = 0.7) -> None:
    """A hanging chandelier, ``centre`` the middle of its candle ring: a rod to the ceiling
    above, a central column, a ring of candles with flames and a crystal drop under each, and
    below the ring a brass dish carrying a tiered cascade of crystal that narrows to a finial."""
    f = Frame.at(centre)
    b[metal].add_cylinder(f, (0.0, 0.3, 0.0), 0.018, 1.2, segments=6)
    b[metal].add_cylinder(f, (0.0, -0.2, 0.0), 0.05, 0.5, segments=10)
    b[metal].add_cylinder(f, (0.0, -0.02, 0.0), radius, 0.04, segments=24)
    b[metal].add_cylinder(f, (0.0, -0.16, 0.0), 0.30, 0.04, segments=16)
    for k, (y, r, h) in enumerate(((-0.24, 0.27, 0.07), (-0.34, 0.21, 0.09), (-0.46, 0.14, 0.11), (-0.60, 0.075, 0.13),
                                   (-0.72, 0.03, 0.11))):
        b[crystal].add_cylinder(f, (0.0, y, 0.0), r, h, segments=12 if k < 3 else 8)
    for k in range(arms):
        a = 2.0 * math.pi * k / arms
        x, z = radius * math.cos(a), radius * math.sin(a)
        b[metal].add_cylinder(f, (x, 0.02, z), 0.03, 0.03, segments=6)
        b[crystal].add_cylinder(f, (x, 0.05, z), 0.022, 0.14, segments=6)
        b[glow].add_cylinder(f, (x, 0.19, z), 0.03, 0.07, segments=6)
        b[crystal].add_cylinder(f, (0.92 * x, -0.16, 0.92 * z), 0.012, 0.13, segments=5)  # a hanging drop
    for k in range(arms):
        a = 2.0 * math.pi * (k + 0.5) / arms
        x, z = 0.6 * radius * math.cos(a), 0.6 * radius * math.sin(a)
        b[glow].add_cylinder(f, (x, 0.35, z), 0.028, 0.06, segments=6)
        b[crystal].add_cylinder(f, (x, 0.2, z), 0.018, 0.15, segments=6)


def potted_plant(b: Builders, base: V3, pot: str, leaves: str, height: float = 1.5) -> None:
    """A tall plant in a round pot: a tapered pot and a layered crown of foliage."""
    f = Frame.at(base)
    b[pot].add_cylinder(f, (0.0, 0.0, 0.0), 0.24, 0.45, segments=12)
    b[pot].add_cylinder(f, (0.0, 0.45, 0.0), 0.27, 0.05, segments=12)
    for k, (y, r, h) in enumerate(((0.5, 0.3, 0.35), (0.8, 0.42, 0.4), (1.15, 0.34, 0.35), (1.45, 0.2, 0.3))):
        if y + h > height + 0.3:
            break
        b[leaves].add_cylinder(f.child((0.0, 0.0, 0.0), yaw_deg=17.0 * k), (0.0, y * height / 1.5, 0.0), r, h, segments=9)
