"""The embassy: an entrance hall, a reception hall with cultural exhibits, and a lounge.

Plan (metres, looking down, +X right, +Z towards the street):

    z=12  +------ front door ------+            entrance hall  x -6..6,  z 4..12
          |  consular desk (-X)    |
    z=4   +--+---- doorway ----+---+-------+    reception hall x -9..9,  z -10..4
          |  exhibits      buffet  | lounge|    lounge         x 9..15, z -10..-2
    z=-10 +------------------------+-------+    (an isolated zone: talks there stay there)
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from . import common as c
from .geom import WORLD, Builders, Frame, V3
from .glb import MaterialSpec
from .textures import (
    Atlas,
    exhibit_image,
    exhibit_panel,
    flag_atlas,
    label_atlas,
    png_bytes,
    portrait_painting,
    window_view,
)

EYE = 1.65
FLAG_CELL = (96, 72)  # 4:3, the real-flag atlas's cell (assets/textures/flags.json)

MATERIALS: dict[str, MaterialSpec] = {
    "floor_marble": MaterialSpec((0.24, 0.21, 0.17, 1.0), 0.0, 0.4),
    "rug": MaterialSpec((0.11, 0.025, 0.03, 1.0), 0.0, 0.95),
    "rug_border": MaterialSpec((0.42, 0.30, 0.12, 1.0), 0.0, 0.9),
    "ceiling_beam": MaterialSpec((0.80, 0.78, 0.72, 1.0), 0.0, 0.8),
    "gilt": MaterialSpec((0.62, 0.46, 0.20, 1.0), 0.9, 0.35),
    "curtain": MaterialSpec((0.30, 0.06, 0.07, 1.0), 0.0, 0.85),
    "plinth": MaterialSpec((0.70, 0.66, 0.58, 1.0), 0.0, 0.35),
    "plinth_panel": MaterialSpec((0.56, 0.52, 0.45, 1.0), 0.0, 0.4),
    "plinth_base": MaterialSpec((0.09, 0.075, 0.065, 1.0), 0.0, 0.25),
    "ceramic": MaterialSpec((0.12, 0.24, 0.36, 1.0), 0.0, 0.2),
    "crystal": MaterialSpec((0.95, 0.95, 1.0, 1.0), 0.2, 0.1, emissive=(0.55, 0.55, 0.6)),
    "silver": MaterialSpec((0.80, 0.80, 0.82, 1.0), 1.0, 0.25),
    "flowers": MaterialSpec((0.75, 0.62, 0.70, 1.0), 0.0, 0.7),
    "paintings": MaterialSpec((1.0, 1.0, 1.0, 1.0), 0.0, 0.7, texture="paintings"),
    "carpet": MaterialSpec((0.14, 0.16, 0.22, 1.0), 0.0, 0.95),
    "wall": MaterialSpec((0.72, 0.68, 0.60, 1.0), 0.0, 0.85),
    "ceiling": MaterialSpec((0.78, 0.77, 0.74, 1.0), 0.0, 0.9),
    "ceiling_light": MaterialSpec((1.0, 1.0, 1.0, 1.0), 0.0, 1.0, emissive=(1.0, 0.96, 0.88)),
    "wood": MaterialSpec((0.33, 0.19, 0.09, 1.0), 0.0, 0.5),
    "panel_wood": MaterialSpec((0.30, 0.17, 0.085, 1.0), 0.0, 0.45),
    "door_wood": MaterialSpec((0.25, 0.14, 0.07, 1.0), 0.0, 0.5),
    "consular_desk": MaterialSpec((0.16, 0.10, 0.06, 1.0), 0.0, 0.45),
    "counter_top": MaterialSpec((0.45, 0.45, 0.47, 1.0), 0.0, 0.2),
    "brass": MaterialSpec((0.78, 0.60, 0.30, 1.0), 1.0, 0.35),
    "metal": MaterialSpec((0.55, 0.56, 0.58, 1.0), 1.0, 0.35),
    "seat_leather": MaterialSpec((0.10, 0.06, 0.04, 1.0), 0.0, 0.6),
    "sofa_fabric": MaterialSpec((0.42, 0.33, 0.18, 1.0), 0.0, 0.9),
    "tablecloth": MaterialSpec((0.90, 0.89, 0.85, 1.0), 0.0, 0.8),
    "chandelier": MaterialSpec((1.0, 0.95, 0.8, 1.0), 0.5, 0.3, emissive=(1.0, 0.88, 0.62)),
    "lamp_shade": MaterialSpec((1.0, 0.95, 0.85, 1.0), 0.0, 0.8, emissive=(0.9, 0.78, 0.55)),
    "plant": MaterialSpec((0.10, 0.30, 0.10, 1.0), 0.0, 0.8),
    "plant_pot": MaterialSpec((0.45, 0.25, 0.16, 1.0), 0.0, 0.7),
    "window": MaterialSpec((1.0, 1.0, 1.0, 1.0), 0.0, 0.1, emissive=(0.9, 0.9, 0.9),
                           texture="window_view", emissive_texture="window_view"),
    "exhibit_frame": MaterialSpec((0.06, 0.05, 0.04, 1.0), 0.3, 0.4),
    "exhibits": MaterialSpec((1.0, 1.0, 1.0, 1.0), 0.0, 0.7, texture="exhibits"),
    "signs": MaterialSpec((1.0, 1.0, 1.0, 1.0), 0.2, 0.4, texture="signs"),
    "flags": MaterialSpec((1.0, 1.0, 1.0, 1.0), 0.0, 0.9, texture="flags"),
}

# id, painter, title, caption, wall position (centre on the wall surface), facing yaw
EXHIBITS: tuple[tuple[str, str, str, str, V3, float], ...] = (
    ("highlands", "landscape", "Highlands at Dawn", "Landscape study, oil on canvas (reproduction)",
     (-8.9, 2.25, 1.0), -90.0),
    ("festival_textile", "textile", "Festival Textile", "Hand-woven wool with a diamond motif",
     (-8.9, 2.25, -3.0), -90.0),
    ("coastal_chart", "chart", "Chart of the Southern Coast", "Engraved sea chart, facsimile of 1782",
     (-8.9, 2.25, -7.0), -90.0),
    ("harvest_ceramics", "ceramics", "Harvest Ceramics", "Glazed earthenware vessels for grain and oil",
     (-5.5, 2.25, -9.9), 180.0),
    ("courtyard_mosaic", "mosaic", "Courtyard Mosaic", "Glass tesserae from a palace floor (detail)",
     (5.5, 2.25, -9.9), 180.0),
    ("capital_at_night", "night", "The Capital at Night", "Photograph, silver gelatin print",
     (8.9, 2.25, 1.0), 90.0),
)
PANEL_SIZE = (1.6, 2.0)
SIGNS = ("EMBASSY", "CONSULAR SERVICES", "LOUNGE")


def exhibit_images() -> dict[str, Image.Image]:
    """The procedural picture of each exhibit (also written to assets/textures/exhibits/)."""
    return {ex_id: exhibit_image(kind, ex_id) for ex_id, kind, *_ in EXHIBITS}


def _wall(b: Builders, axis: str, fixed: float, start: float, end: float, height: float,
          openings: tuple[tuple[float, float, float], ...] = ()) -> None:
    """A plaster wall with wood panelling to 1.1 m on both faces."""
    c.wall(b, "wall", axis, fixed, start, end, height, openings)
    c.wainscot(b, "panel_wood", "wood", axis, fixed, start, end, openings, height=1.1)


def _shell(b: Builders) -> None:
    c.floor_quad(b, "floor_marble", -6.0, 6.0, 4.0, 12.0)
    c.floor_quad(b, "floor_marble", -9.0, 9.0, -10.0, 4.0)
    c.floor_quad(b, "carpet", 9.0, 15.0, -10.0, -2.0)
    c.ceiling_quad(b, "ceiling", -6.0, 6.0, 4.0, 12.0, 4.5)
    c.ceiling_quad(b, "ceiling", -9.0, 9.0, -10.0, 4.0, 5.0)
    c.ceiling_quad(b, "ceiling", 9.0, 15.0, -10.0, -2.0, 3.5)
    c.ceiling_lights(b, "ceiling_light", 10.0, 14.0, -9.0, -3.0, 3.48, 2, 2, (0.8, 0.8))
    # entrance hall
    _wall(b, "x", 12.1, -6.0, 6.0, 4.5, ((-1.0, 1.0, 2.6),))
    for x in (-6.1, 6.1):
        _wall(b, "z", x, 4.0, 12.0, 4.5)
    # reception hall (the z=4 wall is shared with the entrance hall)
    _wall(b, "x", 4.0, -9.2, 9.2, 5.0, ((-1.5, 1.5, 3.0),))
    _wall(b, "x", -10.1, -9.2, 9.2, 5.0)
    _wall(b, "z", -9.1, -10.0, 4.0, 5.0)
    _wall(b, "z", 9.1, -10.0, 4.0, 5.0, ((-4.0, -2.8, 2.4),))
    # lounge
    _wall(b, "x", -10.1, 9.2, 15.2, 3.5)
    _wall(b, "x", -1.9, 9.2, 15.2, 3.5)
    _wall(b, "z", 15.1, -10.0, -2.0, 3.5)
    c.double_door(b, Frame.at((0.0, 0.0, 12.1), 0.0), 2.0, 2.6)
    # the lounge door stands open against the lounge wall, hinged at z = -2.8
    b["door_wood"].add_box(WORLD, (9.8, 1.2, -2.75), (1.18, 2.4, 0.05))
    b["brass"].add_box(WORLD, (10.25, 1.05, -2.8), (0.2, 0.03, 0.04))


def _entrance(b: Builders, flags: Atlas, signs: Atlas, paintings: Atlas) -> None:
    # consular desk along the -X wall: staff behind it, visitors on the +X side
    b["consular_desk"].add_box(WORLD, (-4.6, 0.55, 8.0), (0.7, 1.1, 4.0))
    b["counter_top"].add_box(WORLD, (-4.6, 1.12, 8.0), (0.9, 0.04, 4.1))
    for z in (6.0, 10.0):
        b["consular_desk"].add_box(WORLD, (-4.6, 1.7, z), (0.08, 1.1, 0.08))
    b["consular_desk"].add_box(WORLD, (-4.6, 2.28, 8.0), (0.12, 0.06, 4.1))
    for z in (7.0, 9.0):
        c.office_chair(b, Frame.at((-5.4, 0.0, z), -90.0), "seat_leather", "metal")
    sign = Frame.at((-5.99, 3.0, 8.0), -90.0)
    b["signs"].add_panel(sign, (0.0, 0.0, 0.0), 3.0, 0.5625, signs.uv(1))
    b["signs"].add_panel(Frame.at((0.0, 3.65, 4.11), 180.0), (0.0, 0.0, 0.0), 3.0, 0.5625, signs.uv(0))
    # flags either side of the doorway to the reception: the host country's and the UN's
    c.flag_on_pole(b, (-2.3, 0.0, 4.6), flags.uv(1), height=2.8, yaw_deg=180.0)
    c.flag_on_pole(b, (2.3, 0.0, 4.6), flags.uv(0), height=2.8, yaw_deg=0.0)
    for x, z in ((5.3, 11.3), (-5.3, 11.3), (5.3, 4.7)):
        _plant(b, (x, 0.0, z))
    # a portrait facing the consular desk, a cornice and a panelled ceiling
    c.painting(b, Frame.at((5.99, 2.4, 8.0), 90.0), 1.2, 1.6, "paintings", "gilt", paintings.uv(1))
    for axis, fixed, inward, start, end in (("z", -6.0, 1.0, 4.1, 12.0), ("z", 6.0, -1.0, 4.1, 12.0),
                                            ("x", 4.1, 1.0, -6.0, 6.0), ("x", 12.0, -1.0, -6.0, 6.0)):
        c.pilasters(b, "ceiling_beam", axis, fixed, inward, start, end, 0, 4.25)
    c.coffered_ceiling(b, "ceiling_beam", "ceiling_light", -6.0, 6.0, 4.0, 12.0, 4.5, 4, 3, depth=0.2,
                       width=0.16, lamp_size=0.45)


def _plant(b: Builders, base: V3) -> None:
    f = Frame.at(base)
    b["plant_pot"].add_cylinder(f, (0.0, 0.0, 0.0), 0.25, 0.5, segments=12)
    b["plant"].add_cylinder(f, (0.0, 0.5, 0.0), 0.35, 0.9, segments=10)
    b["plant"].add_cylinder(f, (0.0, 1.4, 0.0), 0.22, 0.35, segments=10)


def _reception(b: Builders, panels: Atlas, paintings: Atlas, flags: Atlas) -> list[dict[str, Any]]:
    # a wine-red rug with a gold border
    b["rug_border"].add_quad(((-5.0, 0.005, 2.0), (5.0, 0.005, 2.0), (5.0, 0.005, -8.0), (-5.0, 0.005, -8.0)),
                             (0.0, 1.0, 0.0))
    b["rug"].add_quad(((-4.7, 0.008, 1.7), (4.7, 0.008, 1.7), (4.7, 0.008, -7.7), (-4.7, 0.008, -7.7)), (0.0, 1.0, 0.0))
    b["rug_border"].add_quad(((-4.3, 0.011, 1.3), (4.3, 0.011, 1.3), (4.3, 0.011, 1.2), (-4.3, 0.011, 1.2)),
                             (0.0, 1.0, 0.0))
    b["rug_border"].add_quad(((-4.3, 0.011, -7.2), (4.3, 0.011, -7.2), (4.3, 0.011, -7.3), (-4.3, 0.011, -7.3)),
                             (0.0, 1.0, 0.0))
    out = []
    w, h = PANEL_SIZE
    for k, (ex_id, _, title, caption, wall_pos, yaw) in enumerate(EXHIBITS):
        f = Frame.at(wall_pos, yaw)
        b["gilt"].add_box(f, (0.0, 0.0, -0.025), (w + 0.24, h + 0.24, 0.05))
        b["exhibit_frame"].add_box(f, (0.0, 0.0, -0.045), (w + 0.08, h + 0.08, 0.03))
        b["exhibits"].add_panel(f, (0.0, 0.0, -0.062), w, h, panels.uv(k))
        centre = f.point((0.0, 0.0, -0.062))
        out.append({"id": ex_id, "position": c.v3(centre), "yaw_deg": yaw, "size": [w, h],
                    "image": f"textures/exhibits/{ex_id}.png", "caption": f"{title}. {caption}."})
        b["brass"].add_box(f, (0.0, h / 2.0 + 0.22, -0.12), (0.5, 0.03, 0.2))  # picture light
        b["lamp_shade"].add_box(f, (0.0, h / 2.0 + 0.2, -0.2), (0.46, 0.02, 0.06))
    # buffet along the back wall under a state portrait: a cloth to the floor, silver platters,
    # glasses and flowers; the flags either side
    b["tablecloth"].add_box(WORLD, (0.0, 0.39, -9.2), (5.0, 0.78, 0.9))
    b["tablecloth"].add_box(WORLD, (0.0, 0.79, -9.2), (5.1, 0.02, 1.0))
    for x in (-1.8, -0.6, 0.6, 1.8):
        b["silver"].add_cylinder(WORLD, (x, 0.8, -9.1), 0.22, 0.02, segments=16)
        b["silver"].add_cylinder(WORLD, (x, 0.82, -9.1), 0.16, 0.1, segments=12)
    for k in range(8):
        b["crystal"].add_cylinder(WORLD, (-2.3 + 0.08 * (k % 4), 0.8, -9.45 + 0.08 * (k // 4)), 0.03, 0.14, segments=6)
        b["crystal"].add_cylinder(WORLD, (2.06 + 0.08 * (k % 4), 0.8, -9.45 + 0.08 * (k // 4)), 0.03, 0.14, segments=6)
    b["ceramic"].add_cylinder(WORLD, (0.0, 0.8, -9.45), 0.1, 0.3, segments=10)
    b["flowers"].add_cylinder(WORLD, (0.0, 1.1, -9.45), 0.28, 0.3, segments=10)
    b["plant"].add_cylinder(WORLD, (0.0, 1.05, -9.45), 0.33, 0.1, segments=10)
    c.painting(b, Frame.at((0.0, 2.9, -9.99), 180.0), 1.5, 2.0, "paintings", "gilt", paintings.uv(0), border=0.16)
    b["brass"].add_box(WORLD, (0.0, 4.15, -9.86), (0.6, 0.03, 0.2))
    b["lamp_shade"].add_box(WORLD, (0.0, 4.13, -9.78), (0.56, 0.02, 0.06))
    c.flag_on_pole(b, (-3.4, 0.0, -9.55), flags.uv(1), height=2.9, yaw_deg=180.0)
    c.flag_on_pole(b, (3.4, 0.0, -9.55), flags.uv(0), height=2.9, yaw_deg=0.0)
    # tall windows with curtains between the pictures on the -X wall, display cases before them
    for z in (-1.0, -5.0):
        c.curtained_window(b, Frame.at((-8.99, 2.4, z), -90.0), 0.9, 2.6, "window", "curtain", "gilt")
        f = Frame.at((-6.8, 0.0, z), -90.0)
        # a stone pedestal: a dark marble foot, a stepped base, a shaft with a raised panel on each
        # face, a moulded cap, and a brass plate naming the piece
        b["plinth_base"].add_box(f, (0.0, 0.06, 0.0), (0.68, 0.12, 0.68))
        b["plinth"].add_box(f, (0.0, 0.14, 0.0), (0.62, 0.04, 0.62))
        b["plinth"].add_box(f, (0.0, 0.58, 0.0), (0.52, 0.84, 0.52))
        for yaw in (0.0, 90.0, 180.0, 270.0):
            face = f.child((0.0, 0.0, 0.0), yaw)
            b["plinth_panel"].add_box(face, (0.0, 0.55, -0.262), (0.38, 0.60, 0.012))
        b["plinth"].add_box(f, (0.0, 0.985, 0.0), (0.58, 0.03, 0.58))
        b["plinth"].add_box(f, (0.0, 1.02, 0.0), (0.64, 0.04, 0.64))
        b["ceramic"].add_cylinder(f, (0.0, 1.04, 0.0), 0.09, 0.05, segments=12)
        b["ceramic"].add_cylinder(f, (0.0, 1.09, 0.0), 0.16, 0.22, segments=12)
        b["ceramic"].add_cylinder(f, (0.0, 1.31, 0.0), 0.1, 0.08, segments=12)
        b["ceramic"].add_cylinder(f, (0.0, 1.39, 0.0), 0.06, 0.12, segments=10)
        for dx in (-0.29, 0.29):  # the vitrine's brass edges
            for dz in (-0.29, 0.29):
                b["brass"].add_box(f, (dx, 1.33, dz), (0.02, 0.58, 0.02))
        b["brass"].add_box(f, (0.0, 1.62, 0.0), (0.6, 0.02, 0.6))
        b["gilt"].add_box(f, (0.0, 0.93, -0.264), (0.24, 0.05, 0.01))  # a label
    # a portrait on the -X wall of the entrance hall side, plants in the corners
    c.painting(b, Frame.at((8.99, 2.5, -6.5), 90.0), 1.2, 1.6, "paintings", "gilt", paintings.uv(1))
    for x, z in ((-8.4, 3.4), (-8.4, -9.4), (8.4, -9.4), (8.4, 3.4)):
        c.potted_plant(b, (x, 0.0, z), "plant_pot", "plant", 1.7)
    # a cornice and a panelled ceiling with recessed lights
    for axis, fixed, inward, start, end in (("z", -9.0, 1.0, -10.0, 4.0), ("z", 9.0, -1.0, -10.0, 4.0),
                                            ("x", -10.0, 1.0, -9.0, 9.0), ("x", 3.9, -1.0, -9.0, 9.0)):
        c.pilasters(b, "ceiling_beam", axis, fixed, inward, start, end, 0, 4.75)
    c.coffered_ceiling(b, "ceiling_beam", "ceiling_light", -9.0, 9.0, -10.0, 4.0, 5.0, 6, 5, depth=0.22,
                       width=0.18, lamp_size=0.45)
    # high tables and chandeliers
    for x in (-3.5, 3.5):
        for z in (-1.5, -5.5):
            f = Frame.at((x, 0.0, z))
            b["metal"].add_cylinder(f, (0.0, 0.0, 0.0), 0.25, 0.03, segments=16)
            b["metal"].add_cylinder(f, (0.0, 0.03, 0.0), 0.035, 1.0, segments=8)
            b["tablecloth"].add_cylinder(f, (0.0, 1.03, 0.0), 0.4, 0.03, segments=20)
    for z in (-0.5, -6.0):
        c.chandelier(b, (0.0, 3.75, z), "brass", "chandelier", "crystal")
    return out


def _sofa(b: Builders, frame: Frame, width: float) -> None:
    b["sofa_fabric"].add_box(frame, (0.0, 0.21, 0.05), (width, 0.42, 0.85))
    b["sofa_fabric"].add_box(frame, (0.0, 0.66, 0.38), (width, 0.5, 0.2))
    for side in (-1.0, 1.0):
        b["sofa_fabric"].add_box(frame, (side * (width / 2.0 + 0.1), 0.31, 0.05), (0.2, 0.62, 0.85))


def _lounge(b: Builders) -> list[dict[str, Any]]:
    b["rug"].add_quad(((10.3, 0.005, -3.5), (13.9, 0.005, -3.5), (13.9, 0.005, -8.5), (10.3, 0.005, -8.5)),
                      (0.0, 1.0, 0.0))
    b["wood"].add_box(WORLD, (12.0, 0.4, -6.0), (1.2, 0.04, 0.7))
    for dx in (-0.55, 0.55):
        for dz in (-0.3, 0.3):
            b["wood"].add_box(WORLD, (12.0 + dx, 0.19, -6.0 + dz), (0.05, 0.38, 0.05))
    seats = []
    spots: list[tuple[V3, float, float, tuple[float, ...]]] = [
        ((12.0, 0.0, -7.6), 180.0, 2.0, (-0.5, 0.5)),
        ((12.0, 0.0, -4.4), 0.0, 2.0, (-0.5, 0.5)),
        ((14.1, 0.0, -6.0), 90.0, 0.85, (0.0,)),
    ]
    for origin, yaw, width, offsets in spots:
        f = Frame.at(origin, yaw)
        _sofa(b, f, width)
        for dx in offsets:
            p = f.point((dx, 0.0, 0.05))
            seats.append({"id": f"L{len(seats) + 1}", "index": len(seats), "delegation": "", "position": c.v3(p),
                          "yaw_deg": yaw, "tier": 0, "side": ""})
    # a floor lamp, a plant and two windows on the far wall
    f = Frame.at((14.4, 0.0, -9.4))
    b["metal"].add_cylinder(f, (0.0, 0.0, 0.0), 0.18, 0.03, segments=12)
    b["metal"].add_cylinder(f, (0.0, 0.03, 0.0), 0.015, 1.45, segments=6)
    b["lamp_shade"].add_cylinder(f, (0.0, 1.4, 0.0), 0.2, 0.28, segments=16)
    _plant(b, (9.6, 0.0, -9.4))
    for z in (-3.6, -8.4):
        w = Frame.at((14.99, 1.9, z), 90.0)
        b["wood"].add_box(w, (0.0, 0.0, 0.0), (1.4, 1.7, 0.02))
        b["window"].add_panel(w, (0.0, 0.0, -0.015), 1.2, 1.5)
    return seats


def build() -> tuple[Builders, dict[str, MaterialSpec], dict[str, bytes], dict[str, Any], dict[str, Image.Image]]:
    b = Builders()
    flags_img, flags, _ = flag_atlas(["host"], cell=FLAG_CELL, cols=2, neutral=True)
    signs_img, signs = label_atlas(list(SIGNS), (512, 96), 1, bg=(18, 28, 52), ink=(226, 188, 96), border=None)
    pictures = exhibit_images()
    panels = Atlas(3, 2, 256, 320)
    panel_img = Image.new("RGB", panels.size, (248, 246, 240))
    for k, (ex_id, _, title, caption, _, _) in enumerate(EXHIBITS):
        panel_img.paste(exhibit_panel(pictures[ex_id], title, caption), panels.origin(k))

    _shell(b)
    paintings = Atlas(2, 1, 192, 256)
    painting_img = Image.new("RGB", paintings.size, (40, 30, 22))
    for k, seed in enumerate(("head-of-state", "founder")):
        painting_img.paste(portrait_painting(seed), paintings.origin(k))
    _entrance(b, flags, signs, paintings)
    exhibits = _reception(b, panels, paintings, flags)
    seats = _lounge(b)
    b["signs"].add_panel(Frame.at((8.99, 2.8, -3.4), 90.0), (0.0, 0.0, 0.0), 1.6, 0.3, signs.uv(2))

    images = {"flags": png_bytes(flags_img), "signs": png_bytes(signs_img), "exhibits": png_bytes(panel_img),
              "paintings": png_bytes(painting_img), "window_view": png_bytes(window_view())}
    entrance_eye = (0.0, EYE, 11.2)
    ryaw, rpitch = c.look((7.0, EYE, 3.0), (-6.0, 1.6, -6.0))
    lyaw, lpitch = c.look((10.0, 1.5, -2.8), (12.5, 0.5, -6.5))
    layout: dict[str, Any] = {
        "scene": "embassy",
        "glb": "embassy.glb",
        "description": "Embassy: entrance hall with consular desk, reception hall with exhibits, lounge.",
        "seats": seats,
        "views": {
            "entrance": c.view(entrance_eye, 0.0, -4.0, 90.0),
            "reception": c.view((7.0, EYE, 3.0), ryaw, rpitch, 90.0),
            "lounge": c.view((10.0, 1.5, -2.8), lyaw, lpitch, 90.0),
            "consular_desk": c.view((-1.6, EYE, 8.0), 90.0, 2.0, 80.0),
        },
        "default_view": "entrance",
        "points": {
            "front_door": c.point((0.0, 0.0, 11.5), 0.0),
            "greeting_line": c.point((1.2, 0.0, 9.0), 90.0),
            "greeting_line_end": c.point((1.2, 0.0, 5.5), 90.0),
            "consular_desk": c.point((-3.8, 0.0, 8.0), 90.0),
            "reception": c.point((0.0, 0.0, -3.0), 0.0),
            "buffet": c.point((0.0, 0.0, -8.2), 0.0),
            "lounge_table": c.point((12.0, 0.0, -6.0), 0.0),
        },
        "exhibits": exhibits,
        "screens": [],
        # the host country's flags (beside the UN's): painted by the client with the host's real flag
        "flag_slots": {"host": [*flags.origin(1), flags.origin(1)[0] + FLAG_CELL[0], flags.origin(1)[1] + FLAG_CELL[1]]},
        "zones": [
            c.zone("entrance_hall", "hall", (-6.0, -0.5, 4.0), (6.0, 4.5, 12.0)),
            c.zone("reception_hall", "hall", (-9.0, -0.5, -10.0), (9.0, 5.0, 4.0)),
            c.zone("lounge", "lounge", (9.0, -0.5, -10.0), (15.0, 3.5, -2.0), True),
        ],
        "lights": [
            c.light("directional", (1.0, 0.96, 0.9), 1.3, direction=(-0.4, -1.0, -0.5)),
            c.light("directional", (0.75, 0.82, 1.0), 0.22, direction=(0.3, -0.4, 1.0)),
            c.light("point", (1.0, 0.93, 0.82), 0.7, position=(0.0, 4.0, 8.0), range=10.0),
            c.light("point", (1.0, 0.88, 0.7), 1.0, position=(0.0, 3.4, -3.0), range=14.0),
            c.light("point", (1.0, 0.85, 0.65), 0.9, position=(12.0, 3.0, -6.0), range=8.0),
        ],
        "ambient": [0.18, 0.172, 0.16],
        "clear_color": [0.55, 0.68, 0.85, 1.0],
    }
    return b, MATERIALS, images, layout, pictures
