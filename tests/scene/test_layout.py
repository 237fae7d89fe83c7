"""Layout parsing: good and malformed layouts, zones, views."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from vrdiplomacy.errors import AssetError
from vrdiplomacy.scene.layout import load_layout, parse_layout

MINIMAL: dict[str, Any] = {
    "scene": "test",
    "glb": "test.glb",
    "seats": [{"id": "A1", "index": 0, "delegation": "FRA", "position": [0, 0, 1], "yaw_deg": 0, "side": "A"}],
    "views": {"v": {"position": [0, 1.6, 3], "yaw_deg": 0}},
    "default_view": "v",
    "points": {"rostrum": {"position": [0, 0.6, 0], "yaw_deg": 180}},
    "zones": [
        {"name": "hall", "kind": "hall", "min": [-10, -1, -10], "max": [10, 5, 10]},
        {"name": "lounge", "kind": "lounge", "min": [5, -1, 5], "max": [10, 3, 10], "isolated": True},
    ],
}


def test_minimal_layout_parses() -> None:
    lay = parse_layout(copy.deepcopy(MINIMAL))
    assert lay.seat("A1").delegation == "FRA"
    assert lay.seat("A1").side == "A"
    assert lay.view().name == "v"
    assert lay.points["rostrum"].yaw_deg == 180.0
    with pytest.raises(KeyError):
        lay.seat("nope")


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda d: d.pop("scene"), "malformed layout"),
        (lambda d: d.pop("glb"), "malformed layout"),
        (lambda d: d["seats"][0].pop("id"), "malformed layout"),
        (lambda d: d["seats"][0].__setitem__("position", [0, 1]), "seats[0].position"),
        (lambda d: d["seats"][0].__setitem__("yaw_deg", "north"), "malformed layout"),
        (lambda d: d["views"]["v"].__setitem__("position", "here"), "views.v.position"),
        (lambda d: d.__setitem__("default_view", "missing"), "default_view 'missing'"),
        (lambda d: d["zones"][0].__setitem__("min", None), "zones[0].min"),
        (lambda d: d["points"]["rostrum"].pop("position"), "malformed layout"),
    ],
)
def test_malformed_layout_raises_asset_error_naming_the_file(mutate: Any, fragment: str, tmp_path: Path) -> None:
    data = copy.deepcopy(MINIMAL)
    mutate(data)
    p = tmp_path / "layouts" / "bad.json"
    p.parent.mkdir()
    p.write_text(json.dumps(data))
    with pytest.raises(AssetError) as exc:
        load_layout(p)
    msg = str(exc.value)
    assert str(p) in msg and fragment in msg
    assert "\n" not in msg


def test_unreadable_layouts(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="layout file not found"):
        load_layout(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(AssetError, match="cannot read layout"):
        load_layout(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(AssetError, match="must be a JSON object"):
        load_layout(bad)


def test_zone_at_prefers_the_isolated_inner_zone() -> None:
    lay = parse_layout(copy.deepcopy(MINIMAL))
    assert lay.zone_at((0, 1, 0)).name == "hall"  # type: ignore[union-attr]
    assert lay.zone_at((7, 1, 7)).name == "lounge"  # type: ignore[union-attr]
    assert lay.zone_at((5, 1, 5)).name == "lounge"  # type: ignore[union-attr]  # on the boundary
    assert lay.zone_at((50, 0, 0)) is None
    assert lay.zone_at((0, 20, 0)) is None


def test_unknown_view_is_an_asset_error() -> None:
    lay = parse_layout(copy.deepcopy(MINIMAL), Path("x/layouts/t.json"))
    with pytest.raises(AssetError, match="no view named 'side'.*known: v"):
        lay.view("side")


def test_glb_path_is_relative_to_the_assets_folder_of_the_layout(tmp_path: Path) -> None:
    lay = parse_layout(copy.deepcopy(MINIMAL), tmp_path / "layouts" / "t.json")
    assert lay.glb_path() == tmp_path / "test.glb"
