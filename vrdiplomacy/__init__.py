"""vrdiplomacy: an OpenXR desktop VR client where diplomats meet."""

__version__ = "0.1.0"
