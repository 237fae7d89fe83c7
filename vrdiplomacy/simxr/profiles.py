"""Interaction profiles the simulated headset knows: which input paths each has, per hand,
and which device value drives each path (OpenXR 1.0 spec, section 6.4 "Interaction Profiles")."""

from __future__ import annotations

from dataclasses import dataclass

SIMPLE = "/interaction_profiles/khr/simple_controller"
TOUCH = "/interaction_profiles/oculus/touch_controller"
INDEX = "/interaction_profiles/valve/index_controller"
VIVE = "/interaction_profiles/htc/vive_controller"
WMR = "/interaction_profiles/microsoft/motion_controller"

_POSES = ("input/grip/pose", "input/aim/pose", "output/haptic")
_STICK = ("input/thumbstick", "input/thumbstick/x", "input/thumbstick/y", "input/thumbstick/click")
_PAD = ("input/trackpad", "input/trackpad/x", "input/trackpad/y", "input/trackpad/click", "input/trackpad/touch")

# profile -> (paths on both hands, left-only paths, right-only paths)
PROFILES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    SIMPLE: (("input/select/click", "input/menu/click", *_POSES), (), ()),
    TOUCH: (
        ("input/squeeze/value", "input/trigger/value", "input/trigger/touch", *_STICK, "input/thumbstick/touch",
         "input/thumbrest/touch", *_POSES),
        ("input/x/click", "input/x/touch", "input/y/click", "input/y/touch", "input/menu/click"),
        ("input/a/click", "input/a/touch", "input/b/click", "input/b/touch", "input/system/click"),
    ),
    INDEX: (
        ("input/system/click", "input/system/touch", "input/a/click", "input/a/touch", "input/b/click", "input/b/touch",
         "input/squeeze/value", "input/squeeze/force", "input/trigger/click", "input/trigger/value", "input/trigger/touch",
         *_STICK, "input/thumbstick/touch", "input/trackpad/x", "input/trackpad/y", "input/trackpad/force",
         "input/trackpad/touch", *_POSES),
        (), (),
    ),
    VIVE: (
        ("input/system/click", "input/squeeze/click", "input/menu/click", "input/trigger/click", "input/trigger/value",
         *_PAD, *_POSES),
        (), (),
    ),
    WMR: (
        ("input/menu/click", "input/squeeze/click", "input/trigger/value", *_STICK, *_PAD, *_POSES),
        (), (),
    ),
}

# component -> (device field, kind); kind: "float", "bool", "vec2", "x", "y", "pose", "haptic"
_SOURCES: dict[str, tuple[str, str]] = {
    "select/click": ("trigger", "float"),
    "trigger/value": ("trigger", "float"),
    "trigger/click": ("trigger", "float"),
    "trigger/touch": ("trigger_touch", "bool"),
    "squeeze/value": ("squeeze", "float"),
    "squeeze/force": ("squeeze", "float"),
    "squeeze/click": ("squeeze", "float"),
    "thumbstick": ("thumbstick", "vec2"),
    "thumbstick/x": ("thumbstick", "x"),
    "thumbstick/y": ("thumbstick", "y"),
    "thumbstick/click": ("thumbstick_click", "bool"),
    "thumbstick/touch": ("thumb_touch", "bool"),
    "thumbrest/touch": ("thumb_touch", "bool"),
    "trackpad": ("thumbstick", "vec2"),
    "trackpad/x": ("thumbstick", "x"),
    "trackpad/y": ("thumbstick", "y"),
    "trackpad/click": ("thumbstick_click", "bool"),
    "trackpad/touch": ("thumb_touch", "bool"),
    "trackpad/force": ("thumbstick_click", "bool"),
    "a/click": ("primary", "bool"),
    "x/click": ("primary", "bool"),
    "b/click": ("secondary", "bool"),
    "y/click": ("secondary", "bool"),
    "a/touch": ("thumb_touch", "bool"),
    "x/touch": ("thumb_touch", "bool"),
    "b/touch": ("thumb_touch", "bool"),
    "y/touch": ("thumb_touch", "bool"),
    "menu/click": ("menu", "bool"),
    "system/click": ("menu", "bool"),
    "system/touch": ("menu", "bool"),
    "grip/pose": ("grip", "pose"),
    "aim/pose": ("aim", "pose"),
    "haptic": ("haptic", "haptic"),
}


@dataclass(frozen=True)
class Source:
    """One bound input: the hand ("left"/"right"), the device field and how to read it."""

    hand: str
    field: str
    kind: str


def valid_paths(profile: str) -> set[str]:
    both, left, right = PROFILES[profile]
    out = set()
    for hand, extra in (("left", left), ("right", right)):
        for p in (*both, *extra):
            out.add(f"/user/hand/{hand}/{p}")
    return out


def resolve(profile: str, binding: str) -> Source | None:
    """The source a binding path names in ``profile``, or None when the profile lacks it.

    A path naming a component without its feature (``.../input/trigger``) resolves to the
    value, else the click, as the spec allows.
    """
    if profile not in PROFILES:
        return None
    paths = valid_paths(profile)
    if binding not in paths:
        for feature in ("value", "click"):
            if f"{binding}/{feature}" in paths:
                binding = f"{binding}/{feature}"
                break
        else:
            return None
    parts = binding.split("/")
    if len(parts) < 6 or parts[1:3] != ["user", "hand"]:
        return None
    hand = parts[3]
    component = "/".join(parts[5:])
    src = _SOURCES.get(component)
    if src is None:
        return None
    return Source(hand, src[0], src[1])
