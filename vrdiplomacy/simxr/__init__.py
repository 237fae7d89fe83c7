"""The simulated headset: an OpenXR runtime in Python behind the real Khronos loader.

:class:`vrdiplomacy.simxr.runtime.SimulatedHeadset` compiles a small C shim on first use
(:mod:`vrdiplomacy.simxr.build`), registers its entry points and points ``XR_RUNTIME_JSON`` at
the shim's manifest; :mod:`vrdiplomacy.simxr.timeline` reads the scripts it plays.
"""
