"""A small, deterministic glTF 2.0 binary (.glb) writer.

One buffer, embedded PNG images, PBR metallic-roughness materials (with emissive), one
primitive per mesh with POSITION, NORMAL, TEXCOORD_0 and uint32 indices. The JSON is
written in insertion order with fixed separators, so the same document gives the same bytes.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from .geom import MeshBuilder

GLB_MAGIC = b"glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942

FLOAT = 5126
UINT32 = 5125
ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963
LINEAR = 9729
LINEAR_MIPMAP_LINEAR = 9987
REPEAT = 10497
CLAMP_TO_EDGE = 33071


@dataclass(frozen=True)
class MaterialSpec:
    """A PBR-lite material as written to glTF. Colours are linear."""

    base_color: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 1.0)
    metallic: float = 0.0
    roughness: float = 0.8
    emissive: tuple[float, float, float] = (0.0, 0.0, 0.0)
    texture: str = ""  # name of an image added with GlbDocument.add_image
    emissive_texture: str = ""
    double_sided: bool = False


def _pad(data: bytes, fill: bytes) -> bytes:
    return data + fill * ((4 - len(data) % 4) % 4)


class GlbDocument:
    """Collects images, materials, meshes and nodes, then serialises to .glb bytes."""

    def __init__(self, generator: str = "vrdiplomacy tools/gen_assets.py") -> None:
        self.gltf: dict[str, Any] = {
            "asset": {"version": "2.0", "generator": generator},
            "scene": 0,
            "scenes": [],
            "nodes": [],
            "meshes": [],
            "materials": [],
            "textures": [],
            "images": [],
            "samplers": [
                {"magFilter": LINEAR, "minFilter": LINEAR_MIPMAP_LINEAR, "wrapS": CLAMP_TO_EDGE, "wrapT": CLAMP_TO_EDGE}
            ],
            "accessors": [],
            "bufferViews": [],
            "buffers": [],
        }
        self._bin = bytearray()
        self._images: dict[str, int] = {}
        self._textures: dict[str, int] = {}
        self._materials: dict[str, int] = {}

    def _view(self, data: bytes, target: int | None = None) -> int:
        while len(self._bin) % 4:
            self._bin.append(0)
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self._bin), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self._bin.extend(data)
        self.gltf["bufferViews"].append(view)
        return len(self.gltf["bufferViews"]) - 1

    def _accessor(self, arr: np.ndarray, kind: str, component: int, target: int, minmax: bool = False) -> int:
        view = self._view(arr.tobytes(), target)
        acc: dict[str, Any] = {"bufferView": view, "componentType": component, "count": int(arr.shape[0]), "type": kind}
        if minmax:
            acc["min"] = [float(v) for v in arr.min(axis=0)]
            acc["max"] = [float(v) for v in arr.max(axis=0)]
        self.gltf["accessors"].append(acc)
        return len(self.gltf["accessors"]) - 1

    def add_image(self, name: str, png: bytes) -> None:
        view = self._view(png)
        self.gltf["images"].append({"name": name, "mimeType": "image/png", "bufferView": view})
        self._images[name] = len(self.gltf["images"]) - 1

    def _texture(self, image: str) -> int:
        if image not in self._textures:
            self.gltf["textures"].append({"name": image, "sampler": 0, "source": self._images[image]})
            self._textures[image] = len(self.gltf["textures"]) - 1
        return self._textures[image]

    def add_material(self, name: str, spec: MaterialSpec) -> int:
        pbr: dict[str, Any] = {
            "baseColorFactor": [float(c) for c in spec.base_color],
            "metallicFactor": float(spec.metallic),
            "roughnessFactor": float(spec.roughness),
        }
        if spec.texture:
            pbr["baseColorTexture"] = {"index": self._texture(spec.texture)}
        mat: dict[str, Any] = {"name": name, "pbrMetallicRoughness": pbr}
        if any(spec.emissive):
            mat["emissiveFactor"] = [float(c) for c in spec.emissive]
        if spec.emissive_texture:
            mat["emissiveTexture"] = {"index": self._texture(spec.emissive_texture)}
        if spec.double_sided:
            mat["doubleSided"] = True
        self.gltf["materials"].append(mat)
        self._materials[name] = len(self.gltf["materials"]) - 1
        return self._materials[name]

    def add_mesh(self, name: str, builder: MeshBuilder, material: str) -> int:
        pos, nrm, uv, idx = builder.arrays()
        attrs = {
            "POSITION": self._accessor(pos, "VEC3", FLOAT, ARRAY_BUFFER, minmax=True),
            "NORMAL": self._accessor(nrm, "VEC3", FLOAT, ARRAY_BUFFER),
            "TEXCOORD_0": self._accessor(uv, "VEC2", FLOAT, ARRAY_BUFFER),
        }
        indices = self._accessor(idx, "SCALAR", UINT32, ELEMENT_ARRAY_BUFFER)
        prim = {"attributes": attrs, "indices": indices, "material": self._materials[material], "mode": 4}
        self.gltf["meshes"].append({"name": name, "primitives": [prim]})
        return len(self.gltf["meshes"]) - 1

    def add_node(self, name: str, mesh: int | None = None, children: list[int] | None = None,
                 translation: tuple[float, float, float] | None = None) -> int:
        node: dict[str, Any] = {"name": name}
        if mesh is not None:
            node["mesh"] = mesh
        if children:
            node["children"] = list(children)
        if translation is not None:
            node["translation"] = [float(v) for v in translation]
        self.gltf["nodes"].append(node)
        return len(self.gltf["nodes"]) - 1

    def set_scene(self, name: str, roots: list[int]) -> None:
        self.gltf["scenes"] = [{"name": name, "nodes": roots}]

    def to_bytes(self) -> bytes:
        gltf = dict(self.gltf)
        for key in ("textures", "images"):
            if not gltf[key]:
                del gltf[key]
        if "images" not in gltf:
            del gltf["samplers"]
        gltf["buffers"] = [{"byteLength": len(self._bin)}]
        js = _pad(json.dumps(gltf, separators=(",", ":"), ensure_ascii=True).encode("ascii"), b" ")
        bin_ = _pad(bytes(self._bin), b"\x00")
        total = 12 + 8 + len(js) + 8 + len(bin_)
        return b"".join(
            [
                struct.pack("<4sII", GLB_MAGIC, 2, total),
                struct.pack("<II", len(js), CHUNK_JSON),
                js,
                struct.pack("<II", len(bin_), CHUNK_BIN),
                bin_,
            ]
        )


def build_glb(scene_name: str, builders: dict[str, MeshBuilder], materials: dict[str, MaterialSpec],
              images: dict[str, bytes]) -> bytes:
    """One root node named after the scene, one child node + mesh per material (sorted by name)."""
    doc = GlbDocument()
    for name in sorted(images):
        doc.add_image(name, images[name])
    children = []
    for name in sorted(builders):
        b = builders[name]
        if not b.indices:
            continue
        if name not in materials:
            raise KeyError(f"geometry uses undefined material '{name}'")
        doc.add_material(name, materials[name])
        mesh = doc.add_mesh(name, b, name)
        children.append(doc.add_node(name, mesh=mesh))
    root = doc.add_node(scene_name, children=children)
    doc.set_scene(scene_name, [root])
    return doc.to_bytes()
