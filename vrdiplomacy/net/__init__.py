"""Session networking: relay server, client, wire protocol, interest management.

Sans-I/O cores (:mod:`.relay_core`, :mod:`.client_core`) hold all protocol logic; thin asyncio
adapters (:mod:`.relay_server`, :mod:`.client_io`) do the I/O. Import the adapters directly;
this package imports nothing heavy.
"""
