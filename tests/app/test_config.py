"""The user's config file and folders, per OS; ``join`` and ``demo`` read the file.

Fails on main 3e2635d: there was no user config file (key and controller overrides existed
only as ``gestures classify --mapping``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vrdiplomacy.config import config_from_dict, key_code_name, load_user_config, user_dirs
from vrdiplomacy.errors import ConfigError
from vrdiplomacy.xr.desktop import key_codes

ROOT = Path(__file__).resolve().parents[2]
HOME = Path("/home/ada")


def test_folders_follow_each_os() -> None:
    lin = user_dirs("linux", {}, HOME)
    assert lin.config == HOME / ".config/vrdiplomacy" and lin.cache == HOME / ".cache/vrdiplomacy"
    assert lin.data == HOME / ".local/share/vrdiplomacy" and lin.state == HOME / ".local/state/vrdiplomacy"
    assert user_dirs("linux", {"XDG_CONFIG_HOME": "/cfg"}, HOME).config == Path("/cfg/vrdiplomacy")
    assert user_dirs("linux", {"XDG_CONFIG_HOME": "relative"}, HOME).config == HOME / ".config/vrdiplomacy"
    win = user_dirs("win32", {"APPDATA": r"C:\Users\ada\AppData\Roaming", "LOCALAPPDATA": r"C:\Users\ada\AppData\Local"}, HOME)
    assert str(win.config).endswith("Roaming/vrdiplomacy") or str(win.config).endswith(r"Roaming\vrdiplomacy")
    assert "Local" in str(win.cache) and win.data == win.config
    mac = user_dirs("darwin", {}, HOME)
    assert mac.config == HOME / "Library/Application Support/vrdiplomacy" and mac.cache == HOME / "Library/Caches/vrdiplomacy"


def test_config_sections() -> None:
    c = config_from_dict({"desktop": {"keys": {"h": "wave", "F2": "nod"}}, "controller": {"thumb_down": ["primary"]},
                          "client": {"key_hold": 1.5}})
    assert c.desktop_keys == {"h": "wave", "F2": "nod"} and c.mapping.controller.thumb_down == ("primary",)
    assert c.client.key_hold == 1.5
    assert config_from_dict({}).desktop_keys is None  # no [desktop.keys]: the window's default keys
    assert key_codes({"h": "wave", "-": "handshake"}) == {"KEY_H": "wave", "KEY_MINUS": "handshake"}
    assert key_code_name("f12") == "KEY_F12" and key_code_name("ctrl") is None
    for bad, msg in (({"colour": {}}, "unknown section"), ({"client": {"key_hold": 99}}, "0.2..30"),
                     ({"desktop": {"keys": {"ctrl": "nod"}}}, "not a key name"),
                     ({"desktop": {"keys": {"1": "dance"}}}, "dance")):
        with pytest.raises(ConfigError, match=msg):
            config_from_dict(bad)


def test_missing_default_file_is_fine_but_a_named_one_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VRD_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_user_config().path is None
    (tmp_path / "vrdiplomacy").mkdir()
    (tmp_path / "vrdiplomacy" / "config.toml").write_text('[desktop.keys]\n"g" = "wave"\n')
    assert load_user_config().desktop_keys == {"g": "wave"}
    monkeypatch.setenv("VRD_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="no such config file"):
        load_user_config()


@pytest.mark.parametrize("cmd", [["join", "--mode", "offscreen", "--frames", "1"], ["demo", "--headless", "--duration", "1", "--out", "OUT"]])
def test_join_and_demo_read_the_config_file(cmd: list[str], tmp_path: Path) -> None:
    cfg = tmp_path / "vrdiplomacy"
    cfg.mkdir()
    (cfg / "config.toml").write_text("[client]\nkey_hold = 'long'\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "VRD_CONFIG")}
    env.update(XDG_CONFIG_HOME=str(tmp_path), PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless", PYTHONPATH=str(ROOT))
    cmd = [str(tmp_path / "out") if c == "OUT" else c for c in cmd]
    p = subprocess.run([sys.executable, "-m", "vrdiplomacy", *cmd], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines()[-1] == f"error: {cfg / 'config.toml'}: [client] key_hold must be a number of seconds"
