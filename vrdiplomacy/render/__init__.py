"""The renderer: the only code that calls GL (:mod:`vrdiplomacy.render.renderer`).

This package's other modules are plain data and numpy (targets, settings, frame statistics,
avatar geometry, the placard atlas, static batching, shader sources); importing them loads no
native library. Import :mod:`vrdiplomacy.render.renderer` only after choosing a GL platform
(:func:`vrdiplomacy.platform.create_context`).
"""

from vrdiplomacy.render.types import FRAME_STATS, FramebufferTarget, FrameStats, RendererSettings, Target, TextureLayerTarget

__all__ = ["FRAME_STATS", "FramebufferTarget", "FrameStats", "RendererSettings", "Target", "TextureLayerTarget"]
