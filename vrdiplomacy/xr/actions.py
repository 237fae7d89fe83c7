"""The app's one action set and its suggested bindings per interaction profile (plain data).

Actions have the subaction paths ``/user/hand/left`` and ``/user/hand/right``. Every
profile's list names only paths that profile has (OpenXR 1.0 section 6.4), so a runtime
accepts it whole; a runtime that rejects a profile anyway (an unknown or partial profile) is
tolerated: the backend logs it and carries on with the others.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

ACTION_SET_NAME = "vrdiplomacy"
ACTION_SET_LOCALIZED = "Diplomacy"
HANDS = ("left", "right")


class Kind(enum.Enum):
    BOOLEAN = 1
    FLOAT = 2
    VECTOR2F = 3
    POSE = 4
    VIBRATION = 100


@dataclass(frozen=True)
class ActionSpec:
    name: str
    kind: Kind
    localized: str


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("grip_pose", Kind.POSE, "Grip pose"),
    ActionSpec("aim_pose", Kind.POSE, "Aim pose"),
    ActionSpec("trigger", Kind.FLOAT, "Trigger"),
    ActionSpec("squeeze", Kind.FLOAT, "Squeeze"),
    ActionSpec("thumbstick", Kind.VECTOR2F, "Thumbstick"),
    ActionSpec("thumbstick_click", Kind.BOOLEAN, "Thumbstick click"),
    ActionSpec("primary", Kind.BOOLEAN, "Primary button"),
    ActionSpec("secondary", Kind.BOOLEAN, "Secondary button"),
    ActionSpec("menu", Kind.BOOLEAN, "Menu"),
    ActionSpec("thumb_touch", Kind.BOOLEAN, "Thumb touch"),
    ActionSpec("trigger_touch", Kind.BOOLEAN, "Trigger touch"),
    ActionSpec("haptic", Kind.VIBRATION, "Haptics"),
)

SIMPLE = "/interaction_profiles/khr/simple_controller"
TOUCH = "/interaction_profiles/oculus/touch_controller"
INDEX = "/interaction_profiles/valve/index_controller"
VIVE = "/interaction_profiles/htc/vive_controller"
WMR = "/interaction_profiles/microsoft/motion_controller"


def _both(action: str, component: str) -> list[tuple[str, str]]:
    return [(action, f"/user/hand/{h}/{component}") for h in HANDS]


def _common() -> list[tuple[str, str]]:
    return _both("grip_pose", "input/grip/pose") + _both("aim_pose", "input/aim/pose") + _both("haptic", "output/haptic")


# profile -> [(action name, binding path)]
BINDINGS: dict[str, list[tuple[str, str]]] = {
    SIMPLE: _common() + _both("trigger", "input/select/click") + _both("menu", "input/menu/click"),
    TOUCH: _common()
    + _both("trigger", "input/trigger/value")
    + _both("squeeze", "input/squeeze/value")
    + _both("thumbstick", "input/thumbstick")
    + _both("thumbstick_click", "input/thumbstick/click")
    + _both("thumb_touch", "input/thumbstick/touch")
    + _both("trigger_touch", "input/trigger/touch")
    + [("primary", "/user/hand/left/input/x/click"), ("primary", "/user/hand/right/input/a/click"),
       ("secondary", "/user/hand/left/input/y/click"), ("secondary", "/user/hand/right/input/b/click"),
       ("menu", "/user/hand/left/input/menu/click")],
    INDEX: _common()
    + _both("trigger", "input/trigger/value")
    + _both("squeeze", "input/squeeze/value")
    + _both("thumbstick", "input/thumbstick")
    + _both("thumbstick_click", "input/thumbstick/click")
    + _both("thumb_touch", "input/thumbstick/touch")
    + _both("trigger_touch", "input/trigger/touch")
    + _both("primary", "input/a/click")
    + _both("secondary", "input/b/click")
    + _both("menu", "input/system/click"),
    VIVE: _common()
    + _both("trigger", "input/trigger/value")
    + _both("squeeze", "input/squeeze/click")
    + _both("thumbstick", "input/trackpad")
    + _both("thumbstick_click", "input/trackpad/click")
    + _both("thumb_touch", "input/trackpad/touch")
    + _both("menu", "input/menu/click"),
    WMR: _common()
    + _both("trigger", "input/trigger/value")
    + _both("squeeze", "input/squeeze/click")
    + _both("thumbstick", "input/thumbstick")
    + _both("thumbstick_click", "input/thumbstick/click")
    + _both("thumb_touch", "input/trackpad/touch")
    + _both("primary", "input/trackpad/click")
    + _both("menu", "input/menu/click"),
}

PROFILES = tuple(BINDINGS)


def action(name: str) -> ActionSpec:
    for a in ACTIONS:
        if a.name == name:
            return a
    raise KeyError(name)
