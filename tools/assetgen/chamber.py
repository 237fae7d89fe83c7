"""The plenary chamber: 193 delegation seats in rising arcs facing a stage (General Assembly-like).

Frame: the speaker at the rostrum stands at (0, STAGE_H, 0) facing +Z; the seat arcs are
centred on the vertical through that point, on the +Z side, so every delegate faces -Z-ish
towards the rostrum. Behind the rostrum, on a raised dais, is the podium of the presiding
officer; behind that the front wall with the emblem, two wall screens (agenda, current
speaker) and two United Nations flags, a row of member states' flags either side of the
stage. The 193 delegation flags hang as banners on the side and rear walls, above wood
panelling and pilasters; a coffered ceiling holds recessed lights. Delegates sit in dark
leather chairs with wooden arms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import common as c
from .geom import WORLD, Builders, Frame, V3
from .glb import MaterialSpec
from .textures import flag_atlas, label_atlas, png_bytes, screen_image

STAGE_H = 0.6
DAIS_H = 1.5
FIRST_RADIUS = 7.0
TIER_DEPTH = 1.5
TIER_RISE = 0.32
TIER_BASE = 0.1
SEAT_PITCH = 1.15
AISLE = 1.1
ARC_HALF_DEG = 64.0
BLOCKS = 5
HALL_X = 20.0
HALL_FRONT = -6.5
HALL_BACK = 21.0
HALL_H = 12.0
EYE_HEIGHT = 1.2

MATERIALS: dict[str, MaterialSpec] = {
    "floor_carpet": MaterialSpec((0.05, 0.09, 0.20, 1.0), 0.0, 0.95),
    "tier_carpet": MaterialSpec((0.18, 0.05, 0.06, 1.0), 0.0, 0.95),
    "wall": MaterialSpec((0.50, 0.42, 0.32, 1.0), 0.0, 0.85),
    "ceiling": MaterialSpec((0.55, 0.52, 0.47, 1.0), 0.0, 0.9),
    "ceiling_beam": MaterialSpec((0.30, 0.19, 0.10, 1.0), 0.0, 0.5),
    "ceiling_light": MaterialSpec((1.0, 1.0, 1.0, 1.0), 0.0, 1.0, emissive=(1.0, 0.96, 0.88)),
    "wood": MaterialSpec((0.36, 0.20, 0.10, 1.0), 0.0, 0.55),
    "panel_wood": MaterialSpec((0.28, 0.16, 0.08, 1.0), 0.0, 0.45),
    "stage": MaterialSpec((0.30, 0.17, 0.08, 1.0), 0.0, 0.5),
    "rostrum": MaterialSpec((0.16, 0.09, 0.05, 1.0), 0.0, 0.4),
    "podium_marble": MaterialSpec((0.045, 0.12, 0.085, 1.0), 0.0, 0.25),  # the dais's dark green marble
    "gold_leaf": MaterialSpec((0.42, 0.30, 0.13, 1.0), 0.35, 0.5),
    "emblem_field": MaterialSpec((0.035, 0.05, 0.085, 1.0), 0.0, 0.4),
    "emblem_gold": MaterialSpec((0.83, 0.62, 0.22, 1.0), 1.0, 0.3),
    "seat_fabric": MaterialSpec((0.065, 0.03, 0.025, 1.0), 0.0, 0.45),
    "metal": MaterialSpec((0.55, 0.56, 0.58, 1.0), 1.0, 0.35),
    "brass": MaterialSpec((0.78, 0.60, 0.30, 1.0), 1.0, 0.35),
    "door_wood": MaterialSpec((0.25, 0.14, 0.07, 1.0), 0.0, 0.5),
    "screen_frame": MaterialSpec((0.03, 0.03, 0.035, 1.0), 0.2, 0.5),
    "placards": MaterialSpec((1.0, 1.0, 1.0, 1.0), 0.0, 0.7, texture="placards"),
    "flags": MaterialSpec((1.0, 1.0, 1.0, 1.0), 0.0, 0.9, texture="flags"),
    "screen_agenda": MaterialSpec((0.2, 0.2, 0.2, 1.0), 0.0, 0.6, emissive=(1.0, 1.0, 1.0),
                                  texture="screen_agenda", emissive_texture="screen_agenda"),
    "screen_speaker": MaterialSpec((0.2, 0.2, 0.2, 1.0), 0.0, 0.6, emissive=(1.0, 1.0, 1.0),
                                   texture="screen_speaker", emissive_texture="screen_speaker"),
}

AGENDA_LINES = [
    "1. Opening of the session",
    "2. Adoption of the agenda",
    "3. General debate",
    "4. Reports of the Main Committees",
    "5. Elections to fill vacancies",
    "6. Closing of the session",
]


@dataclass(frozen=True)
class SeatSpot:
    index: int
    tier: int
    angle_deg: float
    position: V3
    yaw_deg: float


def rostrum_point() -> V3:
    return (0.0, STAGE_H, 0.0)


def tier_radius(t: int) -> float:
    return FIRST_RADIUS + TIER_DEPTH * t


def tier_height(t: int) -> float:
    return TIER_BASE + TIER_RISE * t


def _block_ranges(radius: float) -> list[tuple[float, float]]:
    """Angular ranges (degrees) of the seat blocks at ``radius``, aisles cut between them."""
    total = 2.0 * ARC_HALF_DEG
    aisle_deg = math.degrees(AISLE / radius)
    width = (total - aisle_deg * (BLOCKS - 1)) / BLOCKS
    out = []
    a = -ARC_HALF_DEG
    for _ in range(BLOCKS):
        out.append((a, a + width))
        a += width + aisle_deg
    return out


def seat_spots(count: int) -> list[SeatSpot]:
    """``count`` seats filling tiers front to back; seat 0 is front row, leftmost as seen from
    the podium (the +X end), seats run right-to-left along each arc as seen from the rostrum."""
    spots: list[SeatSpot] = []
    t = 0
    while len(spots) < count:
        radius = tier_radius(t)
        blocks = _block_ranges(radius)
        caps = [int((math.radians(b1 - b0) * radius) // SEAT_PITCH) for b0, b1 in blocks]
        left = count - len(spots)
        if sum(caps) > left:  # last tier: spread the remainder over the blocks, centre first
            want = [0] * BLOCKS
            order = sorted(range(BLOCKS), key=lambda i: (abs(i - (BLOCKS - 1) / 2.0), i))
            k = 0
            while left > 0:
                i = order[k % BLOCKS]
                if want[i] < caps[i]:
                    want[i] += 1
                    left -= 1
                k += 1
            caps = want
        row: list[tuple[float, int]] = []
        for (b0, b1), n in zip(blocks, caps):
            step = math.degrees(SEAT_PITCH / radius)
            mid = (b0 + b1) / 2.0
            for j in range(n):
                row.append((mid + (j - (n - 1) / 2.0) * step, t))
        row.sort(key=lambda r: -r[0])
        y = tier_height(t)
        for ang, tier in row:
            a = math.radians(ang)
            pos = (radius * math.sin(a), y, radius * math.cos(a))
            spots.append(SeatSpot(len(spots), tier, ang, pos, ang))
        t += 1
    return spots


def _seat_geometry(b: Builders, s: SeatSpot, placard_uv: Any, blank_uv: Any) -> None:
    f = Frame.at(s.position, s.yaw_deg)
    c.leather_chair(b, f, "seat_fabric", "metal", "rostrum")
    b["wood"].add_box(f, (0.0, 0.74, -0.52), (1.05, 0.05, 0.46))
    b["panel_wood"].add_box(f, (0.0, 0.37, -0.73), (1.05, 0.72, 0.04))
    b["rostrum"].add_box(f, (0.0, 0.705, -0.73), (1.07, 0.03, 0.06))
    uv = {name: blank_uv for name in ("+x", "-x", "+y", "-y")}
    uv["-z"] = placard_uv
    uv["+z"] = placard_uv
    b["placards"].add_box(f, (0.0, 0.825, -0.68), (0.48, 0.12, 0.02), uv=uv)
    # the desk microphone: a round foot, the stalk and its capsule (a bare stalk reads as a pole)
    b["rostrum"].add_box(f, (0.3, 0.772, -0.6), (0.07, 0.014, 0.07))
    b["metal"].add_box(f, (0.3, 0.9, -0.6), (0.012, 0.25, 0.012))
    b["screen_frame"].add_box(f, (0.3, 1.045, -0.605), (0.026, 0.05, 0.026))


def _hall(b: Builders) -> None:
    c.floor_quad(b, "floor_carpet", -HALL_X, HALL_X, HALL_FRONT, HALL_BACK)
    c.ceiling_quad(b, "ceiling", -HALL_X, HALL_X, HALL_FRONT, HALL_BACK, HALL_H)
    c.coffered_ceiling(b, "ceiling_beam", "ceiling_light", -HALL_X, HALL_X, HALL_FRONT, HALL_BACK, HALL_H,
                       10, 7, depth=0.5, width=0.35, lamp_size=1.1)
    doors = ((-9.0, -7.0, 2.6), (7.0, 9.0, 2.6))
    c.wall(b, "wall", "x", HALL_BACK + 0.1, -HALL_X, HALL_X, HALL_H, doors)
    c.wall(b, "wall", "x", HALL_FRONT - 0.1, -HALL_X, HALL_X, HALL_H)
    c.wainscot(b, "panel_wood", "wood", "x", HALL_FRONT - 0.1, -HALL_X, HALL_X, height=4.2)
    c.wainscot(b, "panel_wood", "wood", "x", HALL_BACK + 0.1, -HALL_X, HALL_X, doors, height=4.2)
    for side in (-1.0, 1.0):
        c.wall(b, "wall", "z", side * (HALL_X + 0.1), HALL_FRONT, HALL_BACK, HALL_H)
        c.wainscot(b, "panel_wood", "wood", "z", side * (HALL_X + 0.1), HALL_FRONT, HALL_BACK, height=4.2)
        # wood pilasters rising from the panelling to a cornice under the banners
        c.pilasters(b, "wood", "z", side * HALL_X, -side, HALL_FRONT, HALL_BACK, 7, 7.6)
        c.pilasters(b, "wood", "x", HALL_FRONT, 1.0, min(side * 6.0, side * HALL_X), max(side * 6.0, side * HALL_X), 3, 7.6)
    for x0, x1, h in doors:
        c.double_door(b, Frame.at(((x0 + x1) / 2.0, 0.0, HALL_BACK + 0.1), 0.0), x1 - x0, h)
    # wooden wainscot on the walls facing the seats
    for side in (-1.0, 1.0):
        b["wood"].add_box(WORLD, (side * (HALL_X - 0.02), 0.6, (HALL_FRONT + HALL_BACK) / 2.0),
                          (0.04, 1.2, HALL_BACK - HALL_FRONT))


def _tiers(b: Builders, n_tiers: int) -> None:
    half = ARC_HALF_DEG + 2.0
    for t in range(n_tiers):
        r = tier_radius(t)
        faces = ("top", "front", "sides") + (("back",) if t == n_tiers - 1 else ())
        b["tier_carpet"].add_sector_slab((0.0, 0.0, 0.0), r - TIER_DEPTH / 2.0, r + TIER_DEPTH / 2.0,
                                         -half, half, 0.0, tier_height(t), 48, faces)


def _stage(b: Builders) -> None:
    b["stage"].add_box(WORLD, (0.0, STAGE_H / 2.0, (HALL_FRONT + 1.5) / 2.0), (18.0, STAGE_H, 1.5 - HALL_FRONT))
    b["podium_marble"].add_box(WORLD, (0.0, (STAGE_H + DAIS_H) / 2.0, (HALL_FRONT - 2.6) / 2.0),
                               (9.0, DAIS_H - STAGE_H, HALL_FRONT * -1.0 - 2.6 + 0.0))
    for i in range(3):  # steps up to the dais on both sides
        h = STAGE_H + (DAIS_H - STAGE_H) * (i + 1) / 4.0
        for side in (-1.0, 1.0):
            b["stage"].add_box(WORLD, (side * (4.5 + 0.35 * (3 - i) - 0.175), h / 2.0, -4.5), (0.35, h, 1.6))
    # the podium desk of the presiding officer and two officials, chairs behind it
    b["podium_marble"].add_box(WORLD, (0.0, DAIS_H + 0.4, -3.0), (7.0, 0.8, 0.7))
    b["wood"].add_box(WORLD, (0.0, DAIS_H + 0.82, -3.05), (7.2, 0.05, 0.85))
    for x in (-1.3, 0.0, 1.3):
        c.office_chair(b, Frame.at((x, DAIS_H, -3.75), 180.0), "seat_fabric", "metal", width=0.6)
    # the speaker's rostrum (lectern) in front of the dais
    b["podium_marble"].add_box(WORLD, (0.0, STAGE_H + 0.55, 0.55), (1.2, 1.1, 0.6))  # green marble, as in the Hall
    b["rostrum"].add_box(WORLD, (0.0, STAGE_H + 1.13, 0.5), (1.3, 0.06, 0.75))
    b["emblem_gold"].add_disc(Frame.at((0.0, STAGE_H + 0.6, 0.86), 180.0), (0.0, 0.0, 0.0), 0.28)
    b["metal"].add_box(WORLD, (0.4, STAGE_H + 1.3, 0.35), (0.015, 0.3, 0.015))
    # the front wall behind the dais: gold leaf, the emblem on a deep blue field
    b["gold_leaf"].add_box(WORLD, (0.0, 4.8, HALL_FRONT + 0.1), (12.0, 9.6, 0.2))
    # framed in dark wood, fine gilt fillets rising behind the dais
    for side in (-1.0, 1.0):
        b["rostrum"].add_box(WORLD, (side * 6.1, 4.9, HALL_FRONT + 0.14), (0.35, 9.8, 0.28))
        for k in range(1, 5):
            b["emblem_gold"].add_box(WORLD, (side * 1.15 * k, 5.6, HALL_FRONT + 0.205), (0.035, 7.6, 0.012))
    b["rostrum"].add_box(WORLD, (0.0, 9.75, HALL_FRONT + 0.14), (12.55, 0.3, 0.28))
    b["emblem_gold"].add_disc(Frame.at((0.0, 6.4, HALL_FRONT + 0.22), 180.0), (0.0, 0.0, 0.0), 1.6, 48)
    b["emblem_field"].add_disc(Frame.at((0.0, 6.4, HALL_FRONT + 0.24), 180.0), (0.0, 0.0, 0.0), 1.35, 48)
    # the emblem: a globe of gold meridians and parallels inside the ring
    globe = Frame.at((0.0, 6.4, HALL_FRONT + 0.26), 180.0)
    b["emblem_gold"].add_disc(globe, (0.0, 0.0, 0.0), 1.0, 48)
    b["emblem_field"].add_disc(globe, (0.0, 0.0, -0.01), 0.93, 48)
    for k in range(-3, 4):
        y = 0.25 * k
        half = math.sqrt(0.93 * 0.93 - y * y)
        b["emblem_gold"].add_box(globe, (0.0, y, -0.02), (2.0 * half, 0.035, 0.01))
    for k in range(-3, 4):
        x = 0.25 * k
        half = math.sqrt(0.93 * 0.93 - x * x)
        b["emblem_gold"].add_box(globe, (x, 0.0, -0.02), (0.03, 2.0 * half, 0.01))


FLAG_ROW = 8  # flags on each side of the stage
SCREEN_W, SCREEN_H = 5.2, 2.925
SCREEN_Y = 5.4
SCREEN_X = 9.0


def _screens(b: Builders) -> list[dict[str, Any]]:
    out = []
    for key, x, caption in (("agenda", -SCREEN_X, "AGENDA"), ("speaker", SCREEN_X, "CURRENT SPEAKER")):
        z = HALL_FRONT + 0.26
        b["screen_frame"].add_box(WORLD, (x, SCREEN_Y, HALL_FRONT + 0.18), (SCREEN_W + 0.3, SCREEN_H + 0.3, 0.12))
        b["screen_" + key].add_panel(Frame.at((x, SCREEN_Y, z), 180.0), (0.0, 0.0, 0.0), SCREEN_W, SCREEN_H)
        out.append({"id": key, "position": c.v3((x, SCREEN_Y, z)), "yaw_deg": 180.0, "size": [SCREEN_W, SCREEN_H],
                    "image": "", "caption": caption, "material": "screen_" + key})
    return out


def _banners(b: Builders, codes: list[str], atlas: Any) -> None:
    """All delegation flags as banners on the side and rear walls, in two rows."""
    size = (0.6, 0.45)  # 4:3, as the flag atlas
    slots: list[tuple[V3, float]] = []
    rows = (8.2, 9.2)
    per_row = (len(codes) + 1) // 2
    side_len = HALL_BACK - 1.0 - (HALL_FRONT + 9.0)
    rear_len = 2.0 * HALL_X - 2.0
    total = 2.0 * side_len + rear_len
    for r, y in enumerate(rows):
        n = per_row if r == 0 else len(codes) - per_row
        for k in range(n):
            d = (k + 0.5 + 0.5 * r) * total / (per_row + 0.5)
            if d < side_len:  # right wall as seen from the podium (+X), front to back
                slots.append(((HALL_X - 0.01, y, HALL_FRONT + 9.0 + d), 90.0))
            elif d < side_len + rear_len:
                slots.append(((HALL_X - 1.0 - (d - side_len), y, HALL_BACK - 0.01), 0.0))
            else:
                slots.append(((-HALL_X + 0.01, y, HALL_BACK - 1.0 - (d - side_len - rear_len)), -90.0))
    for i, (code, (pos, yaw)) in enumerate(zip(codes, slots)):
        # a banner faces into the room (its frame's -Z points away from the wall)
        c.wall_banner(b, Frame.at(pos, yaw), atlas.uv(i + 1), size)


def build(members: tuple[tuple[str, str, str], ...]) -> tuple[Builders, dict[str, MaterialSpec], dict[str, bytes], dict[str, Any], dict[str, Any]]:
    """Geometry, materials, images, layout and per-delegation extras (flag colours)."""
    b = Builders()
    codes = [m[0] for m in members]
    labels = [m[2] or m[1] for m in members]
    placard_img, placards = label_atlas(labels, (256, 64), 8, min_rows=32)
    flags_img, flags, colours = flag_atlas(codes, cell=(96, 72), real=True)  # real flags, 4:3
    spots = seat_spots(len(members))
    n_tiers = spots[-1].tier + 1
    blank = placards.uv(len(labels))
    for s in spots:
        _seat_geometry(b, s, placards.uv(s.index), blank)
    _hall(b)
    _tiers(b, n_tiers)
    _stage(b)
    screens = _screens(b)
    _banners(b, codes, flags)
    for x in (-6.2, 6.2):
        c.flag_on_pole(b, (x, STAGE_H, -5.4), flags.uv(0), height=3.2, cloth=(1.2, 0.9), yaw_deg=0.0 if x < 0 else 180.0)
    # a row of member states' flags on the floor either side of the stage
    for k in range(FLAG_ROW):
        for side in (-1.0, 1.0):
            i = 2 * k + (0 if side < 0 else 1)
            x = side * (10.0 + 1.15 * k)
            c.flag_on_pole(b, (x, 0.0, HALL_FRONT + 0.9), flags.uv(1 + i * len(codes) // (2 * FLAG_ROW)), height=3.0,
                           cloth=(0.9, 0.675), yaw_deg=0.0 if side < 0 else 180.0)

    images = {
        "placards": png_bytes(placard_img),
        "flags": png_bytes(flags_img),
        "screen_agenda": png_bytes(screen_image("AGENDA", AGENDA_LINES)),
        "screen_speaker": png_bytes(screen_image("CURRENT SPEAKER", ["The floor is open.", "", "Speaking time: 00:00"])),
    }

    rostrum = rostrum_point()
    mid_tier = n_tiers // 2
    mid = min((s for s in spots if s.tier == mid_tier), key=lambda s: abs(s.angle_deg - 12.0))
    eye = (mid.position[0], mid.position[1] + EYE_HEIGHT, mid.position[2])
    speaker_head = (rostrum[0], rostrum[1] + 1.6, rostrum[2])
    yaw, pitch = c.look(eye, speaker_head)
    pitch -= 7.0  # a little down, so the own desk placard is whole in view, not cut by the frame
    over = (0.0, 9.0, HALL_BACK - 1.5)
    oyaw, opitch = c.look(over, (0.0, 1.5, 0.0))
    president = (0.0, DAIS_H, -3.75)
    layout: dict[str, Any] = {
        "scene": "chamber",
        "glb": "chamber.glb",
        "description": "Plenary chamber: 193 delegation seats in rising arcs facing the rostrum and the podium.",
        "seats": [
            {
                "id": f"S{s.index + 1:03d}",
                "index": s.index,
                "delegation": codes[s.index],
                "position": c.v3(s.position),
                "yaw_deg": c.r4(s.yaw_deg),
                "tier": s.tier,
                "side": "",
            }
            for s in spots
        ],
        "views": {
            "seat": c.view(eye, yaw, pitch, 80.0),
            "overview": c.view(over, oyaw, opitch, 80.0),
            "rostrum": c.view((0.0, STAGE_H + 1.65, 0.0), 180.0, -6.0, 90.0),
            "chair": c.view((president[0], president[1] + EYE_HEIGHT, president[2]), 180.0, -4.0, 90.0),
        },
        "default_view": "seat",
        "default_seat": f"S{mid.index + 1:03d}",
        "points": {
            "rostrum": c.point(rostrum, 180.0),
            "podium": c.point(president, 180.0),
            "secretary_general": c.point((-1.3, DAIS_H, -3.75), 180.0),
            "arc_center": c.point((0.0, 0.0, 0.0), 0.0),
            "entrance_left": c.point((-8.0, 0.0, HALL_BACK - 0.6), 0.0),
            "entrance_right": c.point((8.0, 0.0, HALL_BACK - 0.6), 0.0),
        },
        "exhibits": [],
        "screens": screens,
        "zones": [
            c.zone("plenary", "plenary", (-HALL_X, -0.5, HALL_FRONT), (HALL_X, HALL_H, HALL_BACK)),
            c.zone("stage", "stage", (-9.0, STAGE_H - 0.1, HALL_FRONT), (9.0, HALL_H, 1.5)),
        ],
        "lights": [
            c.light("directional", (1.0, 0.96, 0.9), 1.5, direction=(0.35, -1.0, -0.5)),
            c.light("directional", (0.75, 0.82, 1.0), 0.22, direction=(-0.3, -0.4, -1.0)),
            c.light("point", (1.0, 0.92, 0.8), 1.3, position=(0.0, 7.0, -1.5), range=22.0),
            c.light("point", (0.9, 0.92, 1.0), 0.8, position=(0.0, 9.0, 12.0), range=26.0),
        ],
        "ambient": [0.16, 0.155, 0.15],
        "clear_color": [0.02, 0.02, 0.03, 1.0],
    }
    extras = {"colours": colours, "tiers": n_tiers}
    return b, MATERIALS, images, layout, extras

