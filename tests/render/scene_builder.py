"""A small procedural chamber for renderer tests: independent of the shipped .glb assets, so the
goldens test the renderer alone. Floor, two tiers of curved desks, a rostrum, a back wall with a
striped flag texture and a mid-grey panel, one directional and one point light; a layout with a
seat behind each desk and two views."""

from __future__ import annotations

import math

import numpy as np

from vrdiplomacy.scene.layout import Layout, parse_layout
from vrdiplomacy.scene.model import Light, Material, Mesh, Node, Scene, Texture


def box_mesh(name: str, center: tuple[float, float, float], size: tuple[float, float, float], material: Material) -> Mesh:
    c = np.asarray(center, dtype=np.float32)
    h = np.asarray(size, dtype=np.float32) / 2
    pos, nrm, uv, idx = [], [], [], []
    faces = [((1, 0, 0), (0, 0, -1), (0, 1, 0)), ((-1, 0, 0), (0, 0, 1), (0, 1, 0)), ((0, 1, 0), (1, 0, 0), (0, 0, -1)),
             ((0, -1, 0), (1, 0, 0), (0, 0, 1)), ((0, 0, 1), (1, 0, 0), (0, 1, 0)), ((0, 0, -1), (-1, 0, 0), (0, 1, 0))]
    for n, u, v in faces:
        n, u, v = (np.asarray(a, dtype=np.float32) for a in (n, u, v))
        base = len(pos)
        for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            pos.append(c + (n + su * u + sv * v) * h)
            nrm.append(n)
            uv.append(((su + 1) / 2, (1 - sv) / 2))
        idx += [base, base + 1, base + 2, base, base + 2, base + 3]
    return Mesh(name, np.array(pos), np.array(nrm), np.array(idx, dtype=np.uint32), material, np.array(uv, dtype=np.float32))


def flag_texture() -> Texture:
    px = np.zeros((32, 48, 4), dtype=np.uint8)
    px[..., 3] = 255
    px[:, :16] = (0, 85, 164, 255)
    px[:, 16:32] = (255, 255, 255, 255)
    px[:, 32:] = (239, 65, 53, 255)
    return Texture(px, "flag")


def build_test_scene() -> tuple[Scene, Layout]:
    floor_m = Material("floor", (0.12, 0.16, 0.32, 1.0), roughness=0.9)
    desk_m = Material("desk", (0.35, 0.2, 0.1, 1.0), roughness=0.5)
    wall_m = Material("wall", (0.6, 0.58, 0.52, 1.0))
    grey_m = Material("grey", (0.5, 0.5, 0.5, 1.0))
    flag_m = Material("flag", (1.0, 1.0, 1.0, 1.0), base_color_texture=flag_texture(), double_sided=True)
    glass_m = Material("glass", (0.6, 0.8, 0.9, 0.35))
    nodes = [
        Node("floor", box_mesh("floor", (0, -0.05, 0), (20, 0.1, 20), floor_m)),
        Node("wall", box_mesh("wall", (0, 2.5, -6), (14, 5, 0.2), wall_m)),
        Node("panel", box_mesh("panel", (4, 2.0, -5.85), (2, 1.5, 0.05), grey_m)),
        Node("flag", box_mesh("flag", (-3.5, 2.6, -5.85), (1.5, 1.0, 0.02), flag_m)),
        Node("rostrum", box_mesh("rostrum", (0, 0.55, -4.2), (1.2, 1.1, 0.6), desk_m)),
        Node("screen", box_mesh("screen", (0, 2.8, -5.6), (2.4, 1.2, 0.05), glass_m)),
    ]
    seats = []
    k = 0
    for tier, (radius, height, count) in enumerate(((3.2, 0.0, 7), (4.6, 0.4, 9))):
        if height > 0:
            nodes.append(Node(f"tier{tier}", box_mesh(f"tier{tier}", (0, height / 2, 2.6), (12, height, 4.0), floor_m)))
        for i in range(count):
            a = math.radians(-50 + 100 * i / (count - 1))
            x, z = radius * math.sin(a), -1.5 + radius * math.cos(a)
            yaw = math.degrees(a)
            dx, dz = -math.sin(a) * 0.52, -math.cos(a) * 0.52
            node = Node(f"desk{tier}_{i}", box_mesh(f"desk{tier}_{i}", (0, 0, 0), (0.9, 0.72, 0.4), desk_m))
            c, s = math.cos(a), math.sin(a)
            node.transform = np.array([[c, 0, s, x + dx], [0, 1, 0, height + 0.36], [-s, 0, c, z + dz], [0, 0, 0, 1]], dtype=np.float32)
            nodes.append(node)
            seats.append({"id": f"s{k}", "index": k, "delegation": f"Testland {k + 1}",
                          "position": [x, height, z], "yaw_deg": yaw, "tier": tier})
            k += 1
    scene = Scene(
        "test",
        nodes=nodes,
        lights=[Light("directional", (1.0, 0.96, 0.9), 2.2, direction=(0.3, -1.0, -0.5)),
                Light("point", (1.0, 0.85, 0.6), 1.5, position=(0.0, 3.5, -3.0), range=9.0)],
        clear_color=(0.05, 0.06, 0.09, 1.0),
        ambient=(0.3, 0.31, 0.35),
    )
    layout = parse_layout({
        "scene": "test", "glb": "none.glb", "seats": seats,
        "views": {"overview": {"position": [0.0, 2.6, 5.5], "yaw_deg": 0.0, "pitch_deg": -15.0, "fov_deg": 80.0},
                  "rostrum": {"position": [0.0, 1.7, -3.8], "yaw_deg": 180.0, "pitch_deg": -12.0, "fov_deg": 90.0}},
        "default_view": "overview",
    })
    return scene, layout
