"""Golden images at 160x90 per eye, and proof that the comparison catches small regressions."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from cases import ASSET_SCENES, CASES, GOLDEN_DIR, build_case, render_case

from vrdiplomacy.errors import GoldenMismatch
from vrdiplomacy.render.golden import compare, load_png, read_info, renderer_mismatch
from vrdiplomacy.scene.model import Scene

pytestmark = pytest.mark.gl


@pytest.fixture(scope="module")
def golden_renderer(renderer: Any) -> Any:
    why = renderer_mismatch(read_info(GOLDEN_DIR), renderer.info)
    if why:
        pytest.skip(why)
    return renderer


def _assets_present() -> bool:
    try:
        import vrdiplomacy.scene.assets  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("name", CASES)
def test_matches_golden(golden_renderer: Any, name: str) -> None:
    if name in ASSET_SCENES and not _assets_present():
        pytest.skip("vrdiplomacy.scene.assets (the scene loader) is not installed in this checkout")
    compare(render_case(golden_renderer, name), load_png(GOLDEN_DIR / f"{name}.png"), name)


def _scale_material(scene: Scene, material: str, factor: float) -> None:
    for mesh, _world in scene.meshes():
        if mesh.material.name == material:
            r, g, b, a = mesh.material.base_color
            mesh.material = dataclasses.replace(mesh.material, base_color=(r * factor, g * factor, b * factor, a))


def test_golden_catches_material_colour_changed_by_ten_percent(golden_renderer: Any) -> None:
    golden = load_png(GOLDEN_DIR / "test_overview_stereo.png")
    changed = render_case(golden_renderer, "test_overview_stereo", lambda s: _scale_material(s, "desk", 0.9))
    with pytest.raises(GoldenMismatch):
        compare(changed, golden, "desk colour -10%")
    # and the same render unmodified still matches: the failure is the colour, nothing else
    compare(render_case(golden_renderer, "test_overview_stereo"), golden, "unmodified")


def test_golden_catches_one_missing_avatar(golden_renderer: Any) -> None:
    golden = load_png(GOLDEN_DIR / "test_rostrum.png")
    missing = render_case(golden_renderer, "test_rostrum", lambda s: s.avatars.pop(5))
    with pytest.raises(GoldenMismatch, match="pixels differ"):
        compare(missing, golden, "one avatar missing")


def test_golden_catches_a_lowered_arm_and_a_missing_icon(golden_renderer: Any) -> None:
    golden = load_png(GOLDEN_DIR / "test_gestures.png")
    raised = next(a for a in build_case("test_gestures")[0].avatars if a.gesture_icon == "raise_hand")

    def lower(s: Scene) -> None:  # the same delegate with the arm down again (icon kept)
        a = next(x for x in s.avatars if x.avatar_id == raised.avatar_id)
        a.right = next(x for x in build_case("test_rostrum")[0].avatars if x.avatar_id == raised.avatar_id).right

    with pytest.raises(GoldenMismatch, match="pixels differ"):
        compare(render_case(golden_renderer, "test_gestures", lower), golden, "arm lowered")

    def no_icon(s: Scene) -> None:
        next(x for x in s.avatars if x.avatar_id == raised.avatar_id).gesture_icon = None

    with pytest.raises(GoldenMismatch, match="pixels differ"):
        compare(render_case(golden_renderer, "test_gestures", no_icon), golden, "icon missing")


def test_golden_refuses_another_renderer() -> None:
    stored = {"GL_RENDERER": "llvmpipe (LLVM 15.0.6, 256 bits)", "GL_VERSION": "4.5 (Core Profile) Mesa 22.3.6"}
    other = dict(stored, GL_RENDERER="NVIDIA H100/PCIe/SSE2")
    why = renderer_mismatch(stored, other)
    assert why is not None and "NVIDIA H100" in why and "update_goldens" in why
    assert renderer_mismatch(stored, dict(stored)) is None


def test_compare_reports_size_mismatch() -> None:
    a = np.zeros((90, 160, 3), dtype=np.uint8)
    with pytest.raises(GoldenMismatch, match="size 160x90 differs"):
        compare(a, np.zeros((90, 320, 3), dtype=np.uint8))
    compare(a, a.copy())
