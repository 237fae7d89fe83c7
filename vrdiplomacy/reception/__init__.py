"""Receptions: host-signed passes at the door, a greeting line, announcements everyone in the hall
hears, and a capacity with a waiting area (see :mod:`vrdiplomacy.reception.relay` for the relay's
part and :mod:`vrdiplomacy.reception.session` for the client's)."""
