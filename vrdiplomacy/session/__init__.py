"""The client-side session runtime: a delegate in a room through a relay.

* :mod:`~vrdiplomacy.session.state`: what a delegate knows about the room (sans-I/O);
* :mod:`~vrdiplomacy.session.audio`: what a delegate hears (sans-I/O: packets in, a
  spatialized stereo block per tick out);
* :mod:`~vrdiplomacy.session.runtime`: :class:`DelegateSession`, the asyncio glue (connect,
  send poses and voice on the clock, receive, mix, write to the output device);
* :mod:`~vrdiplomacy.session.bots`: simulated delegates;
* :mod:`~vrdiplomacy.session.host`: the network side in a background thread (and the relay
  and bots in a child process) for apps whose frame loop blocks.
"""
