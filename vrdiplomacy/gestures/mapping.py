"""Controller and desktop-key mappings for gestures, with defaults, loadable from TOML.

Controllers give a hand shape (see :mod:`vrdiplomacy.gestures.synth`); the gesture is then made
by moving the controller as one would move the hand. Default controller mapping:

=================  ==========================================================================
hand shape         controller
=================  ==========================================================================
open hand          no buttons held
point              grip held, index finger off the trigger, thumb on the buttons/stick
fist               grip + trigger held, thumb on the buttons/stick
thumb out (up/dn)  grip + trigger held, thumb lifted off (controllers without touch sensing:
                   just grip + trigger); the controller's roll decides up or down
=================  ==========================================================================

A TOML file overrides any field::

    [controller]
    index_axis = "trigger"          # which analog input curls the index finger
    fingers_axis = "squeeze"        # which curls middle, ring and little fingers
    thumb_down = ["thumb_touch", "primary", "secondary", "thumbstick_click"]
    touch_curl = 0.3                # index curl while the finger only rests on the trigger
    thumb_up_grip = 0.5             # grip and trigger above which a lifted thumb stretches out
    hand_scale = 1.0

    [controller.buttons]            # optional shortcuts: button -> gesture (none by default)
    menu = "open_palms"

    [desktop.keys]                  # desktop mode: key -> gesture
    "1" = "raise_hand"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.gestures.types import Gesture

AXES = ("trigger", "squeeze")
BUTTONS = ("thumb_touch", "trigger_touch", "primary", "secondary", "menu", "thumbstick_click")

DEFAULT_DESKTOP_KEYS: dict[str, str] = {
    "1": "raise_hand",
    "2": "lower_hand",
    "3": "nod",
    "4": "head_shake",
    "5": "thumbs_up",
    "6": "thumbs_down",
    "7": "wave",
    "8": "applause",
    "9": "point",
    "0": "open_palms",
    "-": "handshake",
}


@dataclass
class ControllerMapping:
    """How controller state becomes a hand (defaults in the module docstring).

    Fields: ``index_axis`` analog input that curls the index finger; ``fingers_axis`` the one
    that curls the other three; ``thumb_down`` buttons/touch sensors meaning "thumb resting on the
    controller"; ``touch_curl`` index curl while merely touching the trigger; ``thumb_up_grip``
    grip and trigger level above which a lifted thumb stretches (thumbs up/down); ``hand_scale`` synthesized
    hand size; ``buttons`` optional button -> gesture shortcuts (held button = gesture held).
    """

    index_axis: str = "trigger"
    fingers_axis: str = "squeeze"
    thumb_down: tuple[str, ...] = ("thumb_touch", "primary", "secondary", "thumbstick_click")
    touch_curl: float = 0.3
    thumb_up_grip: float = 0.5
    hand_scale: float = 1.0
    buttons: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, axis in (("index_axis", self.index_axis), ("fingers_axis", self.fingers_axis)):
            if axis not in AXES:
                raise ConfigError(f"controller.{name} must be one of {', '.join(AXES)}, not {axis!r}")
        for b in self.thumb_down:
            if b not in BUTTONS:
                raise ConfigError(f"controller.thumb_down: unknown input {b!r} (known: {', '.join(BUTTONS)})")
        for b, g in self.buttons.items():
            if b not in BUTTONS:
                raise ConfigError(f"controller.buttons: unknown button {b!r} (known: {', '.join(BUTTONS)})")
            Gesture.parse(g)
        if not 0.0 <= self.touch_curl <= 1.0 or not 0.0 < self.thumb_up_grip <= 1.0:
            raise ConfigError("controller.touch_curl and thumb_up_grip must lie in [0, 1]")
        if not 0.5 <= self.hand_scale <= 1.5:
            raise ConfigError("controller.hand_scale must lie in [0.5, 1.5]")


@dataclass
class DesktopKeys:
    """Desktop mode: ``keys`` maps a key name (as the window system names it) to a gesture."""

    keys: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_DESKTOP_KEYS))

    def __post_init__(self) -> None:
        for k, g in self.keys.items():
            Gesture.parse(g)
            if not k:
                raise ConfigError("desktop.keys: empty key name")

    def gestures_for(self, pressed: set[str] | frozenset[str]) -> frozenset[str]:
        """Gesture names for the keys held now (what goes into ``InputFrame.keys``)."""
        return frozenset(self.keys[k] for k in pressed if k in self.keys)


@dataclass
class InputMapping:
    """Both mappings: ``controller`` (:class:`ControllerMapping`), ``desktop`` (:class:`DesktopKeys`)."""

    controller: ControllerMapping = field(default_factory=ControllerMapping)
    desktop: DesktopKeys = field(default_factory=DesktopKeys)


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of section ``name`` (empty when absent); a section that is not a table is a ConfigError."""
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"[{name}] must be a table, not {section!r}")
    return dict(section)


def mapping_from_dict(data: dict[str, Any]) -> InputMapping:
    unknown = set(data) - {"controller", "desktop"}
    if unknown:
        raise ConfigError(f"unknown mapping section(s): {', '.join(sorted(unknown))}")
    ctl = _table(data, "controller")
    names = {f.name for f in fields(ControllerMapping)}
    bad = set(ctl) - names
    if bad:
        raise ConfigError(f"unknown controller setting(s): {', '.join(sorted(bad))}")
    if "thumb_down" in ctl:
        if not isinstance(ctl["thumb_down"], list):
            raise ConfigError(f"controller.thumb_down must be a list of inputs, not {ctl['thumb_down']!r}")
        ctl["thumb_down"] = tuple(ctl["thumb_down"])
    if not isinstance(ctl.get("buttons", {}), dict):
        raise ConfigError(f"[controller.buttons] must be a table of button = gesture, not {ctl['buttons']!r}")
    try:
        controller = ControllerMapping(**ctl)
    except TypeError as e:
        raise ConfigError(f"bad controller mapping: {e}") from None
    desk = _table(data, "desktop")
    if set(desk) - {"keys"}:
        raise ConfigError(f"unknown desktop setting(s): {', '.join(sorted(set(desk) - {'keys'}))}")
    keys = desk.get("keys")
    desktop = DesktopKeys({str(k): str(v) for k, v in keys.items()}) if isinstance(keys, dict) else DesktopKeys()
    return InputMapping(controller, desktop)


def load_mapping(path: str | Path) -> InputMapping:
    """Read a TOML mapping file; a missing or malformed file is a :class:`ConfigError`."""
    try:
        with open(path, "rb") as f:
            data = tomllib.loads(f.read().decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"mapping {path} is not UTF-8 text") from None
    except OSError as e:
        raise ConfigError(f"cannot read mapping {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"mapping {path} is not valid TOML: {e}") from None
    return mapping_from_dict(data)
