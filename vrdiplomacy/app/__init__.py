"""The live client, composed once for every way people run it.

* :mod:`vrdiplomacy.app.client`: :class:`~vrdiplomacy.app.client.LiveClient`, the one frame
  callback: each InputFrame (headset, desktop window, offscreen, simulated headset) goes to the
  session's gesture recognizer, recognized gestures and desktop gesture keys go to the room
  (handshakes with the consent flow), the others' avatars and the head-up card come back.
* :mod:`vrdiplomacy.app.join`, :mod:`vrdiplomacy.app.demo`, :mod:`vrdiplomacy.app.qa`: what
  ``vrdiplomacy join``, ``demo`` and ``qa run`` run, once their arguments are parsed.
"""
