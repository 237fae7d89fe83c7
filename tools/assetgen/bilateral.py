"""The bilateral room: a negotiating table for two delegations of up to six (sides A and B).

The table runs along X through the origin; side A sits at -Z facing +Z, side B at +Z facing
-Z. Seat 1 of each side is at the -X end. Two closed doors on the +X wall, windows behind
side A, the two delegations' flags at the -X end and small table flags side by side in the middle.

The room serves any pair of delegations, so its seats name none (a seat's delegation comes
from the verified roster or the delegate's own ``--delegation``, never from the layout) and its
side flags are slots: the layout's ``flag_slots`` name each side's cell of the "flags" texture,
which the client paints with the real flag of the delegation meeting there
(:mod:`vrdiplomacy.render.room_flags`); undressed, they show the UN flag, never a made-up one. Each delegate's own desk placard and name tag, drawn
at run time from the roster, say who sits where; the table carries no baked name board.
"""

from __future__ import annotations

from typing import Any

from . import common as c
from .geom import WORLD, Builders, Frame, UVRect, V3
from .glb import MaterialSpec
from PIL import Image

from .textures import Atlas, exhibit_image, flag_atlas, png_bytes, portrait_painting, window_view

ROOM_X, ROOM_Z, ROOM_H = 5.0, 4.0, 3.2
TABLE_TOP = 0.76
TABLE_LEN, TABLE_DEPTH = 4.8, 1.5
SEAT_Z = 1.15
SEAT_PITCH = 0.75
PER_SIDE = 6
EYE_HEIGHT = 1.2
FLAG_CELL = (96, 72)  # 4:3, the real-flag atlas's cell (assets/textures/flags.json)
TABLE_FLAG_CLOTH = (0.18, 0.12)
# the table flags' poles on the centre line (z = 0): side A's on side A's left, side B's to its
# right, a hand's breadth between the end of the one and the pole of the other
TABLE_FLAG_POLES_X = {"A": 0.2, "B": -0.02}

MATERIALS: dict[str, MaterialSpec] = {
    "carpet": MaterialSpec((0.20, 0.16, 0.12, 1.0), 0.0, 0.95),
    "wall": MaterialSpec((0.62, 0.58, 0.50, 1.0), 0.0, 0.85),
    "wood": MaterialSpec((0.33, 0.19, 0.09, 1.0), 0.0, 0.5),
    "panel_wood": MaterialSpec((0.26, 0.15, 0.075, 1.0), 0.0, 0.45),
    "paper": MaterialSpec((0.62, 0.62, 0.6, 1.0), 0.0, 0.9),
    "glass_water": MaterialSpec((0.55, 0.62, 0.66, 0.45), 0.0, 0.1),
    "table_wood": MaterialSpec((0.22, 0.11, 0.05, 1.0), 0.0, 0.3),
    "leather": MaterialSpec((0.05, 0.09, 0.06, 1.0), 0.0, 0.55),
    "seat_leather": MaterialSpec((0.10, 0.06, 0.04, 1.0), 0.0, 0.6),
    "metal": MaterialSpec((0.55, 0.56, 0.58, 1.0), 1.0, 0.35),
    "counter_stone": MaterialSpec((0.30, 0.29, 0.27, 1.0), 0.0, 0.25),
    "brass": MaterialSpec((0.78, 0.60, 0.30, 1.0), 1.0, 0.35),
    "door_wood": MaterialSpec((0.25, 0.14, 0.07, 1.0), 0.0, 0.5),
    "ceiling": MaterialSpec((0.70, 0.69, 0.66, 1.0), 0.0, 0.9),
    "ceiling_light": MaterialSpec((1.0, 1.0, 1.0, 1.0), 0.0, 1.0, emissive=(1.0, 0.96, 0.88)),
    "window": MaterialSpec((1.0, 1.0, 1.0, 1.0), 0.0, 0.1, emissive=(0.9, 0.9, 0.9),
                           texture="window_view", emissive_texture="window_view"),
    "ceiling_beam": MaterialSpec((0.76, 0.74, 0.70, 1.0), 0.0, 0.8),
    "curtain": MaterialSpec((0.16, 0.20, 0.30, 1.0), 0.0, 0.85),
    "gilt": MaterialSpec((0.62, 0.46, 0.20, 1.0), 0.9, 0.35),
    "paintings": MaterialSpec((1.0, 1.0, 1.0, 1.0), 0.0, 0.7, texture="paintings"),
    "flags": MaterialSpec((1.0, 1.0, 1.0, 1.0), 0.0, 0.9, texture="flags"),
}


def seat_position(side: str, i: int) -> tuple[V3, float]:
    """Floor point and yaw of seat ``i`` (0-based) on ``side``."""
    x = -(PER_SIDE - 1) * SEAT_PITCH / 2.0 + i * SEAT_PITCH
    if side == "A":
        return (x, 0.0, -SEAT_Z), 180.0
    return (x, 0.0, SEAT_Z), 0.0


def desk_flag(b: Builders, base: V3, uv: UVRect) -> None:
    """A small table flag standing on ``base`` (the table top): a brass foot, a short pole (the
    flag flies below the faces across the table, not in front of them) and the cloth flying
    towards world -X from its pole, so that side A (at -Z) sees it the right way round (the hoist
    at the pole, on its left); side B sees the reverse, mirrored, as of a real flag."""
    f = Frame.at(base, 180.0)  # local +X (where the cloth flies) is world -X, local +Z faces side A
    b["brass"].add_box(f, (0.0, 0.01, 0.0), (0.08, 0.02, 0.08))
    b["brass"].add_cylinder(f, (0.0, 0.02, 0.0), 0.005, 0.33, segments=6)
    w, h = TABLE_FLAG_CLOTH
    b["flags"].add_box(f, (0.005 + w / 2.0, 0.345 - h / 2.0, 0.0), (w, h, 0.005),
                       uv={"+z": uv, "-z": c.mirror_uv(uv), "+x": uv, "-x": uv, "+y": uv, "-y": uv})


def build() -> tuple[Builders, dict[str, MaterialSpec], dict[str, bytes], dict[str, Any]]:
    b = Builders()
    flags_img, flags, _ = flag_atlas(["side-A", "side-B"], cell=FLAG_CELL, cols=3, neutral=True)
    paintings = Atlas(3, 1, 384, 224)
    painting_img = Image.new("RGB", paintings.size, (40, 30, 22))
    painting_img.paste(exhibit_image("landscape", "bilateral-hall", 256).resize((384, 224)), paintings.origin(0))
    for k, seed in enumerate(("elder-statesman", "first-envoy")):
        painting_img.paste(portrait_painting(seed, (168, 224)), (paintings.origin(1 + k)[0] + 108, 0))

    # room shell
    c.floor_quad(b, "carpet", -ROOM_X, ROOM_X, -ROOM_Z, ROOM_Z)
    c.ceiling_quad(b, "ceiling", -ROOM_X, ROOM_X, -ROOM_Z, ROOM_Z, ROOM_H)
    c.coffered_ceiling(b, "ceiling_beam", "ceiling_light", -ROOM_X, ROOM_X, -ROOM_Z, ROOM_Z, ROOM_H, 5, 4,
                       depth=0.16, width=0.14, lamp_size=0.5)
    for axis, fixed, inward, start, end in (("z", -ROOM_X, 1.0, -ROOM_Z, ROOM_Z), ("z", ROOM_X, -1.0, -ROOM_Z, ROOM_Z),
                                            ("x", -ROOM_Z, 1.0, -ROOM_X, ROOM_X), ("x", ROOM_Z, -1.0, -ROOM_X, ROOM_X)):
        c.pilasters(b, "ceiling_beam", axis, fixed, inward, start, end, 0, ROOM_H - 0.22)
    doors = ((-2.6, -1.0, 2.2), (1.0, 2.6, 2.2))
    c.wall(b, "wall", "z", ROOM_X + 0.1, -ROOM_Z, ROOM_Z, ROOM_H, doors)
    c.wall(b, "wall", "z", -ROOM_X - 0.1, -ROOM_Z, ROOM_Z, ROOM_H)
    c.wall(b, "wall", "x", -ROOM_Z - 0.1, -ROOM_X, ROOM_X, ROOM_H)
    c.wall(b, "wall", "x", ROOM_Z + 0.1, -ROOM_X, ROOM_X, ROOM_H)
    for z0, z1, h in doors:
        c.double_door(b, Frame.at((ROOM_X + 0.1, 0.0, (z0 + z1) / 2.0), 90.0), z1 - z0, h)
    for axis, fixed, start, end, openings in (("z", ROOM_X + 0.1, -ROOM_Z, ROOM_Z, doors), ("z", -ROOM_X - 0.1, -ROOM_Z, ROOM_Z, ()),
                                              ("x", -ROOM_Z - 0.1, -ROOM_X, ROOM_X, ()), ("x", ROOM_Z + 0.1, -ROOM_X, ROOM_X, ())):
        c.wainscot(b, "panel_wood", "wood", axis, fixed, start, end, openings)
    for x in (-2.4, 0.0, 2.4):  # curtained windows behind side A
        c.curtained_window(b, Frame.at((x, 1.95, -ROOM_Z + 0.015), 180.0), 1.2, 1.7, "window", "curtain", "wood",
                           top=0.92)
    # a landscape behind side B between two portraits
    c.painting(b, Frame.at((0.0, 2.05, ROOM_Z - 0.01), 0.0), 2.4, 1.2, "paintings", "gilt", paintings.uv(0))
    for k, x in enumerate((-3.3, 3.3)):
        x0 = paintings.origin(1 + k)[0] + 108  # the portrait, 168 texels wide, inside its cell
        uv = ((x0 + 0.5) / 1152.0, 0.5 / 224.0, (x0 + 167.5) / 1152.0, 223.5 / 224.0)
        c.painting(b, Frame.at((x, 2.0, ROOM_Z - 0.01), 0.0), 0.75, 1.0, "paintings", "gilt", uv, border=0.09)

    # the table: top, apron and two pedestals; a leather pad at each place
    b["table_wood"].add_box(WORLD, (0.0, TABLE_TOP - 0.025, 0.0), (TABLE_LEN, 0.05, TABLE_DEPTH))
    b["table_wood"].add_box(WORLD, (0.0, TABLE_TOP - 0.1, 0.0), (TABLE_LEN - 0.3, 0.1, TABLE_DEPTH - 0.3))
    for x in (-1.6, 1.6):
        b["table_wood"].add_box(WORLD, (x, (TABLE_TOP - 0.15) / 2.0, 0.0), (0.5, TABLE_TOP - 0.15, 0.7))

    seats = []
    index = 0
    for side in ("A", "B"):
        for i in range(PER_SIDE):
            pos, yaw = seat_position(side, i)
            f = Frame.at(pos, yaw)
            c.leather_chair(b, f, "seat_leather", "metal", "table_wood", width=0.55)
            b["leather"].add_box(f, (0.0, TABLE_TOP + 0.003, -0.65), (0.5, 0.006, 0.36))
            b["paper"].add_box(f, (-0.05, TABLE_TOP + 0.008, -0.64), (0.21, 0.004, 0.28))  # a notepad
            b["metal"].add_box(f, (0.09, TABLE_TOP + 0.0125, -0.64), (0.008, 0.005, 0.14))  # a pen
            b["glass_water"].add_cylinder(f, (0.2, TABLE_TOP + 0.006, -0.72), 0.032, 0.11, segments=10)  # a glass
            seats.append({"id": f"{side}{i + 1}", "index": index, "delegation": "", "position": c.v3(pos),
                          "yaw_deg": yaw, "tier": 0, "side": side})
            index += 1

    # table flags side by side on the table's centre line (one in front of the other hid it), floor
    # flags at the -X end
    for k, side in enumerate(("A", "B")):
        uv = flags.uv(k + 1)
        desk_flag(b, (TABLE_FLAG_POLES_X[side], TABLE_TOP, 0.0), uv)
        c.flag_on_pole(b, (-ROOM_X + 0.6, 0.0, -1.0 if side == "A" else 1.0), uv, height=2.5, cloth=(0.9, 0.6),
                       yaw_deg=90.0 if side == "A" else -90.0)

    # a carafe on each side, a credenza under the windows
    for z in (-0.45, 0.45):
        for x in (-1.2, 1.2):
            b["glass_water"].add_cylinder(WORLD, (x, TABLE_TOP, z), 0.045, 0.2, segments=12)
    b["panel_wood"].add_box(WORLD, (0.0, 0.4, -ROOM_Z + 0.3), (3.2, 0.8, 0.45))
    b["counter_stone"].add_box(WORLD, (0.0, 0.815, -ROOM_Z + 0.3), (3.3, 0.03, 0.5))

    images = {"flags": png_bytes(flags_img), "window_view": png_bytes(window_view()),
              "paintings": png_bytes(painting_img)}

    pos_a3, yaw_a3 = seat_position("A", 2)
    eye = (pos_a3[0], EYE_HEIGHT, pos_a3[2])
    opposite = (seat_position("B", 2)[0][0], 1.15, SEAT_Z)
    yaw, pitch = c.look(eye, opposite)
    pos_b3, _ = seat_position("B", 2)
    eye_b = (pos_b3[0], EYE_HEIGHT, pos_b3[2])
    yaw_b, pitch_b = c.look(eye_b, (pos_a3[0], 1.15, -SEAT_Z))
    corner = (ROOM_X - 0.6, 2.6, ROOM_Z - 0.6)
    oyaw, opitch = c.look(corner, (0.0, 0.6, 0.0))
    layout: dict[str, Any] = {
        "scene": "bilateral",
        "glb": "bilateral.glb",
        "description": "Bilateral room: a negotiating table for two delegations of up to six (sides A and B).",
        "seats": seats,
        "views": {
            "delegate": c.view(eye, yaw, pitch, 90.0),
            "delegate_b": c.view(eye_b, yaw_b, pitch_b, 90.0),
            "overview": c.view(corner, oyaw, opitch, 90.0),
        },
        "default_view": "delegate",
        "default_seat": "A3",
        "points": {
            "table_center": c.point((0.0, TABLE_TOP, 0.0)),
            "door_left": c.point((ROOM_X - 0.5, 0.0, -1.8), 90.0),
            "door_right": c.point((ROOM_X - 0.5, 0.0, 1.8), 90.0),
            "flag_A": c.point((-ROOM_X + 0.6, 0.0, -1.0), 90.0),
            "flag_B": c.point((-ROOM_X + 0.6, 0.0, 1.0), -90.0),
        },
        "exhibits": [],
        "screens": [],
        "flag_slots": {side: [*flags.origin(k + 1), flags.origin(k + 1)[0] + FLAG_CELL[0],
                              flags.origin(k + 1)[1] + FLAG_CELL[1]] for k, side in enumerate(("A", "B"))},
        "zones": [c.zone("bilateral_room", "bilateral", (-ROOM_X, -0.5, -ROOM_Z), (ROOM_X, ROOM_H, ROOM_Z), True)],
        "lights": [
            c.light("directional", (1.0, 0.96, 0.9), 1.45, direction=(0.45, -1.0, 0.55)),
            c.light("directional", (0.75, 0.82, 1.0), 0.25, direction=(0.2, -0.3, 1.0)),
            c.light("point", (1.0, 0.93, 0.82), 0.9, position=(0.0, 2.8, 0.0), range=9.0),
        ],
        "ambient": [0.17, 0.165, 0.16],
        "clear_color": [0.02, 0.02, 0.03, 1.0],
    }
    return b, MATERIALS, images, layout
