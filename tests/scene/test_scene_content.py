"""The three scenes as a user would check them: seats, views, zones, exhibits, and that the
layouts agree with the geometry in the .glb files."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.scene.assets import load_scene
from vrdiplomacy.scene.delegations import delegation, load_delegations
from vrdiplomacy.scene.layout import ASSETS_DIR, Layout, load_layout
from vrdiplomacy.scene.math3d import yaw_towards
from vrdiplomacy.scene.model import Scene


def angle_diff(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def vertices_of(scene: Scene, material: str) -> np.ndarray:
    pts = [
        (world[:3, :3] @ m.positions.T).T + world[:3, 3]
        for m, world in scene.meshes()
        if m.material.name == material
    ]
    assert pts, f"no mesh with material {material}"
    return np.concatenate(pts)


def surrounds(verts: np.ndarray, p: np.ndarray, radius: float) -> bool:
    """Some geometry lies within ``radius`` (horizontally) of ``p`` and its extent covers ``p``."""
    near = verts[np.linalg.norm((verts - p)[:, [0, 2]], axis=1) < radius]
    if not len(near):
        return False
    lo, hi = near.min(axis=0), near.max(axis=0)
    return bool(lo[0] <= p[0] <= hi[0] and lo[2] <= p[2] <= hi[2])


def min_pairwise_distance(points: np.ndarray) -> float:
    d = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)
    d[np.diag_indices(len(points))] = np.inf
    return float(d.min())


@pytest.fixture(scope="module")
def chamber() -> tuple[Scene, Layout]:
    return load_scene("chamber")


# ------------------------------------------------------------------ chamber


def test_chamber_seats_every_un_member_once_in_tiers(chamber: tuple[Scene, Layout]) -> None:
    _, lay = chamber
    assert len(lay.seats) >= 193
    assert len({s.seat_id for s in lay.seats}) == len(lay.seats)
    assert sorted(s.index for s in lay.seats) == list(range(len(lay.seats)))
    dels = load_delegations()
    assert len(dels) == 193 and len({d.code for d in dels}) == 193
    assert [s.delegation for s in sorted(lay.seats, key=lambda s: s.index)][:193] == [d.code for d in dels]
    for d in dels:
        assert lay.seat(d.seat).delegation == d.code
    # seating order is the UN's alphabetical order
    assert dels[0].name == "Afghanistan" and dels[-1].name == "Zimbabwe"
    assert delegation("tur").name == "Türkiye"
    tiers = sorted({s.tier for s in lay.seats})
    assert len(tiers) >= 5 and tiers == list(range(len(tiers)))


def test_chamber_tiers_rise_and_widen_away_from_the_rostrum(chamber: tuple[Scene, Layout]) -> None:
    _, lay = chamber
    rostrum = np.array(lay.points["rostrum"].position)
    by_tier: dict[int, list[tuple[float, float]]] = {}
    for s in lay.seats:
        p = np.array(s.position)
        by_tier.setdefault(s.tier, []).append((float(np.linalg.norm((p - rostrum)[[0, 2]])), p[1]))
    prev_r, prev_y = 0.0, -1.0
    for t in sorted(by_tier):
        radii = [r for r, _ in by_tier[t]]
        heights = {round(y, 4) for _, y in by_tier[t]}
        assert max(radii) - min(radii) < 1e-3, "a tier is an arc around the rostrum"
        assert len(heights) == 1
        assert radii[0] > prev_r + 1.0 and heights.pop() > prev_y
        prev_r, prev_y = radii[0], by_tier[t][0][1]


def test_every_chamber_seat_faces_the_rostrum(chamber: tuple[Scene, Layout]) -> None:
    _, lay = chamber
    rostrum = lay.points["rostrum"].position
    for s in lay.seats:
        assert angle_diff(s.yaw_deg, yaw_towards(s.position, rostrum)) < 1.0, s.seat_id
        # and the pose's forward vector points at it
        fwd = s.pose().forward()
        to = np.subtract(rostrum, s.position)[[0, 2]]
        assert float(np.dot(fwd[[0, 2]], to / np.linalg.norm(to))) > 0.999


def test_chamber_seats_do_not_overlap(chamber: tuple[Scene, Layout]) -> None:
    _, lay = chamber
    pts = np.array([s.position for s in lay.seats])
    assert min_pairwise_distance(pts) >= 0.9


def test_chamber_views_points_screens_and_zones(chamber: tuple[Scene, Layout]) -> None:
    _, lay = chamber
    assert {"seat", "overview", "rostrum", "chair"} <= set(lay.views)
    assert lay.default_view == "seat"
    v = lay.view()
    # the default view is the eye of a mid-tier delegate, looking at the rostrum
    seat = min(lay.seats, key=lambda s: np.linalg.norm(np.subtract(v.position, s.position)[[0, 2]]))
    assert np.linalg.norm(np.subtract(v.position, seat.position)[[0, 2]]) < 0.01
    assert 1.0 < v.position[1] - seat.position[1] < 1.4
    tiers = max(s.tier for s in lay.seats) + 1
    assert 1 <= seat.tier <= tiers - 2
    assert angle_diff(v.yaw_deg, yaw_towards(v.position, lay.points["rostrum"].position)) < 1.0
    assert {"rostrum", "podium"} <= set(lay.points)
    screens = {s.exhibit_id: s for s in lay.screens}
    assert set(screens) == {"agenda", "speaker"}
    assert screens["agenda"].caption == "AGENDA" and screens["speaker"].caption == "CURRENT SPEAKER"
    plenary = [z for z in lay.zones if z.name == "plenary"]
    assert plenary and not plenary[0].isolated
    for s in lay.seats:
        assert lay.zone_at(s.position) is not None


def test_chamber_geometry_agrees_with_the_layout(chamber: tuple[Scene, Layout]) -> None:
    scene, lay = chamber
    fabric = vertices_of(scene, "seat_fabric")
    placards = vertices_of(scene, "placards")
    for s in lay.seats:
        p = np.array(s.position)
        # a chair cushion around the seat point, at sitting height above the seat's floor
        near = fabric[np.linalg.norm((fabric - p)[:, [0, 2]], axis=1) < 0.45]
        assert surrounds(fabric, p, 0.45) and near[:, 1].min() >= p[1] + 0.35 - 1e-3, s.seat_id
        # the placard stands on the desk in front of the seat (towards the rostrum)
        ahead = p + 0.68 * s.pose().forward() + np.array([0.0, 0.8, 0.0])
        assert np.min(np.linalg.norm(placards - ahead, axis=1)) < 0.3, s.seat_id
    # the lectern stands just in front of the speaker, the podium desk in front of the chair
    for point, material in (("rostrum", "rostrum"), ("podium", "podium_marble")):
        pt = lay.points[point]
        p = np.array(pt.position)
        verts = vertices_of(scene, material)
        verts = verts[np.linalg.norm(verts - p, axis=1) < 4.0]
        fwd = np.array([-math.sin(math.radians(pt.yaw_deg)), 0.0, -math.cos(math.radians(pt.yaw_deg))])
        ahead = p + 0.7 * fwd
        lo, hi = verts.min(axis=0), verts.max(axis=0)
        assert lo[0] <= ahead[0] <= hi[0] and lo[2] <= ahead[2] <= hi[2], point
        assert hi[1] > p[1] + 0.7  # it is desk height or more above the floor there
    for screen in lay.screens:
        verts = vertices_of(scene, f"screen_{screen.exhibit_id}")
        centre = (verts.min(axis=0) + verts.max(axis=0)) / 2.0
        assert np.allclose(centre, screen.position, atol=0.02)
        assert math.isclose(float(verts[:, 0].max() - verts[:, 0].min()), screen.size[0], abs_tol=0.02)


# ------------------------------------------------------------------ bilateral


def test_bilateral_room_has_twelve_seats_facing_across_the_table() -> None:
    scene, lay = load_scene("bilateral")
    assert len(lay.seats) == 12
    sides = {"A": [s for s in lay.seats if s.side == "A"], "B": [s for s in lay.seats if s.side == "B"]}
    assert len(sides["A"]) == 6 and len(sides["B"]) == 6
    # the room serves any pair of delegations: no seat claims one (names come from the roster)
    assert [s.delegation for s in lay.seats] == [""] * 12
    centre = lay.points["table_center"].position
    for s in lay.seats:
        to = np.subtract(centre, s.position)[[0, 2]]
        assert float(np.dot(s.pose().forward()[[0, 2]], to / np.linalg.norm(to))) > 0.5
    for a, b in zip(sorted(sides["A"], key=lambda s: s.seat_id), sorted(sides["B"], key=lambda s: s.seat_id)):
        assert angle_diff(a.yaw_deg, b.yaw_deg) == pytest.approx(180.0)
    assert min_pairwise_distance(np.array([s.position for s in lay.seats])) >= 0.7
    assert lay.default_view in lay.views
    v = lay.view()
    assert any(np.linalg.norm(np.subtract(v.position, s.position)[[0, 2]]) < 0.01 for s in lay.seats)
    zone = lay.zone_at(centre)
    assert zone is not None and zone.name == "bilateral_room" and zone.isolated
    leather = vertices_of(scene, "seat_leather")
    for s in lay.seats:
        assert surrounds(leather, np.array(s.position), 0.5), s.seat_id
    assert len(vertices_of(scene, "door_wood")) and len(vertices_of(scene, "flags"))


# ------------------------------------------------------------------ embassy


def test_embassy_rooms_exhibits_and_views() -> None:
    scene, lay = load_scene("embassy")
    assert {"entrance", "reception", "lounge"} <= set(lay.views)
    assert lay.default_view == "entrance"
    zones = {z.name: z for z in lay.zones}
    assert {"entrance_hall", "reception_hall", "lounge"} <= set(zones)
    assert zones["lounge"].isolated and not zones["reception_hall"].isolated
    for name, zone_name in (("entrance", "entrance_hall"), ("reception", "reception_hall"), ("lounge", "lounge")):
        z = lay.zone_at(lay.views[name].position)
        assert z is not None and z.name == zone_name, name
    assert lay.zone_at(lay.points["consular_desk"].position).name == "entrance_hall"  # type: ignore[union-attr]
    assert {"consular_desk", "greeting_line"} <= set(lay.points)
    assert len(lay.exhibits) >= 4
    exhibit_verts = vertices_of(scene, "exhibits")
    for ex in lay.exhibits:
        assert len(ex.caption) > 10
        img = ASSETS_DIR / ex.image
        assert img.is_file(), ex.image
        z = lay.zone_at(ex.position)
        assert z is not None and z.name == "reception_hall"
        assert np.min(np.linalg.norm(exhibit_verts - np.array(ex.position), axis=1)) < math.hypot(*ex.size) / 2 + 0.01
    for s in lay.seats:  # the lounge sofas
        z = lay.zone_at(s.position)
        assert z is not None and z.name == "lounge"


def test_every_layout_position_is_inside_its_scene() -> None:
    for name in ("chamber", "bilateral", "embassy"):
        lay = load_layout(name)
        for v in lay.views.values():
            assert lay.zone_at(v.position) is not None, (name, v.name)
        for p in lay.points.values():
            assert lay.zone_at(p.position) is not None, (name, p.name)
        for a, b in itertools.combinations(lay.zones, 2):
            assert a.name != b.name


def test_layout_glb_paths_exist() -> None:
    for name in ("chamber", "bilateral", "embassy"):
        lay = load_layout(name)
        assert lay.glb == f"{name}.glb"
        assert Path(lay.glb_path()).is_file()
