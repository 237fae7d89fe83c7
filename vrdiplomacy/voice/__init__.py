"""Spatial voice: capture -> echo cancellation -> voice activity / push-to-talk / mute ->
Opus -> packets -> (network) -> per-speaker adaptive jitter buffer -> decode with FEC and
PLC -> binaural spatializer (MIT KEMAR HRTFs) -> mix -> limiter -> playback.

The protocol cores (:mod:`.sender`, :mod:`.receiver`, :mod:`.jitter`) do no I/O: bytes and
the current time go in, bytes and audio come out. Native libraries (libopus, PortAudio,
libmysofa) load lazily in :mod:`.codec`, :mod:`.devices` and :mod:`.hrtf`.
"""
