"""``tools/faultproxy.py``: its loss model, and a real relay session through it on loopback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from toolscripts import load_tool

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import VoiceReceived
from vrdiplomacy.net.client_io import connect
from vrdiplomacy.net.relay_server import EmbeddedRelay

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    return load_tool("faultproxy.py", "faultproxy")


fp = _load()


def _runs(flags: list[bool]) -> list[int]:
    runs, n = [], 0
    for lost in flags:
        if lost:
            n += 1
        elif n:
            runs.append(n)
            n = 0
    return runs


@pytest.mark.parametrize("loss,burst", [(0.05, 1.0), (0.2, 1.0), (0.1, 3.0), (0.5, 2.0)])
def test_loss_model_long_run_rate_and_burst_length(loss: float, burst: float) -> None:
    d = fp.Direction(fp.Faults(loss=loss, burst=burst), seed=7)
    flags = [d.datagram_delay() is None for _ in range(40_000)]
    assert abs(sum(flags) / len(flags) - loss) < 0.15 * loss
    runs = _runs(flags)
    expect = burst if burst > 1 else 1 / (1 - loss)  # independent loss: geometric runs
    assert abs(sum(runs) / len(runs) - expect) < 0.12 * expect


def test_jitter_reorders_datagrams_but_keeps_tcp_in_order() -> None:
    d = fp.Direction(fp.Faults(delay=0.05, jitter=0.02), seed=1)
    holds = [i * 0.02 + (d.datagram_delay() or 0) for i in range(500)]  # sent every 20 ms
    assert sum(1 for a, b in zip(holds, holds[1:]) if b < a) > 10
    releases = [d.chunk_release(i * 0.02, 100) for i in range(500)]
    assert releases == sorted(releases) and releases[0] >= 0.05


def test_bad_settings_are_refused() -> None:
    for bad in ({"loss": 1.0}, {"loss": -0.1}, {"burst": 0.5}, {"delay": -1}):
        with pytest.raises(ConfigError):
            fp.Faults(**bad)
    with pytest.raises(ValueError, match="NAME=VALUE"):
        fp.parse_changes(["loss"])
    assert fp.parse_changes(["up", "loss=0.1", "delay=0.02"]) == ("up", {"loss": 0.1, "delay": 0.02})


def test_relay_session_through_the_proxy_with_loss_and_a_blackout() -> None:
    """Real relay, real clients: voice from A to B loses about the set fraction; a blackout stops
    it; TCP events sent in the blackout arrive after it, in order."""

    async def main() -> None:
        async with EmbeddedRelay() as relay:
            proxy = fp.FaultProxy((relay.host, relay.port), faults=fp.Faults(loss=0.0), seed=3)
            await proxy.start()
            try:
                args = (proxy.listen[0], proxy.listen[1], relay.fingerprint)
                async with connect(*args, "alice", "s1") as a, connect(*args, "bob", "s2") as b:
                    deadline = time.monotonic() + 5
                    while not (a.core.media_ready and b.core.media_ready and len(b.members) == 2):
                        assert time.monotonic() < deadline, "no media through the proxy"
                        await asyncio.sleep(0.02)
                    proxy.set_faults("up", loss=0.3)
                    b.drain_events()
                    for _ in range(200):
                        a.send_voice(wire.level_byte(-12, True), b"V" * 80)
                        await asyncio.sleep(0.005)
                    await asyncio.sleep(0.3)
                    got = [e for e in b.drain_events() if isinstance(e, VoiceReceived)]
                    assert 0.55 * 200 <= len(got) <= 0.85 * 200
                    st = proxy.stats()["up"]
                    assert st["dropped"] >= 40

                    proxy.set_faults("up", loss=0.0)
                    proxy.blackout(True)
                    for i in range(3):
                        a.send_event(f"e{i}".encode())
                        a.send_voice(wire.level_byte(-12, True), b"V" * 80)
                    await asyncio.sleep(1.0)
                    assert not [e for e in b.drain_events() if isinstance(e, VoiceReceived)]
                    proxy.blackout(False)
                    deadline = time.monotonic() + 5
                    events: list[bytes] = []
                    while len(events) < 3:
                        assert time.monotonic() < deadline, f"events after the blackout: {events}"
                        events += [e.payload for e in b.drain_events() if hasattr(e, "payload") and
                                   type(e).__name__ == "RoomEventReceived"]
                        await asyncio.sleep(0.05)
                    assert events == [b"e0", b"e1", b"e2"]
            finally:
                await proxy.close()

    asyncio.run(main())


def test_command_line_answers_on_stdin() -> None:
    p = subprocess.Popen([sys.executable, str(ROOT / "tools" / "faultproxy.py"), "--target", "127.0.0.1:9",
                          "--listen", "127.0.0.3:0", "--loss", "0.1"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None and p.stdin is not None
        assert p.stdout.readline().startswith("faultproxy: 127.0.0.3:")
        p.stdin.write("set up delay=0.05\nblackout on\nset loss=2\nstats\n")
        p.stdin.flush()
        lines = [p.stdout.readline().strip() for _ in range(4)]
        assert lines[:2] == ["ok", "ok"]
        assert lines[2].startswith("error: loss must be a fraction in [0, 1)")
        assert '"up"' in lines[3] and '"connections": 0' in lines[3]
    finally:
        p.kill()
        p.wait(5)
    bad = subprocess.run([sys.executable, str(ROOT / "tools" / "faultproxy.py"), "--target", "nowhere"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "expected HOST:PORT" in bad.stderr
