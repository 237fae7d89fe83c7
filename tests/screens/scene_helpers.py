"""Small scene pieces for the meeting layer's tests."""

from __future__ import annotations

import numpy as np

from vrdiplomacy.scene.model import Material, Mesh, Node


def occluder(center: tuple[float, float, float], size: tuple[float, float, float]) -> Node:
    """An emissive green box (lit or not, it reads green)."""
    c = np.asarray(center, np.float32)
    h = np.asarray(size, np.float32) / 2
    pos, nrm, idx = [], [], []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            n = np.zeros(3, np.float32)
            n[axis] = sign
            u = np.zeros(3, np.float32)
            u[(axis + 1) % 3] = 1.0
            v = np.cross(n, u).astype(np.float32)
            base = len(pos)
            for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                pos.append(c + (n + su * u + sv * v) * h)
                nrm.append(n)
            idx += [base, base + 1, base + 2, base, base + 2, base + 3]
    m = Material("block", (0.0, 0.0, 0.0, 1.0), emissive=(0.0, 0.8, 0.0), double_sided=True)
    return Node("block", Mesh("block", np.array(pos), np.array(nrm), np.array(idx, np.uint32), m))
