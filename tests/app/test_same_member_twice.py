"""The same delegate joins twice with one invitation (a second device, or a second window on the
same machine): the newer ``vrdiplomacy join`` keeps the session, and the older one says that it was
taken over and stops trying, instead of reconnecting and taking it back in a loop.

Fails on main c15fca3: the relay's "replaced" error was not final, so each join reconnected with
its resume token and took the session from the other, every few tenths of a second, without end."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from childprocs import run_then_kill  # noqa: E402
from test_crash_rejoin import Proc, _env, _until, secured_germany  # noqa: E402


@pytest.mark.slow
@pytest.mark.gl
def test_second_join_of_the_same_member_takes_over_and_the_first_stops(tmp_path: Path) -> None:
    from vrdiplomacy.net.relay_server import EmbeddedRelay

    chair_in_room = secured_germany(tmp_path)
    procs: list[Proc] = []

    async def main() -> None:
        async with EmbeddedRelay() as relay, chair_in_room(relay) as (ch, sec, join):
            task = asyncio.create_task(_drain(ch))

            def admitted() -> bool:
                return any(m.name == "Germany" for m in sec.members().values())

            first = Proc([*join, "--duration", "60"], _env(tmp_path / "state-1"))
            procs.append(first)
            await _until(admitted, 60, "Germany admitted", first)
            second = Proc([*join, "--duration", "60"], _env(tmp_path / "state-2"))  # another device
            procs.append(second)
            await _until(lambda: first.first("taken over") is not None, 60, "the first join told", first)
            await asyncio.sleep(6.0)  # several reconnect periods
            told = first.output().split("taken over", 1)[1]
            assert "connection lost: taken over: the same member joined again" in first.output(), first.output()
            assert "reconnect" not in told, first.output()  # it stopped trying
            assert "Connection lost: taken over" in told  # and its card says why
            assert second.p.poll() is None, second.output()
            assert "taken over" not in second.output() and "reconnecting" not in second.output(), second.output()
            sessions = [s for s in relay.server.core.sessions.values() if s.identity == "Germany"]
            assert len(sessions) == 1 and sessions[0].conn is not None
            task.cancel()

    run_then_kill(main(), procs)


async def _drain(client) -> None:  # type: ignore[no-untyped-def]
    async for _ in client:
        pass
