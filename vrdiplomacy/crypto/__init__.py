"""End-to-end encryption core: SFrame (RFC 9605), sender keys, X.509 identities, signed rosters,
HPKE key distribution (RFC 9180), frame and event signatures and room verification codes.

Everything here is sans-I/O: functions and state machines take bytes and ``now`` (seconds) and
return bytes. :class:`vrdiplomacy.crypto.session.GroupSession` is the API a client uses; the relay
only ever sees :class:`vrdiplomacy.crypto.packet.RelayView` (stream type, sender index, key id).
"""
