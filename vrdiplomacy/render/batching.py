"""Static scene batching (numpy only): every static mesh baked to world space in one buffer.

Vertices carry their material index; materials live in one uniform array and their base-colour
textures in the layers of one sRGB texture array, so the whole static scene is at most three
draws per view (opaque, opaque double-sided, blended) whatever its number of meshes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PIL import Image

from vrdiplomacy.errors import RenderError
from vrdiplomacy.scene.model import Material, Scene, Texture

STRIDE = 9  # floats per vertex: pos3 normal3 uv2 material1
MAX_MATERIALS = 256
LARGE_LAYER = 4096  # material texture layers >= this index the large array (keep in step with static.frag)
GROUPS = ("opaque", "double_sided", "blended")
# procedural surface detail of untextured materials (keep in step with shaders/static.frag)
SURF_PLAIN, SURF_WOOD, SURF_CARPET, SURF_MARBLE, SURF_PLASTER, SURF_FABRIC, SURF_METAL = range(7)
# a material name containing the word (glTF material names of assets/*.glb) gets that surface
SURFACE_WORDS: tuple[tuple[str, int], ...] = (
    ("ceiling", SURF_PLAIN), ("light", SURF_PLAIN), ("screen", SURF_PLAIN), ("window", SURF_PLAIN),
    ("marble", SURF_MARBLE), ("stone", SURF_MARBLE), ("counter_top", SURF_MARBLE),
    ("wood", SURF_WOOD), ("desk", SURF_WOOD), ("stage", SURF_WOOD), ("rostrum", SURF_WOOD), ("table", SURF_WOOD),
    ("carpet", SURF_CARPET), ("rug", SURF_CARPET),
    ("fabric", SURF_FABRIC), ("leather", SURF_FABRIC), ("cloth", SURF_FABRIC), ("curtain", SURF_FABRIC),
    ("wall", SURF_PLASTER), ("plaster", SURF_PLASTER),
    ("metal", SURF_METAL), ("brass", SURF_METAL), ("gold", SURF_METAL), ("steel", SURF_METAL),
)


@dataclass
class DrawRange:
    """A range of the index buffer: ``first`` index, ``count`` indices."""

    first: int
    count: int


@dataclass
class StaticBatch:
    """What the renderer uploads: interleaved vertices, indices, draw ranges per group, the
    material table (MAX_MATERIALS x 12 float32: base colour; emissive + base-colour texture
    layer; metallic, roughness, emissive texture layer, :func:`surface_kind`; a layer of -1 means none, a layer of
    ``LARGE_LAYER + k`` means layer k of the large array) and the texture-array layers: ``layers``
    (L, S, S, 4) uint8 at the layer size, ``large_layers`` (K, B, B, 4) for the few big textures
    (placard and flag atlases) that would be unreadable squeezed into S (None when there are none)."""

    vertices: npt.NDArray[np.float32]
    indices: npt.NDArray[np.uint32]
    ranges: dict[str, DrawRange]
    materials: npt.NDArray[np.float32]
    layers: npt.NDArray[np.uint8]
    material_names: list[str] = field(default_factory=list)
    large_layers: npt.NDArray[np.uint8] | None = None
    casters: npt.NDArray[np.uint32] = field(default_factory=lambda: np.zeros(0, np.uint32))


def casts_shadow(m: Material) -> bool:
    """Whether ``m``'s triangles go into the key light's shadow map: opaque, not emissive (lamps,
    screens, windows) and not a ceiling (the key light stands for the room's overhead lighting,
    which the ceiling would otherwise block entirely)."""
    return m.base_color[3] >= 0.999 and max(m.emissive) <= 0.0 and "ceiling" not in m.name.lower()


def surface_kind(m: Material) -> int:
    """The procedural surface of material ``m`` (:data:`SURF_PLAIN` ...) from its name, the first
    word of :data:`SURFACE_WORDS` it contains; textured and emissive materials stay plain."""
    if m.base_color_texture is not None or max(m.emissive) > 0.0:
        return SURF_PLAIN
    name = m.name.lower()
    for word, kind in SURFACE_WORDS:
        if word in name:
            return kind
    return SURF_METAL if m.metallic >= 0.5 else SURF_PLAIN


def _group(m: Material) -> str:
    if m.base_color[3] < 0.999:
        return "blended"
    return "double_sided" if m.double_sided else "opaque"


def _resize(tex: Texture, size: int) -> npt.NDArray[np.uint8]:
    px = np.asarray(tex.pixels)
    if px.ndim != 3 or px.shape[2] not in (3, 4) or px.dtype != np.uint8:
        raise RenderError(f"texture {tex.source or '?'}: expected (H, W, 3|4) uint8, got {px.shape} {px.dtype}")
    img = Image.fromarray(px).convert("RGBA")
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.uint8)


def _large_set(textures: list[Texture], layer_size: int, large_size: int, max_large: int) -> list[int]:
    """Indices of the textures that go to the large array: those with a side over twice the
    layer size (text atlases lose their text at the layer size), the biggest ``max_large`` first."""
    if large_size <= layer_size or max_large <= 0:
        return []
    big = [i for i, t in enumerate(textures) if max(np.asarray(t.pixels).shape[:2]) > 2 * layer_size]
    big.sort(key=lambda i: -int(np.prod(np.asarray(textures[i].pixels).shape[:2])))
    return sorted(big[:max_large])


def build_static_batch(scene: Scene, layer_size: int = 512, large_size: int = 2048, max_large: int = 2) -> StaticBatch:
    """Bake ``scene``'s meshes to world space, grouped by draw state, materials indexed.

    Textures are resampled to ``layer_size`` squares, except up to ``max_large`` textures with a
    side over twice that (placard and flag atlases), which keep up to ``large_size`` pixels in a
    second array so names stay legible."""
    materials: list[Material] = []
    mat_index: dict[int, int] = {}
    tex_index: dict[int, int] = {}
    textures: list[Texture] = []
    parts: dict[str, list[tuple[npt.NDArray[np.float32], npt.NDArray[np.uint32]]]] = {g: [] for g in GROUPS}
    for mesh, world in scene.meshes():
        if mesh.indices.size == 0 or len(mesh.positions) == 0:
            continue
        m = mesh.material
        if id(m) not in mat_index:
            if len(materials) >= MAX_MATERIALS:
                raise RenderError(f"scene {scene.name}: more than {MAX_MATERIALS} materials")
            mat_index[id(m)] = len(materials)
            materials.append(m)
            for t in (m.base_color_texture, m.emissive_texture):
                if t is not None and id(t) not in tex_index:
                    tex_index[id(t)] = len(textures)
                    textures.append(t)
        n = len(mesh.positions)
        v = np.empty((n, STRIDE), dtype=np.float32)
        w = np.asarray(world, dtype=np.float64)
        v[:, 0:3] = mesh.positions @ w[:3, :3].T + w[:3, 3]
        normal_m = np.linalg.inv(w[:3, :3]).T if abs(np.linalg.det(w[:3, :3])) > 1e-12 else w[:3, :3]
        nrm = mesh.normals @ normal_m.T if len(mesh.normals) == n else np.tile([0.0, 1.0, 0.0], (n, 1))
        lens = np.linalg.norm(nrm, axis=1, keepdims=True)
        v[:, 3:6] = nrm / np.maximum(lens, 1e-12)
        v[:, 6:8] = mesh.uvs if mesh.uvs is not None and len(mesh.uvs) == n else 0.0
        v[:, 8] = mat_index[id(m)]
        if int(mesh.indices.max()) >= n:
            raise RenderError(f"mesh {mesh.name}: index {int(mesh.indices.max())} out of range ({n} vertices)")
        idx = mesh.indices
        if np.linalg.det(w[:3, :3]) < 0:  # mirrored transform: keep counter-clockwise fronts
            idx = idx.reshape(-1, 3)[:, ::-1].reshape(-1)
        parts[_group(m)].append((v, idx))
    verts: list[npt.NDArray[np.float32]] = []
    inds: list[npt.NDArray[np.uint32]] = []
    ranges: dict[str, DrawRange] = {}
    base = 0
    first = 0
    for g in GROUPS:
        count = 0
        for v, idx in parts[g]:
            verts.append(v)
            inds.append((idx + base).astype(np.uint32))
            base += len(v)
            count += idx.size
        ranges[g] = DrawRange(first, count)
        first += count
    large = _large_set(textures, layer_size, large_size, max_large)
    slot: dict[int, float] = {}  # texture index -> layer value in the material table
    small: list[Texture] = []
    for k, t in enumerate(textures):
        if k in large:
            slot[k] = float(LARGE_LAYER + large.index(k))
        else:
            slot[k] = float(len(small))
            small.append(t)
    table = np.zeros((MAX_MATERIALS, 12), dtype=np.float32)
    for i, m in enumerate(materials):
        t = m.base_color_texture
        table[i, 0:4] = m.base_color
        table[i, 4:7] = m.emissive
        table[i, 7] = slot[tex_index[id(t)]] if t is not None else -1.0
        table[i, 8] = m.metallic
        table[i, 9] = m.roughness
        et = m.emissive_texture
        table[i, 10] = slot[tex_index[id(et)]] if et is not None else -1.0
        table[i, 11] = surface_kind(m)
    layers = (
        np.stack([_resize(t, layer_size) for t in small])
        if small
        else np.full((1, 1, 1, 4), 255, dtype=np.uint8)
    )
    big_side = 0
    for k in large:
        side = max(np.asarray(textures[k].pixels).shape[:2])
        big_side = max(big_side, min(large_size, 1 << (int(side) - 1).bit_length()))
    large_layers = np.stack([_resize(textures[k], big_side) for k in large]) if large else None
    vertices = np.concatenate(verts) if verts else np.zeros((0, STRIDE), dtype=np.float32)
    indices = np.concatenate(inds) if inds else np.zeros(0, dtype=np.uint32)
    casters = np.zeros(0, np.uint32)
    if indices.size:
        casting = np.array([casts_shadow(m) for m in materials], bool)
        tris = indices.reshape(-1, 3)
        casters = np.ascontiguousarray(tris[casting[vertices[tris[:, 0], 8].astype(np.int64)]].reshape(-1))
    return StaticBatch(vertices, indices, ranges, table, layers, [m.name for m in materials], large_layers, casters)
