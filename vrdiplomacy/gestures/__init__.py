"""Non-verbal gestures: recognizers, sources, recordings, the event wire format, handshakes.

* :func:`classify` / :class:`GestureRecognizer` -- recognizers over InputFrame sequences
* :class:`GestureEvent` -- what peers are told (:mod:`.events`)
* :class:`HandshakeSession` -- the sans-I/O handshake protocol (:mod:`.handshake`)
* :class:`Recorder` / :func:`read_recording` -- JSON Lines recordings (:mod:`.record`)
* :mod:`.mapping` -- controller and desktop-key mappings; :mod:`.synth` -- hand synthesis
"""

from vrdiplomacy.gestures.events import GestureEvent
from vrdiplomacy.gestures.handshake import HandshakeSession
from vrdiplomacy.gestures.record import Recorder, read_recording
from vrdiplomacy.gestures.recognizer import GestureRecognizer, RecognizerConfig, classify
from vrdiplomacy.gestures.types import GESTURES, Detection, Gesture, Hand, Target

__all__ = [
    "GESTURES", "Detection", "Gesture", "GestureEvent", "GestureRecognizer", "Hand", "HandshakeSession",
    "RecognizerConfig", "Recorder", "Target", "classify", "read_recording",
]
