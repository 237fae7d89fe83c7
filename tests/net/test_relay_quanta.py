"""The relay's event loop takes its other callbacks between quanta of datagrams."""

from __future__ import annotations

import asyncio
import socket
import time

from vrdiplomacy.net.relay_server import DRAIN_MAX, EmbeddedRelay


def test_a_backlog_of_datagrams_is_read_in_quanta_with_the_loop_turning_between() -> None:
    """At 1000 guests one wake-up of the UDP reader routed up to 512 datagrams (3-5 ms, poses
    mostly) before its flush, and a voice batch from NATS, a due voice timer or a control frame
    waited behind them. Now a wake-up reads at most 64 and the loop turns: a callback due meanwhile
    runs before the rest of the backlog is read. Fails on main c54bfe1 (one wake-up read all 300)."""

    async def main() -> None:
        async with EmbeddedRelay() as relay:
            server = relay.server
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            try:
                loop = asyncio.get_running_loop()
                seen: list[int] = []  # datagrams read so far, at each turn of the loop

                def turn() -> None:
                    seen.append(server.udp_reads)
                    if server.udp_reads < 300:
                        loop.call_soon(turn)

                loop.call_soon(turn)
                for i in range(300):  # all queued before the relay reads any (it runs on this loop)
                    sock.sendto(b"\x01\x02" + i.to_bytes(4, "big") + bytes(40), ("127.0.0.1", server.udp_port))
                deadline = time.monotonic() + 10
                while server.udp_reads < 300 and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                assert server.udp_reads == 300
                assert server.core.counters.dropped_unknown_client + server.core.counters.dropped_malformed \
                    + server.core.counters.dropped_unknown == 300  # garbage: counted drops, nothing crashed
                assert any(0 < n < 300 for n in seen)  # the loop turned (other callbacks ran) amid the backlog
                assert server.udp_wakeups >= 300 // DRAIN_MAX >= 4
            finally:
                sock.close()

    asyncio.run(main())
