"""Dynamic resolution of the desktop window, its pure parts: the scale controller, the software
rasterizer detection and the status line's pixels (the window itself: tests/xr/test_desktop_window.py)."""

from __future__ import annotations

import numpy as np

from vrdiplomacy.render.dynres import ScaleController, software_renderer, status_image


def test_software_rasterizers_are_recognised_and_gpus_are_not() -> None:
    assert software_renderer("llvmpipe (LLVM 15.0.6, 256 bits)") == "llvmpipe"
    assert software_renderer("softpipe") == "softpipe"
    assert software_renderer("Google SwiftShader") == "SwiftShader"
    assert software_renderer("NVIDIA GeForce RTX 3060/PCIe/SSE2") is None
    assert software_renderer("Mesa Intel(R) UHD Graphics 620 (KBL GT2)") is None


def test_slow_frames_lower_the_scale_until_the_target_rate_holds() -> None:
    c = ScaleController(20.0, start=1.0, lo=0.2, hi=1.0, adjust_s=0.5)
    # a renderer whose frame time is 30 ms + 400 ms x (fraction of full-resolution pixels)
    for _ in range(200):
        c.frame(0.03 + 0.4 * c.scale**2)
    period = 0.03 + 0.4 * c.scale**2
    assert 1.0 / period >= 20.0 * 0.92  # holds the rate (within the controller's dead band)
    assert 1.0 / period <= 20.0 / 0.8 / 0.8  # and does not throw the picture away for nothing
    assert 0.2 < c.scale < 0.5


def test_fast_frames_raise_the_scale_to_the_top_and_the_floor_holds_on_hopeless_frames() -> None:
    c = ScaleController(20.0, start=0.35, lo=0.2, hi=1.0, adjust_s=0.5)
    for _ in range(1000):  # 10 s of 100 fps frames
        c.frame(0.01)
    assert c.scale == 1.0
    for _ in range(200):
        c.frame(1.0)
    assert c.scale == 0.2


def test_one_slow_frame_among_fast_ones_does_not_change_the_scale() -> None:
    c = ScaleController(20.0, start=0.5, lo=0.2, hi=1.0, adjust_s=0.5)
    periods = [0.045] * 10 + [2.0] + [0.045] * 10  # a hiccup (a swap that waited): the median ignores it
    changed = [c.frame(p) for p in periods]
    assert not any(changed) and c.scale == 0.5


def test_status_line_pixels_show_both_lines() -> None:
    one = status_image(("19.8 fps, 40% resolution (512x288)",))
    two = status_image(("19.8 fps, 40% resolution (512x288)", "software rendering (llvmpipe): quality lowered to hold 20 fps"))
    assert two.shape[0] > one.shape[0] and two.shape[1] > one.shape[1] and two.dtype == np.uint8
    amber = (two[..., 0] > 200) & (two[..., 1] > 150) & (two[..., 2] < 120)  # the hint is amber
    assert amber[one.shape[0]:].any() and not amber[: one.shape[0] // 2].any()
