"""Load the scenes: glTF 2.0 binary files (through trimesh) and their layouts.

``load_scene("chamber")`` reads ``assets/layouts/chamber.json`` and the ``.glb`` it names and
returns a :class:`~vrdiplomacy.scene.model.Scene` plus the :class:`~vrdiplomacy.scene.layout.Layout`.
The scene holds the static geometry only: ``avatars`` is empty (the renderer or the session
instances avatars from the layout's seats).

Conventions of what is returned:

* nodes keep the glTF node graph: ``Node.transform`` is the node's local matrix, meshes are
  shared between nodes that use the same glTF mesh; treat the nodes as read-only (they are
  cached and shared between calls);
* ``Mesh.uvs`` use the glTF convention, origin at the *top-left* of the image (v grows
  downwards), matching ``Texture.pixels`` whose row 0 is the top row. Uploading the pixels
  as they are to GL and sampling at ``(u, v)`` therefore shows the image the right way up;
* materials carry the exact glTF factors (linear colours), with ``Texture`` objects shared
  between materials that use the same image (RGBA uint8, sRGB);
* lights, the ambient colour and the clear colour come from the layout JSON:
  ``"lights": [{"kind": "directional"|"point", "color": [r,g,b], "intensity": k,
  "direction": [x,y,z] | "position": [x,y,z], "range": m}]``, ``"ambient": [r,g,b]``,
  ``"clear_color": [r,g,b,a]``. Intensity is a unitless multiplier of the colour; a point
  light fades to nothing at ``range``.

Every failure is an :class:`~vrdiplomacy.errors.AssetError` with one line that names the
file: a truncated or malformed ``.glb`` (checked against its own header before trimesh sees
it), an external image that is missing, image bytes that do not decode, a bad layout.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import os
import struct
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from vrdiplomacy.errors import AssetError
from vrdiplomacy.scene.layout import ASSETS_DIR, SCENES, Layout, load_layout
from vrdiplomacy.scene.model import Light, Material, Mesh, Node, Scene, Texture

GLB_MAGIC = b"glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
_COMPONENT_SIZE = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
_TYPE_COUNT = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_CACHE_SIZE = 8

Stamp = tuple[str, int, int]  # resolved path, mtime_ns, size
_cache: OrderedDict[Stamp, tuple[tuple[Node, ...], tuple[Stamp, ...]]] = OrderedDict()
_cache_lock = threading.Lock()


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the working directory when it is below it (for messages)."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


# ------------------------------------------------------------------ glb validation


def _malformed(where: str, why: str) -> AssetError:
    return AssetError(f"{where}: truncated or malformed glTF ({why})")


def read_glb_chunks(data: bytes, where: str) -> tuple[dict[str, Any], bytes]:
    """Check a .glb's header and chunk lengths against its size; return (JSON, BIN chunk)."""
    if len(data) < 12:
        raise _malformed(where, f"{len(data)} bytes, shorter than the 12-byte header")
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    if magic != GLB_MAGIC:
        raise AssetError(f"{where}: not a glTF binary (magic {magic!r}, expected b'glTF')")
    if version != 2:
        raise AssetError(f"{where}: unsupported glTF version {version} (need 2)")
    if length != len(data):
        raise _malformed(where, f"header says {length} bytes, file has {len(data)}")
    if length < 20:
        raise _malformed(where, "no JSON chunk")
    json_len, json_type = struct.unpack_from("<II", data, 12)
    if json_type != CHUNK_JSON:
        raise _malformed(where, f"first chunk is 0x{json_type:08x}, not JSON")
    if 20 + json_len > length:
        raise _malformed(where, f"JSON chunk of {json_len} bytes overruns the file")
    try:
        gltf = json.loads(data[20 : 20 + json_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise _malformed(where, f"JSON chunk: {e}") from None
    if not isinstance(gltf, dict):
        raise _malformed(where, "JSON chunk is not an object")
    pos = 20 + json_len + (-json_len % 4)
    bin_chunk = b""
    if pos + 8 <= length:
        bin_len, bin_type = struct.unpack_from("<II", data, pos)
        if bin_type != CHUNK_BIN:
            raise _malformed(where, f"second chunk is 0x{bin_type:08x}, not BIN")
        if pos + 8 + bin_len > length:
            raise _malformed(where, f"BIN chunk of {bin_len} bytes overruns the file")
        bin_chunk = data[pos + 8 : pos + 8 + bin_len]
    elif pos < length:
        raise _malformed(where, f"{length - pos} stray bytes after the JSON chunk")
    return gltf, bin_chunk


def _stamp(p: Path) -> Stamp | None:
    try:
        st = p.stat()
    except OSError:
        return None
    return (str(p.resolve()), st.st_mtime_ns, st.st_size)


def _check_structure(gltf: dict[str, Any], bin_chunk: bytes, base: Path, where: str,
                     deps: list[Path]) -> list[bytes]:
    """Check buffers, views and accessors stay in bounds; return each buffer's bytes."""
    if str(gltf.get("asset", {}).get("version", "")).split(".")[0] != "2":
        raise AssetError(f"{where}: unsupported glTF asset version {gltf.get('asset', {}).get('version')!r}")
    buffers: list[bytes] = []
    try:
        for i, buf in enumerate(gltf.get("buffers", [])):
            n = int(buf["byteLength"])
            uri = buf.get("uri")
            if uri is None:
                if i != 0:
                    raise _malformed(where, f"buffer {i} has no uri")
                data = bin_chunk
            elif uri.startswith("data:"):
                data = _data_uri(uri, where, f"buffer {i}")
            else:
                p = base / uri
                if not p.is_file():
                    raise AssetError(f"{where}: buffer '{uri}' missing")
                deps.append(p)
                data = p.read_bytes()
            if len(data) < n:
                raise _malformed(where, f"buffer {i} holds {len(data)} of its {n} bytes")
            buffers.append(data)
        views = gltf.get("bufferViews", [])
        for i, v in enumerate(views):
            b = int(v["buffer"])
            end = int(v.get("byteOffset", 0)) + int(v["byteLength"])
            if not 0 <= b < len(buffers) or end > len(buffers[b]):
                raise _malformed(where, f"bufferView {i} overruns buffer {b}")
        for i, a in enumerate(gltf.get("accessors", [])):
            if "bufferView" not in a:
                continue
            v = views[int(a["bufferView"])]
            elem = _COMPONENT_SIZE[int(a["componentType"])] * _TYPE_COUNT[str(a["type"])]
            stride = int(v.get("byteStride", 0)) or elem
            count = int(a["count"])
            need = int(a.get("byteOffset", 0)) + (count - 1) * stride + elem if count > 0 else 0
            if need > int(v["byteLength"]):
                raise _malformed(where, f"accessor {i} needs {need} bytes, its view has {v['byteLength']}")
    except AssetError:
        raise
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise _malformed(where, f"{type(e).__name__}: {e}") from None
    return buffers


def _data_uri(uri: str, where: str, what: str) -> bytes:
    try:
        header, payload = uri.split(",", 1)
        if header.endswith(";base64"):
            return base64.b64decode(payload, validate=True)
        return payload.encode("latin-1")
    except (ValueError, binascii.Error) as e:
        raise AssetError(f"{where}: {what} has a bad data URI ({e})") from None


def _decode_images(gltf: dict[str, Any], buffers: list[bytes], base: Path, where: str,
                   deps: list[Path]) -> list[Texture]:
    """Decode every image to RGBA8; a missing file or undecodable bytes is an AssetError."""
    from PIL import Image, UnidentifiedImageError

    out: list[Texture] = []
    views = gltf.get("bufferViews", [])
    for i, img in enumerate(gltf.get("images", [])):
        uri = img.get("uri")
        label = str(uri if uri and not uri.startswith("data:") else img.get("name") or f"image {i}")
        if uri is not None and not uri.startswith("data:"):
            p = base / uri
            if not p.is_file():
                raise AssetError(f"{where}: texture '{uri}' missing")
            deps.append(p)
            raw = p.read_bytes()
        elif uri is not None:
            raw = _data_uri(uri, where, f"texture '{label}'")
        else:
            try:
                v = views[int(img["bufferView"])]
                off = int(v.get("byteOffset", 0))
                raw = buffers[int(v["buffer"])][off : off + int(v["byteLength"])]
            except (KeyError, IndexError, TypeError, ValueError) as e:
                raise _malformed(where, f"image {i}: {type(e).__name__}: {e}") from None
        try:
            with Image.open(io.BytesIO(raw)) as im:
                im.load()
                rgba = np.asarray(im.convert("RGBA"), dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
            raise AssetError(f"{where}: texture '{label}' cannot be decoded ({type(e).__name__}: {e})") from None
        out.append(Texture(np.ascontiguousarray(rgba), source=f"{Path(where).name}#{label}"))
    return out


# ------------------------------------------------------------------ materials


def _factor(v: Any, n: int, default: tuple[float, ...]) -> tuple[float, ...]:
    if v is None:
        return default
    vals = tuple(float(x) for x in v)
    if len(vals) != n:
        raise ValueError(f"expected {n} numbers, got {len(vals)}")
    return vals


def _materials(gltf: dict[str, Any], textures: list[Texture], where: str) -> list[Material]:
    tex_defs = gltf.get("textures", [])

    def tex(ref: Any) -> Texture | None:
        if not ref:
            return None
        src = tex_defs[int(ref["index"])].get("source")
        return None if src is None else textures[int(src)]

    out = []
    try:
        for i, m in enumerate(gltf.get("materials", [])):
            pbr = m.get("pbrMetallicRoughness", {})
            out.append(
                Material(
                    name=str(m.get("name") or f"material_{i}"),
                    base_color=_factor(pbr.get("baseColorFactor"), 4, (1.0, 1.0, 1.0, 1.0)),  # type: ignore[arg-type]
                    metallic=float(pbr.get("metallicFactor", 1.0)),
                    roughness=float(pbr.get("roughnessFactor", 1.0)),
                    emissive=_factor(m.get("emissiveFactor"), 3, (0.0, 0.0, 0.0)),  # type: ignore[arg-type]
                    base_color_texture=tex(pbr.get("baseColorTexture")),
                    emissive_texture=tex(m.get("emissiveTexture")),
                    double_sided=bool(m.get("doubleSided", False)),
                )
            )
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise _malformed(where, f"material: {type(e).__name__}: {e}") from None
    return out


# ------------------------------------------------------------------ nodes through trimesh


def _build_nodes(data: bytes, gltf: dict[str, Any], materials: list[Material], base: Path, where: str) -> list[Node]:
    import trimesh
    from trimesh.resolvers import FilePathResolver

    try:
        scene = trimesh.load(
            io.BytesIO(data), file_type="glb", force="scene", process=False, resolver=FilePathResolver(str(base) + "/")
        )
    except Exception as e:  # trimesh raises many kinds; all mean the file is unusable
        msg = str(e).splitlines()[0] if str(e) else ""
        raise _malformed(where, f"{type(e).__name__}: {msg}") from None

    by_name: dict[str, Material] = {}
    dupes: set[str] = set()
    for m in materials:
        if m.name in by_name:
            dupes.add(m.name)
        by_name[m.name] = m
    mesh_cache: dict[str, Mesh | None] = {}

    def material_of(geom: Any, geom_name: str) -> Material:
        tm = getattr(getattr(geom, "visual", None), "material", None)
        name = getattr(tm, "name", None)
        if name in by_name and name not in dupes:
            return by_name[name]
        if tm is None:
            return Material(geom_name)
        # a material we cannot match by name: take trimesh's (colours quantised to 8 bits)
        colour = np.asarray(getattr(tm, "baseColorFactor", None) or (255, 255, 255, 255), dtype=np.float64) / 255.0
        return Material(str(name or geom_name), tuple(float(c) for c in colour[:4]))  # type: ignore[arg-type]

    def mesh_of(geom_name: str) -> Mesh | None:
        if geom_name in mesh_cache:
            return mesh_cache[geom_name]
        geom = scene.geometry.get(geom_name)
        mesh = None
        if isinstance(geom, trimesh.Trimesh) and len(geom.faces):
            uv = getattr(geom.visual, "uv", None)
            uvs = None
            if uv is not None and len(uv) == len(geom.vertices):
                uvs = np.array(uv, dtype=np.float32)
                uvs[:, 1] = 1.0 - uvs[:, 1]  # trimesh flips v to a bottom-left origin; undo it
            mesh = Mesh(
                name=geom_name,
                positions=np.asarray(geom.vertices, dtype=np.float32),
                normals=np.asarray(geom.vertex_normals, dtype=np.float32),
                indices=np.asarray(geom.faces, dtype=np.uint32).reshape(-1),
                material=material_of(geom, geom_name),
                uvs=uvs,
            )
        mesh_cache[geom_name] = mesh
        return mesh

    order = {str(n.get("name", "")): i for i, n in enumerate(gltf.get("nodes", []))}
    forest = scene.graph.transforms

    def convert(frame: str, depth: int) -> list[Node]:
        if depth > 64:
            raise _malformed(where, "node graph deeper than 64 levels")
        kids = sorted(forest.children.get(frame, []), key=lambda k: (order.get(str(k), len(order)), str(k)))
        out = []
        for child in kids:
            edge = forest.edge_data.get((frame, child), {})
            matrix = np.asarray(edge.get("matrix", np.eye(4)), dtype=np.float32)
            geom_name = edge.get("geometry")
            mesh = mesh_of(geom_name) if geom_name is not None else None
            out.append(Node(str(child), mesh, matrix, convert(child, depth + 1)))
        return out

    return convert(scene.graph.base_frame, 0)


def _load_glb_uncached(path: Path) -> tuple[tuple[Node, ...], tuple[Stamp, ...]]:
    where = display_path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AssetError(f"{where}: scene file not found") from None
    except OSError as e:
        raise AssetError(f"{where}: cannot read ({e.strerror or e})") from None
    gltf, bin_chunk = read_glb_chunks(data, where)
    base = path.parent
    deps: list[Path] = []
    try:
        buffers = _check_structure(gltf, bin_chunk, base, where, deps)
        textures = _decode_images(gltf, buffers, base, where, deps)
        materials = _materials(gltf, textures, where)
        nodes = tuple(_build_nodes(data, gltf, materials, base, where))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError, RecursionError) as e:
        # a JSON member of the wrong type ("asset": 3, a material that is a list, ...) anywhere in
        # the glTF, or trimesh's view of it: the file is malformed, whatever part tripped on it
        raise _malformed(where, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    stamps = tuple(st for st in (_stamp(d) for d in deps) if st is not None)
    return nodes, stamps


def load_glb(path: str | os.PathLike[str]) -> list[Node]:
    """The root nodes of a glTF 2.0 binary file. Cached per (path, mtime, size) of the file and
    of the external files it references; the nodes are shared between calls: do not modify them."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise AssetError(f"{display_path(p)}: scene file not found") from None
    except OSError as e:
        raise AssetError(f"{display_path(p)}: cannot read ({e.strerror or e})") from None
    key = (str(p.resolve()), st.st_mtime_ns, st.st_size)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and all(_stamp(Path(dep[0])) == dep for dep in hit[1]):
        with _cache_lock:
            if key in _cache:
                _cache.move_to_end(key)
        return list(hit[0])
    nodes, deps = _load_glb_uncached(p)
    with _cache_lock:
        _cache[key] = (nodes, deps)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return list(nodes)


def clear_cache() -> None:
    """Forget every loaded glb (tests, or after regenerating assets in-process)."""
    with _cache_lock:
        _cache.clear()


# ------------------------------------------------------------------ lights and scenes


def _vec(v: Any, n: int, where: str) -> tuple[float, ...]:
    if not isinstance(v, (list, tuple)) or len(v) != n:
        raise AssetError(f"{where}: expected {n} numbers, got {v!r}")
    try:
        out = tuple(float(x) for x in v)
    except (TypeError, ValueError):
        raise AssetError(f"{where}: expected {n} numbers, got {v!r}") from None
    if not all(math.isfinite(x) for x in out):
        raise AssetError(f"{where}: numbers must be finite, got {v!r}")
    return out


def parse_environment(data: dict[str, Any], where: str) -> tuple[list[Light], tuple[float, ...] | None,
                                                                 tuple[float, ...] | None]:
    """Lights, ambient colour and clear colour from a layout's JSON (see the module docstring)."""
    lights = []
    raw = data.get("lights", [])
    if not isinstance(raw, list):
        raise AssetError(f"{where}: lights must be a list")
    for i, d in enumerate(raw):
        at = f"{where}: lights[{i}]"
        if not isinstance(d, dict):
            raise AssetError(f"{at}: must be an object")
        kind = d.get("kind", "directional")
        if kind not in ("directional", "point"):
            raise AssetError(f"{at}: kind must be 'directional' or 'point', got {kind!r}")
        light = Light(kind=kind)
        if "color" in d:
            light.color = _vec(d["color"], 3, f"{at}.color")  # type: ignore[assignment]
        try:
            light.intensity = float(d.get("intensity", 1.0))
            light.range = float(d.get("range", light.range))
        except (TypeError, ValueError):
            raise AssetError(f"{at}: intensity and range must be numbers") from None
        if light.intensity < 0 or light.range <= 0:
            raise AssetError(f"{at}: intensity must be >= 0 and range > 0")
        if kind == "directional":
            direction = _vec(d.get("direction", [0.0, -1.0, 0.0]), 3, f"{at}.direction")
            n = math.sqrt(sum(c * c for c in direction))
            if n == 0.0:
                raise AssetError(f"{at}: direction must not be zero")
            light.direction = tuple(c / n for c in direction)  # type: ignore[assignment]
        else:
            light.position = _vec(d.get("position"), 3, f"{at}.position")  # type: ignore[assignment]
        lights.append(light)
    ambient = _vec(data["ambient"], 3, f"{where}: ambient") if "ambient" in data else None
    clear = _vec(data["clear_color"], 4, f"{where}: clear_color") if "clear_color" in data else None
    return lights, ambient, clear


def _layout_path(name_or_layout_path: str | os.PathLike[str]) -> Path:
    s = os.fspath(name_or_layout_path)
    if s in SCENES:
        return ASSETS_DIR / "layouts" / f"{s}.json"
    p = Path(s)
    if p.suffix == ".json":
        return p
    raise AssetError(f"unknown scene '{s}' (known: {', '.join(SCENES)}; or give a layout .json path)")


def load_scene(name_or_layout_path: str | os.PathLike[str]) -> tuple[Scene, Layout]:
    """A scene by name ("chamber", "bilateral", "embassy") or by layout JSON path.

    Returns a fresh :class:`Scene` (own ``avatars`` and ``lights`` lists, shared read-only
    nodes) and a freshly parsed :class:`Layout`."""
    lp = _layout_path(name_or_layout_path)
    layout = load_layout(lp)
    where = display_path(lp)
    try:
        data = json.loads(lp.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AssetError(f"{where}: cannot read layout ({e})") from None
    lights, ambient, clear = parse_environment(data, where)
    glb = layout.glb_path()
    nodes = load_glb(glb)
    if not lights:  # a layout without lights still gets a key light from above
        lights = [Light("directional", (1.0, 1.0, 1.0), 1.0, (0.0, -1.0, 0.0))]
    scene = Scene(name=layout.scene, nodes=nodes, lights=lights, avatars=[], source=glb)
    if ambient is not None:
        scene.ambient = ambient  # type: ignore[assignment]
    if clear is not None:
        scene.clear_color = clear  # type: ignore[assignment]
    return scene, layout
