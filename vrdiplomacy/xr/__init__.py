"""XR layer: one backend interface for three modes (OpenXR, desktop window, offscreen EGL).

:mod:`vrdiplomacy.xr.backend` has the interface and :func:`create_backend`; only
:mod:`vrdiplomacy.xr.openxr_backend` imports pyopenxr, and only when the OpenXR mode is tried.
"""
