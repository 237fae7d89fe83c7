"""The relay and clients over real loopback sockets (TLS over TCP, UDP), including kill -9."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vrdiplomacy.net import tls, wire
from vrdiplomacy.net.client_core import MemberUpdate, RoomEventReceived, VoiceReceived
from vrdiplomacy.net.client_io import Client, PoseUpdate, RelayConnectError, connect
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.scene.math3d import Pose
from netpump import lounge_layout

ROOT = Path(__file__).resolve().parents[2]


async def _until(pred, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def test_two_delegates_and_a_lounge_over_real_sockets() -> None:
    async def main() -> None:
        async with EmbeddedRelay(default_layout=lounge_layout()) as relay:
            args = (relay.host, relay.port, relay.fingerprint)
            async with connect(*args, "alice", "s1") as a, connect(*args, "bob", "s2") as b, \
                    connect(*args, "carol", "lounge-1") as c:
                await _until(lambda: len(a.members) == 3 and len(b.members) == 3 and len(c.members) == 3)
                await _until(lambda: all(x.core.media_ready for x in (a, b, c)))
                for i in range(40):  # 2 s at 20 Hz, voice at 25 Hz from a and b
                    a.send_pose(Pose.from_yaw((0.0, 1.6, 0.0), i), Pose.from_yaw((0.3, 1.2, -0.3), 0), None)
                    b.send_pose(Pose.from_yaw((1.0, 1.6, 0.0), -i))
                    c.send_pose(Pose.from_yaw((25.0, 1.6, 0.0), 0))
                    if i % 2:
                        a.send_voice(wire.level_byte(-12, True), b"A" * 90)
                        b.send_voice(wire.level_byte(-14, True), b"B" * 90)
                    await asyncio.sleep(0.05)
                a.send_event(b'{"gesture":"nod"}')
                await _until(lambda: any(isinstance(e, RoomEventReceived) for e in c._events))
                await asyncio.sleep(0.2)
                ea, eb, ec = a.drain_events(), b.drain_events(), c.drain_events()
                ida, idb = a.client_id, b.client_id
                poses_b = [e for e in eb if isinstance(e, PoseUpdate) and e.source == ida]
                assert len(poses_b) >= 30
                assert poses_b[-1].sample.left is not None
                assert abs(float(poses_b[-1].sample.head.position[1]) - 1.6) < 0.01
                assert len([e for e in ea if isinstance(e, PoseUpdate) and e.source == idb]) >= 30
                assert len([e for e in eb if isinstance(e, VoiceReceived) and e.source == ida]) >= 15
                assert [e.payload for e in eb if isinstance(e, RoomEventReceived)] == [b'{"gesture":"nod"}']
                # the lounge: no voice from the plenary, poses of a only at keyframe rate (about 2 Hz)
                assert not [e for e in ec if isinstance(e, VoiceReceived)]
                poses_c = [e for e in ec if isinstance(e, PoseUpdate) and e.source == ida]
                assert 2 <= len(poses_c) <= 6 and all(e.sample.key for e in poses_c)
                assert [e.payload for e in ec if isinstance(e, RoomEventReceived)] == [b'{"gesture":"nod"}']

    asyncio.run(main())


def test_wrong_fingerprint_is_refused() -> None:
    async def main() -> None:
        async with EmbeddedRelay() as relay:
            with pytest.raises(RelayConnectError, match="does not match"):
                async with connect(relay.host, relay.port, "ab" * 32, "alice", "s1"):
                    pass
            assert relay.server.core.counters.sessions_started == 0

    asyncio.run(main())


def test_a_port_that_does_not_speak_tls_is_named_at_once() -> None:
    """An HTTP server on the port given as the relay's: the client says the port does not speak
    TLS, at once, instead of retrying until its connect timeout (30 s here) with OpenSSL's words."""
    async def main() -> None:
        async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1024)
            writer.write(b"HTTP/1.0 400 Bad Request\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(http, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        t0 = time.monotonic()
        with pytest.raises(RelayConnectError, match="does not speak TLS .*not a vrdiplomacy relay port") as got:
            async with connect("127.0.0.1", port, "ab" * 32, "alice", "s1", connect_timeout=30.0):
                pass
        assert got.value.cause == "tls" and time.monotonic() - t0 < 15.0  # not after the 30 s timeout
        server.close()

    asyncio.run(main())


def _start_relay(state: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vrdiplomacy", "-q", "relay", "--listen", f"127.0.0.1:{port}", "--state-dir", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(ROOT),
    )
    assert proc.stdout is not None
    for _ in range(10):
        line = proc.stdout.readline()
        if "fingerprint" in line:
            return proc, line.rsplit(" ", 1)[1].strip()
    proc.kill()
    raise AssertionError(f"relay did not start: {line!r}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_kill_9_and_restart_clients_resume_without_duplicates(tmp_path: Path) -> None:
    port = _free_port()
    proc, fp = _start_relay(tmp_path / "state", port)

    async def main() -> float:
        nonlocal proc
        async with connect("127.0.0.1", port, fp, "alice", "s1") as a, connect("127.0.0.1", port, fp, "bob", "s2") as b:
            await _until(lambda: len(a.members) == 2 and len(b.members) == 2)
            ids = (a.client_id, b.client_id)
            a.send_event(b"before")
            await _until(lambda: any(isinstance(e, RoomEventReceived) for e in b._events))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            await _until(lambda: not a.connected and not b.connected)
            proc2, fp2 = _start_relay(tmp_path / "state", port)
            proc = proc2
            assert fp2 == fp  # the certificate persisted in the state dir
            t0 = time.monotonic()
            await _until(lambda: a.connected and b.connected and all(
                m.state == "present" for m in list(a.core.members.values()) + list(b.core.members.values())
            ) and len(a.members) == 2 and len(b.members) == 2, timeout=5.0)
            resumed_in = time.monotonic() - t0
            assert (a.client_id, b.client_id) == ids
            assert sorted(m.identity for m in b.core.members.values()) == ["alice", "bob"]
            b.drain_events()
            a.send_event(b"after")
            await _until(lambda: any(isinstance(e, RoomEventReceived) and e.payload == b"after" for e in b._events))
            left = [e for e in b.drain_events() if isinstance(e, MemberUpdate) and e.state == "left"]
            assert not left  # nobody left and re-joined as a second avatar
            return resumed_in

    try:
        resumed_in = asyncio.run(main())
    finally:
        proc.kill()
        proc.wait()
    assert resumed_in < 2.0, f"resumed after {resumed_in:.2f} s"


def test_garbage_over_real_sockets_is_counted_and_relay_keeps_serving() -> None:
    async def main() -> None:
        async with EmbeddedRelay() as relay:
            srv = relay.server
            args = (relay.host, relay.port, relay.fingerprint)
            async with connect(*args, "alice", "s1") as a, connect(*args, "bob", "s2") as b:
                await _until(lambda: a.core.media_ready and b.core.media_ready)
                rng = random.Random(7)
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                header = bytes((1, 1)) + a.client_id.to_bytes(4, "big")
                for i in range(3000):
                    data = rng.randbytes(rng.randint(0, 300)) if i % 2 else header + rng.randbytes(rng.randint(0, 200))
                    s.sendto(data, (relay.host, srv.udp_port))
                    if i % 200 == 0:
                        await asyncio.sleep(0.005)
                s.close()
                # plain TCP garbage (not TLS), then TLS with garbage frames
                for _ in range(5):
                    r, w = await asyncio.open_connection(relay.host, relay.port)
                    w.write(rng.randbytes(500))
                    await w.drain()
                    w.close()
                for _ in range(5):
                    r, w = await asyncio.open_connection(relay.host, relay.port, ssl=tls.client_context())
                    w.write(b"\x00\x05\x01\x7f\x00\x00\x00" + rng.randbytes(300))
                    await w.drain()
                    await asyncio.sleep(0.05)
                    w.close()
                await asyncio.sleep(0.3)
                c = srv.core.counters
                assert c.dropped_malformed + c.dropped_unknown + c.dropped_auth + c.dropped_replay + c.dropped_unknown_client >= 2900
                assert c.control_unknown + c.control_malformed >= 5
                a.send_event(b"ok")
                await _until(lambda: any(isinstance(e, RoomEventReceived) for e in b._events))
                b.send_voice(wire.level_byte(-10, True), b"v" * 80)

    asyncio.run(main())


def test_cli_prints_fingerprint_and_reports_bad_arguments(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "vrdiplomacy", "relay"]
    out = subprocess.run(run + ["--state-dir", str(tmp_path), "--print-fingerprint"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0
    hexfp = tls.ensure_certificate(tmp_path)[2]
    assert out.stdout.strip() == ":".join(hexfp[i : i + 2] for i in range(0, 64, 2)).upper()  # as identity show prints
    assert (tmp_path / tls.KEY_FILE).stat().st_mode & 0o077 == 0
    bad = subprocess.run(run + ["--layout", "chamber=/nonexistent.json"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0 and bad.stderr.strip().startswith("error:") and "Traceback" not in bad.stderr
