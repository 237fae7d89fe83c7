"""The user's own files: one config TOML, and the folders for identities, state and cache.

Where they live follows each OS's convention:

========  ==============================================  ===========================================
OS        config (``config.toml``), identities, state      cache (built shims, downloads)
========  ==============================================  ===========================================
Linux     ``$XDG_CONFIG_HOME/vrdiplomacy`` (~/.config),   ``$XDG_CACHE_HOME/vrdiplomacy`` (~/.cache)
          state in ``$XDG_STATE_HOME/vrdiplomacy``
Windows   ``%APPDATA%\\vrdiplomacy``                       ``%LOCALAPPDATA%\\vrdiplomacy\\cache``
macOS     ``~/Library/Application Support/vrdiplomacy``   ``~/Library/Caches/vrdiplomacy``
========  ==============================================  ===========================================

``VRD_CONFIG`` names another config file. The config file has the sections of a gesture input
mapping (:mod:`vrdiplomacy.gestures.mapping`), read by ``join`` and ``demo`` (and
``gestures classify`` takes the same file with ``--mapping``)::

    [controller]              # how controller buttons curl the synthesized hand
    thumb_down = ["thumb_touch", "primary"]
    [controller.buttons]      # button shortcuts: a held button is a held gesture
    menu = "open_palms"
    [desktop.keys]            # desktop window: key -> gesture (replaces the default keys 1-0, H)
    "1" = "raise_hand"
    "h" = "handshake"

    [client]
    key_hold = 2.5            # seconds a gesture made with a key lasts
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.gestures.mapping import InputMapping, mapping_from_dict
from vrdiplomacy.platform.detect import MACOS, WINDOWS, os_name

APP = "vrdiplomacy"
CONFIG_FILE = "config.toml"


@dataclass(frozen=True)
class UserDirs:
    """The user's folders: ``config`` (config.toml), ``data`` (identities), ``state`` (relay
    certificate, logs), ``cache`` (rebuildable files)."""

    config: Path
    data: Path
    state: Path
    cache: Path


def user_dirs(platform: str | None = None, environ: Mapping[str, str] | None = None, home: Path | None = None) -> UserDirs:
    """The folders for this OS (see the module docstring); arguments default to this process's."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or env.get("USERPROFILE") or "~").expanduser() if home is None else home
    name = os_name(platform)
    if name == WINDOWS:
        roaming = Path(env.get("APPDATA") or home / "AppData" / "Roaming") / APP
        local = Path(env.get("LOCALAPPDATA") or home / "AppData" / "Local") / APP
        return UserDirs(roaming, roaming, local / "state", local / "cache")
    if name == MACOS:
        support = home / "Library" / "Application Support" / APP
        return UserDirs(support, support, support / "state", home / "Library" / "Caches" / APP)

    def xdg(var: str, default: Path) -> Path:
        v = env.get(var, "")
        return (Path(v) if v and Path(v).is_absolute() else default) / APP

    return UserDirs(xdg("XDG_CONFIG_HOME", home / ".config"), xdg("XDG_DATA_HOME", home / ".local" / "share"),
                    xdg("XDG_STATE_HOME", home / ".local" / "state"), xdg("XDG_CACHE_HOME", home / ".cache"))


@dataclass
class ClientSection:
    """``[client]``: ``key_hold`` seconds a gesture made with a desktop key lasts (0.2..30)."""

    key_hold: float = 2.5


@dataclass
class UserConfig:
    """The config file as read: ``path`` (None when there is none), the gesture input
    ``mapping``, ``desktop_keys`` (key name -> gesture, only when the file sets ``[desktop.keys]``;
    else the window's default keys) and the ``client`` section."""

    path: Path | None = None
    mapping: InputMapping = field(default_factory=InputMapping)
    desktop_keys: dict[str, str] | None = None
    client: ClientSection = field(default_factory=ClientSection)


def config_path(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("VRD_CONFIG"):
        return Path(env["VRD_CONFIG"])
    return user_dirs(platform, env).config / CONFIG_FILE


def load_user_config(path: Path | None = None) -> UserConfig:
    """Read the user's config file; none is fine (defaults), a malformed one is a ConfigError naming it."""
    explicit = path is not None or bool(os.environ.get("VRD_CONFIG"))
    p = path or config_path()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{p}: no such config file") from None
        return UserConfig()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read the config file ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML ({e})") from None
    return config_from_dict(data, p)


def config_from_dict(data: dict[str, Any], path: Path | None = None) -> UserConfig:
    where = f"{path}: " if path is not None else ""
    unknown = set(data) - {"controller", "desktop", "client"}
    if unknown:
        raise ConfigError(f"{where}unknown section(s) {', '.join(sorted(unknown))} (known: controller, desktop, client)")
    try:
        mapping = mapping_from_dict({k: v for k, v in data.items() if k in ("controller", "desktop")})
    except ConfigError as e:
        raise ConfigError(f"{where}{e}") from None
    keys = data.get("desktop", {}).get("keys")
    desktop_keys = dict(mapping.desktop.keys) if isinstance(keys, dict) else None
    if desktop_keys is not None:
        for k in desktop_keys:
            if not key_code_name(k):
                raise ConfigError(f"{where}[desktop.keys]: '{k}' is not a key name (a letter, a digit, or F1..F12)")
    client = data.get("client", {})
    if not isinstance(client, dict) or set(client) - {"key_hold"}:
        raise ConfigError(f"{where}[client]: only key_hold is known")
    try:
        hold = float(client.get("key_hold", 2.5))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}[client] key_hold must be a number of seconds") from None
    if not 0.2 <= hold <= 30.0:
        raise ConfigError(f"{where}[client] key_hold must be 0.2..30 seconds, got {hold:g}")
    return UserConfig(path, mapping, desktop_keys, ClientSection(hold))


def key_code_name(key: str) -> str | None:
    """The GLFW key constant name for a key as people write it ("h", "H", "1", "F5", "-"), or None."""
    k = key.strip()
    named = {"-": "MINUS", "=": "EQUAL", ",": "COMMA", ".": "PERIOD", "/": "SLASH", ";": "SEMICOLON", "space": "SPACE"}
    if k.lower() in named or k in named:
        return "KEY_" + named.get(k, named.get(k.lower(), ""))
    if len(k) == 1 and (k.isalpha() or k.isdigit()) and k.isascii():
        return "KEY_" + k.upper()
    if k[:1] in "fF" and k[1:].isascii() and k[1:].isdigit() and 1 <= int(k[1:]) <= 12:
        return "KEY_F" + k[1:]
    return None
