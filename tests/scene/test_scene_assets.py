"""The glTF loader: meshes, materials, textures, node graph, caching and every failure mode."""

from __future__ import annotations

import io
import json
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from vrdiplomacy.errors import AssetError
from vrdiplomacy.scene.assets import clear_cache, load_glb, load_scene
from vrdiplomacy.scene.layout import ASSETS_DIR

SCENE_NAMES = ("chamber", "bilateral", "embassy")


def split_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    jlen = struct.unpack_from("<I", data, 12)[0]
    gltf = json.loads(data[20 : 20 + jlen])
    blen = struct.unpack_from("<I", data, 20 + jlen)[0]
    return gltf, data[28 + jlen : 28 + jlen + blen]


def join_glb(gltf: dict[str, Any], bin_: bytes) -> bytes:
    js = json.dumps(gltf).encode()
    js += b" " * (-len(js) % 4)
    bin_ += b"\0" * (-len(bin_) % 4)
    total = 12 + 8 + len(js) + 8 + len(bin_)
    return struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<II", len(js), 0x4E4F534A) + js + \
        struct.pack("<II", len(bin_), 0x004E4942) + bin_


def copy_scene(tmp: Path, name: str) -> tuple[Path, Path]:
    """A copy of ``name``'s layout and glb under ``tmp`` (as tmp/layouts/x.json and tmp/x.glb)."""
    (tmp / "layouts").mkdir(exist_ok=True)
    layout = tmp / "layouts" / f"{name}.json"
    shutil.copy(ASSETS_DIR / "layouts" / f"{name}.json", layout)
    glb = tmp / f"{name}.glb"
    shutil.copy(ASSETS_DIR / f"{name}.glb", glb)
    return layout, glb


@pytest.mark.parametrize("name", SCENE_NAMES)
def test_scene_loads_into_textured_meshes(name: str) -> None:
    scene, layout = load_scene(name)
    assert scene.name == name == layout.scene
    assert scene.avatars == []
    assert scene.lights and all(l.kind in ("directional", "point") for l in scene.lights)
    meshes = scene.meshes()
    materials = [m.material.name for m, _ in meshes]
    assert len(materials) == len(set(materials)), "static geometry is merged: one mesh per material"
    # a dressed room has a few dozen materials; the batcher draws them all in at most three draws
    # per view (its table holds 256), so the bound only catches meshes left unmerged
    assert 8 <= len(materials) < 48
    assert all(n and not n.startswith("material_") for n in materials)
    textured = [m for m, _ in meshes if m.material.base_color_texture is not None]
    assert textured
    for m, world in meshes:
        n = len(m.positions)
        assert m.positions.dtype == np.float32 and m.normals.shape == (n, 3)
        assert m.indices.dtype == np.uint32 and m.indices.size % 3 == 0 and int(m.indices.max()) < n
        assert np.allclose(np.linalg.norm(m.normals, axis=1), 1.0, atol=1e-3)
        assert m.uvs is not None and m.uvs.shape == (n, 2)
        assert world.shape == (4, 4)
        assert 0.0 <= m.material.metallic <= 1.0 and 0.0 <= m.material.roughness <= 1.0
        # triangles wind counter-clockwise seen from the side their normals point to
        tri = m.positions[m.indices.reshape(-1, 3)]
        face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        vert_n = m.normals[m.indices.reshape(-1, 3)].sum(axis=1)
        big = np.linalg.norm(face_n, axis=1) > 1e-8
        agree = np.einsum("ij,ij->i", face_n[big], vert_n[big]) > 0
        assert agree.mean() > 0.99, (m.name, agree.mean())
    for m in textured:
        tex = m.material.base_color_texture
        assert tex is not None and tex.pixels.dtype == np.uint8 and tex.pixels.ndim == 3 and tex.pixels.shape[2] == 4
        assert m.uvs is not None and m.uvs.min() >= 0.0 and m.uvs.max() <= 1.0


def test_chamber_placards_and_screens_are_textured_and_emissive() -> None:
    scene, _ = load_scene("chamber")
    mats = {m.material.name: m.material for m, _ in scene.meshes()}
    assert {"placards", "flags", "screen_agenda", "screen_speaker", "wood", "seat_fabric"} <= set(mats)
    placards = mats["placards"].base_color_texture
    assert placards is not None and placards.pixels.shape[0] >= 1024
    for key in ("screen_agenda", "screen_speaker"):
        m = mats[key]
        assert m.emissive == (1.0, 1.0, 1.0)
        assert m.emissive_texture is not None and m.emissive_texture is m.base_color_texture  # shared, uploaded once
    # exact glTF factors, not 8-bit quantised ones
    assert mats["wood"].base_color == pytest.approx((0.36, 0.20, 0.10, 1.0), abs=1e-6)
    assert mats["emblem_gold"].metallic == 1.0


def test_placard_uvs_read_the_right_way_up() -> None:
    """The top of a placard's front face samples the top rows of its atlas cell (glTF UVs,
    pixels row 0 = top): the ink of the name sits in the middle rows, the border at the edges."""
    scene, _ = load_scene("chamber")  # the delegates' desk placards
    mesh = next(m for m, _ in scene.meshes() if m.material.name == "placards")
    tex = mesh.material.base_color_texture
    assert tex is not None and mesh.uvs is not None
    h, w = tex.pixels.shape[:2]
    top_vertex = int(np.argmax(mesh.positions[:, 1] + 1e-3 * mesh.normals[:, 2]))
    bottom_vertex = int(np.argmin(mesh.positions[:, 1]))
    # the highest vertex has the smaller v (nearer the top of the image)
    assert mesh.uvs[top_vertex, 1] < mesh.uvs[bottom_vertex, 1]
    dark = tex.pixels[..., :3].mean(axis=2) < 100
    rows = np.nonzero(dark.any(axis=1))[0]
    assert rows.size and rows.min() > 5 and rows.max() < h - 5  # the text, inside the cells


def test_scene_cache_returns_fresh_scenes_sharing_geometry() -> None:
    a, la = load_scene("bilateral")
    b, lb = load_scene("bilateral")
    assert a is not b and la is not lb
    a.avatars.append(object())  # type: ignore[arg-type]
    assert b.avatars == []
    assert a.lights is not b.lights
    assert a.nodes[0] is b.nodes[0]  # shared, read-only
    clear_cache()
    c, _ = load_scene("bilateral")
    assert c.nodes[0] is not a.nodes[0]


def test_node_graph_transforms_are_kept(tmp_path: Path) -> None:
    """A glb written by another tool (trimesh) with nested, transformed nodes."""
    import trimesh

    box = trimesh.creation.box((1.0, 1.0, 1.0))
    sc = trimesh.Scene()
    parent = np.eye(4)
    parent[:3, 3] = (10.0, 0.0, 0.0)
    child = trimesh.transformations.rotation_matrix(np.pi / 2, (0, 1, 0))
    child[:3, 3] = (0.0, 2.0, 0.0)
    sc.graph.update(frame_to="parent", frame_from=sc.graph.base_frame, matrix=parent)
    sc.add_geometry(box, node_name="child", geom_name="box", parent_node_name="parent", transform=child)
    p = tmp_path / "nested.glb"
    p.write_bytes(sc.export(file_type="glb"))
    roots = load_glb(p)
    found = [(n, w) for r in roots for n, w in r.walk() if n.mesh is not None]
    assert len(found) == 1
    node, world = found[0]
    assert node.name == "child"
    assert np.allclose(world, parent @ child, atol=1e-6)
    assert any(n.name == "parent" and np.allclose(n.transform, parent) for r in roots for n, _ in r.walk())


# ------------------------------------------------------------------ failures


@pytest.mark.parametrize("keep", [0.5, 0.999, 20 / 2_000_000, 11])
def test_truncated_glb_is_an_asset_error_naming_the_file(tmp_path: Path, keep: float) -> None:
    data = (ASSETS_DIR / "bilateral.glb").read_bytes()
    n = int(keep) if keep >= 1 else int(len(data) * keep)
    p = tmp_path / "bilateral.glb"
    p.write_bytes(data[:n])
    with pytest.raises(AssetError) as exc:
        load_glb(p)
    msg = str(exc.value)
    assert "bilateral.glb" in msg and "truncated or malformed" in msg and "\n" not in msg


def test_truncated_glb_through_load_scene(tmp_path: Path) -> None:
    layout, glb = copy_scene(tmp_path, "chamber")
    data = glb.read_bytes()
    glb.write_bytes(data[: len(data) // 2])
    with pytest.raises(AssetError, match=r"chamber\.glb: truncated or malformed glTF \(header says"):
        load_scene(str(layout))


@pytest.mark.parametrize(
    "patch, fragment",
    [
        (lambda d: b"glTX" + d[4:], "not a glTF binary"),
        (lambda d: d[:4] + struct.pack("<I", 1) + d[8:], "unsupported glTF version 1"),
        (lambda d: d[:12] + struct.pack("<I", 10**9) + d[16:], "JSON chunk of 1000000000 bytes overruns"),
        (lambda d: d[:16] + b"ABCD" + d[20:], "not JSON"),
        (lambda d: d[:20] + b"#" + d[21:], "JSON chunk"),
    ],
)
def test_malformed_glb_headers(tmp_path: Path, patch: Any, fragment: str) -> None:
    p = tmp_path / "embassy.glb"
    p.write_bytes(patch((ASSETS_DIR / "embassy.glb").read_bytes()))
    with pytest.raises(AssetError, match=fragment) as exc:
        load_glb(p)
    assert str(exc.value).startswith(str(p)) or "embassy.glb" in str(exc.value)


def test_accessor_out_of_bounds(tmp_path: Path) -> None:
    gltf, bin_ = split_glb((ASSETS_DIR / "bilateral.glb").read_bytes())
    gltf["accessors"][0]["count"] *= 1000
    p = tmp_path / "bilateral.glb"
    p.write_bytes(join_glb(gltf, bin_))
    with pytest.raises(AssetError, match=r"bilateral\.glb: truncated or malformed glTF \(accessor 0 needs"):
        load_glb(p)


def test_missing_external_texture_names_it(tmp_path: Path) -> None:
    gltf, bin_ = split_glb((ASSETS_DIR / "bilateral.glb").read_bytes())
    flags = next(i for i, im in enumerate(gltf["images"]) if im["name"] == "flags")
    gltf["images"][flags] = {"name": "flags", "uri": "flag.png"}
    p = tmp_path / "bilateral.glb"
    p.write_bytes(join_glb(gltf, bin_))
    with pytest.raises(AssetError) as exc:
        load_glb(p)
    assert str(exc.value).endswith("bilateral.glb: texture 'flag.png' missing")
    # with the file next to it, the same glb loads and uses it
    Image.new("RGB", (8, 4), (255, 0, 0)).save(tmp_path / "flag.png")
    roots = load_glb(p)
    mats = {n.mesh.material.name: n.mesh.material for r in roots for n, _ in r.walk() if n.mesh is not None}
    tex = mats["flags"].base_color_texture
    assert tex is not None and tex.pixels.shape == (4, 8, 4) and tuple(tex.pixels[0, 0]) == (255, 0, 0, 255)
    # a file that is not an image is reported as such
    (tmp_path / "flag.png").write_bytes(b"this is not a png")
    with pytest.raises(AssetError, match=r"bilateral\.glb: texture 'flag\.png' cannot be decoded"):
        load_glb(p)


def test_corrupt_embedded_texture_names_it(tmp_path: Path) -> None:
    data = bytearray((ASSETS_DIR / "bilateral.glb").read_bytes())
    gltf, _ = split_glb(bytes(data))
    jlen = struct.unpack_from("<I", data, 12)[0]
    bin_start = 28 + jlen
    im = next(im for im in gltf["images"] if im["name"] == "flags")
    view = gltf["bufferViews"][im["bufferView"]]
    start = bin_start + view["byteOffset"]
    # keep the PNG signature and header, scramble the compressed pixel data
    for i in range(start + 60, start + view["byteLength"] - 20):
        data[i] ^= 0x5A
    p = tmp_path / "bilateral.glb"
    p.write_bytes(bytes(data))
    with pytest.raises(AssetError) as exc:
        load_glb(p)
    assert "bilateral.glb: texture 'flags' cannot be decoded" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_missing_files_and_unknown_scenes(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="nothing.glb: scene file not found"):
        load_glb(tmp_path / "nothing.glb")
    with pytest.raises(AssetError, match="unknown scene 'atrium'.*chamber, bilateral, embassy"):
        load_scene("atrium")
    layout, glb = copy_scene(tmp_path, "bilateral")
    glb.unlink()
    with pytest.raises(AssetError, match="bilateral.glb: scene file not found"):
        load_scene(layout)


@pytest.mark.parametrize(
    "lights, fragment",
    [
        ([{"kind": "spot"}], "kind must be 'directional' or 'point'"),
        ([{"kind": "point"}], r"lights\[0\].position: expected 3 numbers"),
        ([{"kind": "directional", "direction": [0, 0, 0]}], "direction must not be zero"),
        ([{"kind": "point", "position": [0, 1, 0], "intensity": -1}], "intensity must be >= 0"),
        ("sun", "lights must be a list"),
    ],
)
def test_bad_lights_in_a_layout(tmp_path: Path, lights: Any, fragment: str) -> None:
    layout, _ = copy_scene(tmp_path, "bilateral")
    data = json.loads(layout.read_text())
    data["lights"] = lights
    layout.write_text(json.dumps(data))
    with pytest.raises(AssetError, match=fragment):
        load_scene(layout)


def test_layout_without_lights_gets_a_default_light(tmp_path: Path) -> None:
    layout, _ = copy_scene(tmp_path, "bilateral")
    data = json.loads(layout.read_text())
    for key in ("lights", "ambient", "clear_color"):
        data.pop(key)
    layout.write_text(json.dumps(data))
    scene, lay = load_scene(layout)
    assert len(scene.lights) == 1 and scene.lights[0].kind == "directional"
    assert lay.source == layout


def test_png_bytes_roundtrip_helper() -> None:
    """The corrupt-texture test relies on PNG decoding checking its data: make sure it does."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buf, "PNG")
    raw = bytearray(buf.getvalue())
    for i in range(60, len(raw) - 20):
        raw[i] ^= 0x5A
    with pytest.raises((OSError, SyntaxError, ValueError)):
        Image.open(io.BytesIO(bytes(raw))).load()
