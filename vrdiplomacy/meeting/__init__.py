"""The meeting's procedure (sans-I/O): roles and permissions, the wire format of procedure
actions, and the deterministic state machine every client (and the relay) folds them into.

* :mod:`~vrdiplomacy.meeting.roles`: the room roles and the one permission table;
* :mod:`~vrdiplomacy.meeting.wire`: :class:`~vrdiplomacy.meeting.wire.MeetingFrame`, a procedure
  action as a room event (a small relay-visible header beside the signed, sealed action);
* :mod:`~vrdiplomacy.meeting.procedure`: :class:`~vrdiplomacy.meeting.procedure.Procedure`, the
  speakers' list, the floor, its timer, mutes, agenda and phase.

Nothing here imports the network or the session: the relay (:mod:`vrdiplomacy.net.relay_meeting`)
and the clients (:mod:`vrdiplomacy.session.meeting`) both use it.
"""
