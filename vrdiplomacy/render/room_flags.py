"""A room's own flags, dressed with the real flags of the delegations meeting in it.

The bilateral room serves any two delegations and the embassy any host, so their assets carry
flag *slots* (the layout's ``flag_slots``: slot name -> the pixel box of its cell in the scene's
``flags`` texture) that show the UN flag until the client knows who is there. :func:`dress_flags`
paints each named slot with its delegation's real flag from the committed flag-icons atlas
(:mod:`vrdiplomacy.render.flags`), on a copy: the loaded scene's nodes are shared through the
asset cache and stay as they are. A delegation the atlas does not list, or an unreadable atlas,
leaves its slot neutral (never a made-up flag); an unknown slot is an error.

Who is where comes from the session, never from the layout: :func:`bilateral_sides` reads the
delegation seated on each side; :func:`flags_for_space` what a delegate joining a
``bilateral:AAA+BBB`` space knows (its own delegation and side, so the other side is the other
one). Anything less certain leaves the flags neutral: a flag on the wrong side is worse than none.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterable, Mapping

import numpy as np
from PIL import Image

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.render.tags import delegation_code, tag_flag
from vrdiplomacy.scene.layout import Layout
from vrdiplomacy.scene.model import Avatar, Material, Node, Scene, Texture

FLAGS_MATERIAL = "flags"


def bilateral_sides(layout: Layout, avatars: Iterable[Avatar] = ()) -> dict[str, str]:
    """The delegation of each side ("A", "B") of a bilateral room: the one most of the avatars
    seated on that side's seats belong to (sides with nobody seated are left out)."""
    seats = [(np.asarray(s.position, np.float64)[[0, 2]], s.side) for s in layout.seats if s.side]
    votes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for a in avatars:
        if not seats or not a.delegation:
            continue
        p = np.asarray(a.root.position, np.float64)[[0, 2]]
        d, side = min(((float(np.linalg.norm(p - q)), sd) for q, sd in seats), key=lambda t: t[0])
        if d < 0.5:
            votes[side][a.delegation] += 1
    return {side: c.most_common(1)[0][0] for side, c in sorted(votes.items())}


def flags_for_space(layout: Layout, space: str, side: str, who: str) -> dict[str, str]:
    """The side flags a delegate dresses on joining ``space``: when it is ``bilateral:AAA+BBB``,
    ``who`` (the delegate's delegation: code, name or placard) is one of the two and sits on
    ``side`` of a room with slots for both sides: its own flag on its side, the other's on the
    other side. Otherwise {} (the flags stay neutral)."""
    if not space.lower().startswith("bilateral:") or {"A", "B"} - set(layout.flag_slots) or side not in ("A", "B"):
        return {}
    pair = [p.strip().upper() for p in space.split(":", 1)[1].split("+")]
    own = delegation_code(who)
    if len(pair) != 2 or own not in pair:
        return {}
    other = pair[1] if pair[0] == own else pair[0]
    return {side: own, ("B" if side == "A" else "A"): other}


def _painted(tex: Texture, boxes: list[tuple[tuple[int, int, int, int], Image.Image]]) -> Texture:
    px = np.array(tex.pixels, dtype=np.uint8, copy=True)
    h, w = px.shape[:2]
    for (x0, y0, x1, y1), flag in boxes:
        if x1 > w or y1 > h:
            raise ConfigError(f"flag slot ({x0}, {y0}, {x1}, {y1}) is outside the {w}x{h} flags texture")
        cell = np.asarray(flag.convert("RGB").resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS), np.uint8)
        px[y0:y1, x0:x1, :3] = cell
        if px.shape[2] == 4:
            px[y0:y1, x0:x1, 3] = 255
    return Texture(px, source=f"{tex.source} (dressed)", srgb=tex.srgb)


def dress_flags(scene: Scene, layout: Layout, delegations: Mapping[str, str]) -> int:
    """Paint ``scene``'s flag slots with the real flags of ``delegations`` (slot -> delegation
    code, name or placard); returns how many slots now show a real flag. ``scene.nodes`` is
    replaced by copies where a mesh uses the dressed texture; nothing shared is changed.
    ConfigError for a slot the layout does not have."""
    unknown = sorted(set(delegations) - set(layout.flag_slots))
    if unknown:
        known = ", ".join(sorted(layout.flag_slots)) or "none"
        raise ConfigError(f"{layout.scene}: no flag slot {', '.join(unknown)} (its slots: {known})")
    boxes = []
    for slot, delegation in delegations.items():
        flag = tag_flag(delegation) if delegation else None
        if flag is not None:
            boxes.append((layout.flag_slots[slot], flag))
    if not boxes:
        return 0
    dressed: dict[int, Material] = {}

    def material(m: Material) -> Material:
        if m.name != FLAGS_MATERIAL or m.base_color_texture is None:
            return m
        if id(m) not in dressed:
            dressed[id(m)] = dataclasses.replace(m, base_color_texture=_painted(m.base_color_texture, boxes))
        return dressed[id(m)]

    def copy(node: Node) -> Node:
        mesh = node.mesh
        if mesh is not None and material(mesh.material) is not mesh.material:
            mesh = dataclasses.replace(mesh, material=material(mesh.material))
        return dataclasses.replace(node, mesh=mesh, children=[copy(c) for c in node.children])

    scene.nodes = [copy(n) for n in scene.nodes]
    return len(boxes) if dressed else 0
