"""XR layer: one backend interface for three modes (OpenXR, desktop window, offscreen EGL).

:mod:`vrdiplomacy.xr.backend` has the interface, :func:`vrdiplomacy.xr.factory.create_backend` starts one; only
:mod:`vrdiplomacy.xr.openxr_backend` imports pyopenxr, and only when the OpenXR mode is tried.
"""
