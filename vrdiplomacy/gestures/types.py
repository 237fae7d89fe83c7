"""Gesture names, hands, point targets and detections (the classifier's output)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ConfigError


class Gesture(str, enum.Enum):
    """Every non-verbal gesture. The value is the gesture's name (desktop key name, JSON name)."""

    RAISE_HAND = "raise_hand"  # a floor request
    LOWER_HAND = "lower_hand"  # withdraws it
    NOD = "nod"  # assent
    HEAD_SHAKE = "head_shake"  # dissent
    THUMBS_UP = "thumbs_up"
    THUMBS_DOWN = "thumbs_down"
    WAVE = "wave"  # greeting
    APPLAUSE = "applause"  # repeated two-hand claps
    POINT = "point"  # with a target: a delegate or a screen
    OPEN_PALMS = "open_palms"  # "wait"
    HANDSHAKE = "handshake"  # right hand offered; completes only when both accept

    @classmethod
    def parse(cls, name: str) -> "Gesture":
        try:
            return cls(name)
        except ValueError:
            known = ", ".join(g.value for g in cls)
            raise ConfigError(f"unknown gesture {name!r} (known: {known})") from None


GESTURES: tuple[Gesture, ...] = tuple(Gesture)


class Hand(str, enum.Enum):
    """Which hand made a gesture: ``none`` for head gestures, ``both`` for two-hand gestures."""

    NONE = "none"
    LEFT = "left"
    RIGHT = "right"
    BOTH = "both"


@dataclass(frozen=True)
class Target:
    """Something one can point at: a delegate or a screen, a sphere of ``radius`` metres."""

    name: str
    position: tuple[float, float, float]
    radius: float = 0.3

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "position": list(self.position), "radius": self.radius}

    @classmethod
    def from_dict(cls, d: Any) -> "Target":
        try:
            pos = tuple(float(v) for v in d["position"])
            if len(pos) != 3:
                raise ValueError("position needs 3 numbers")
            radius = float(d.get("radius", 0.3))
            if not radius > 0:
                raise ValueError("radius must be > 0")
            return cls(str(d["name"]), (pos[0], pos[1], pos[2]), radius)
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigError(f"bad target {d!r}: {e}") from None


def ray_target(
    origin: npt.ArrayLike,
    direction: npt.ArrayLike,
    targets: "list[Target] | tuple[Target, ...]",
    slack_deg: float = 4.0,
    max_dist: float = float("inf"),
) -> str | None:
    """Name of the target a ray hits first (sphere test, ``slack_deg`` of angular slack, no
    further than ``max_dist`` metres), or None."""
    o = np.asarray(origin, dtype=np.float64)
    d = np.asarray(direction, dtype=np.float64)
    n = float(np.linalg.norm(d))
    if n == 0.0 or not targets:
        return None
    d = d / n
    best: tuple[float, str] | None = None
    slack = float(np.tan(np.radians(slack_deg)))
    for t in targets:
        c = np.asarray(t.position, dtype=np.float64) - o
        along = float(c @ d)
        if along <= 0.0 or along > max_dist:
            continue
        miss = float(np.linalg.norm(c - along * d))
        if miss <= t.radius + slack * along and (best is None or along < best[0]):
            best = (along, t.name)
    return None if best is None else best[1]


@dataclass(frozen=True)
class Detection:
    """A recognized gesture: its interval [onset, offset] in seconds, hand, confidence, target."""

    gesture: Gesture
    hand: Hand
    onset: float
    offset: float
    confidence: float
    target: str | None = None
    emitted_at: float = 0.0  # frame time at which the recognizer confirmed it (latency)

    def to_dict(self) -> dict[str, Any]:
        return {
            "gesture": self.gesture.value,
            "hand": self.hand.value,
            "onset": round(self.onset, 3),
            "offset": round(self.offset, 3),
            "confidence": round(self.confidence, 3),
            "target": self.target,
        }
