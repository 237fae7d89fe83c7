"""A simulated-headset script in which one delegate makes every gesture once, clearly.

The motion comes from the project's simulated performer (:mod:`vrdiplomacy.gestures.perform`)
with tracking noise and dropouts almost off, so the script tests the wiring (headset -> OpenXR
-> live client -> recognizer -> relay -> peer), not the recognizer's edge cases. Each frame
becomes one timeline key: the head pose, and per hand either all 26 joints (hand tracking) or
the controller's trigger, grip, thumb-rest sensor and grip/aim poses (controllers, with the
headset's hand tracking off). Poses are in the stage space; the performer sits at the stage
origin facing -Z, its handshake partner in front of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vrdiplomacy.input.frame import HandFrame, InputFrame

RATE = 30.0  # frames per second of the performance and of the simulated headset


def _pose(p: Any) -> dict[str, list[float]]:
    return {"position": [round(float(v), 5) for v in p.position],
            "orientation": [round(float(v), 6) for v in p.orientation]}


def _hand(h: HandFrame, source: str) -> dict[str, Any]:
    if source == "controller":
        c = h.controller
        if c.grip is None:
            return {"active": False, "hand": False}
        out: dict[str, Any] = {"active": True, "trigger": round(c.trigger, 4), "squeeze": round(c.squeeze, 4),
                               "thumb_touch": bool(c.thumb_touch), "trigger_touch": bool(c.trigger_touch),
                               "grip": _pose(c.grip), "hand": False}
        if c.aim is not None:
            out["aim"] = _pose(c.aim)
        return out
    if h.joints is None:
        return {"active": False, "hand": False}
    j = h.joints
    rows = np.concatenate([j.positions, j.orientations, j.radii[:, None]], axis=1)
    return {"active": False, "hand": {"joints": np.round(rows, 5).tolist(), "valid": [bool(v) for v in j.valid]}}


def performance(source: str, seed: int = 0) -> tuple[list[InputFrame], list[dict[str, Any]], Any]:
    """(frames, labels, partner target) of one clean performance of every gesture."""
    from vrdiplomacy.gestures.background import perform_gestures
    from vrdiplomacy.gestures.perform import Performer

    p = Performer("qa", source, noise=0.0005, dropout_rate=1e-6, eye_height=1.2)
    frames, labels, targets = perform_gestures(p, np.random.default_rng(seed), 1, RATE)
    partner = next(lab["target"] for lab in labels if lab["gesture"] == "handshake")
    return frames, labels, next(t for t in targets if t.name == partner)


def write_script(path: Path, source: str, seed: int = 0, resolution: tuple[int, int] = (96, 72),
                 capture: tuple[int, ...] = ()) -> tuple[list[dict[str, Any]], Any]:
    """Write the script (JSON) for ``source`` ("articulated" or "controller"); returns the
    performance's labels and the handshake partner's target (stage coordinates)."""
    frames, labels, partner = performance(source, seed)
    keys = [{"frame": i, "head": _pose(f.head), "left": _hand(f.left, source), "right": _hand(f.right, source)}
            for i, f in enumerate(frames)]
    script = {
        "headset": {"fps": RATE, "realtime": True, "resolution": list(resolution), "hand_tracking": source != "controller",
                    "profile": "/interaction_profiles/oculus/touch_controller", "capture": list(capture)},
        "key": keys,
        "event": [{"frame": len(frames) + 2, "type": "exit"}],
        "expect": {"gestures": sorted({lab["gesture"] for lab in labels})},
    }
    path.write_text(json.dumps(script), encoding="utf-8")
    return labels, partner
