"""The simulated headset's parts: shim build cache and manifest, script parsing, the runtime's checks."""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.simxr.build import LIBRARY_NAME, ensure_shim
from vrdiplomacy.simxr.timeline import parse_script


def test_shim_is_built_once_into_a_cache_keyed_by_source_hash(tmp_path: Path) -> None:
    a = ensure_shim(tmp_path)
    assert a.library.parent == tmp_path / a.source_hash and a.library.name == LIBRARY_NAME
    manifest = json.loads(a.manifest.read_text())
    assert manifest["file_format_version"] == "1.0.0" and manifest["runtime"]["library_path"] == str(a.library)
    mtime = a.library.stat().st_mtime_ns
    b = ensure_shim(tmp_path)
    assert b == a and b.library.stat().st_mtime_ns == mtime  # not rebuilt
    lib = ctypes.CDLL(str(a.library))
    assert hasattr(lib, "xrNegotiateLoaderRuntimeInterface") and hasattr(lib, "vrd_simxr_register")


def test_default_cache_follows_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    shim = ensure_shim()
    assert str(shim.library).startswith(str(tmp_path / "vrdiplomacy" / "simxr"))


def test_negotiation_refuses_when_no_runtime_is_registered(tmp_path: Path) -> None:
    lib = ctypes.CDLL(str(ensure_shim(tmp_path).library))
    lib.vrd_simxr_clear()

    class Info(ctypes.Structure):
        _fields_ = [("t", ctypes.c_int32), ("v", ctypes.c_uint32), ("size", ctypes.c_size_t), ("mn", ctypes.c_uint32),
                    ("mx", ctypes.c_uint32), ("amin", ctypes.c_uint64), ("amax", ctypes.c_uint64)]

    class Req(ctypes.Structure):
        _fields_ = [("t", ctypes.c_int32), ("v", ctypes.c_uint32), ("size", ctypes.c_size_t), ("iv", ctypes.c_uint32),
                    ("api", ctypes.c_uint64), ("gipa", ctypes.c_void_p)]

    info = Info(1, 1, ctypes.sizeof(Info), 1, 1, 1 << 48, (1 << 48) | (1 << 32))
    req = Req(3, 1, ctypes.sizeof(Req))
    assert lib.xrNegotiateLoaderRuntimeInterface(ctypes.byref(info), ctypes.byref(req)) == -6
    assert lib.vrd_simxr_register(b"xrCreateInstance", ctypes.c_void_p(1)) == 0
    assert lib.xrNegotiateLoaderRuntimeInterface(ctypes.byref(info), ctypes.byref(req)) == 0
    assert req.gipa and req.api == 1 << 48  # the shim reports 1.0.0 until the runtime sets its version
    info.size = 8  # a wrong struct size is refused
    assert lib.xrNegotiateLoaderRuntimeInterface(ctypes.byref(info), ctypes.byref(req)) == -6
    lib.vrd_simxr_clear()


def test_timeline_holds_keys_and_interpolates_linear_poses() -> None:
    tl = parse_script({"keys": [
        {"frame": 0, "head": {"position": [0, 1.6, 0]}, "left": {"trigger": 0.5}},
        {"frame": 10, "head": {"position": [1, 1.6, 0], "interp": "linear"}},
        {"time": 0.5, "left": {"trigger": 0.0, "primary": True}},
    ]})
    assert tl.state_at(5).head.position[0] == pytest.approx(0.5)
    assert tl.state_at(10).head.position[0] == 1.0 and tl.state_at(30).head.position[0] == 1.0
    assert tl.state_at(44).left.trigger == 0.5 and tl.state_at(45).left.trigger == 0.0 and tl.state_at(45).left.primary


def test_timeline_named_hand_shapes_and_untracked_hands() -> None:
    tl = parse_script({"keys": [{"frame": 0, "right": {"grip": {"position": [0.2, 1.0, -0.3]}, "hand": {"shape": "fist"}},
                                 "left": {"hand": False}}]})
    s = tl.state_at(0)
    assert s.left.hand is None and s.right.hand is not None and s.right.hand.all_valid
    # the hand holds the controller by the OpenXR grip convention: with an identity grip (-Z
    # forward through the fist) the palm sits 2 cm right of the grip point (out of the back of
    # a right hand) and the fingers run down along grip -Y (fails on main 3e2635d: wrist on the grip)
    hand = s.right.hand.positions
    assert np.allclose(hand[0], [0.22, 1.0, -0.3], atol=1e-3)
    knuckles = hand[12] - hand[1]  # middle knuckle minus wrist
    assert knuckles[1] < -0.08 and abs(knuckles[2]) < 0.02


@pytest.mark.parametrize("bad, words", [
    ({"headset": {"fps": "fast"}}, "bad headset setting"),
    ({"headset": {"nonsense": 1}}, "unknown headset setting"),
    ({"headset": {"profile": "oculus"}}, "not an interaction profile"),
    ({"keys": [{"head": {}}]}, "needs 'frame' or 'time'"),
    ({"keys": [{"frame": 0, "hand": {}}]}, "unknown field"),
    ({"keys": [{"frame": 0, "left": {"hand": {"shape": "claw"}}}]}, "unknown hand shape"),
    ({"keys": [{"frame": 0, "left": {"hand": {"joints": [[0] * 8] * 25}}}]}, "26 rows"),
    ({"events": [{"frame": 1, "type": "explode"}]}, "type must be one of"),
    ({"events": [{"frame": 1, "type": "profile_change"}]}, "profile_change needs profile"),
])
def test_malformed_scripts_are_clear_errors(bad: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        parse_script(bad, "s.json")
