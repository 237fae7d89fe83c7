"""A real federation on loopback: a 3-node NATS cluster with JetStream (``nats-server``, installed
with apt when missing) and ``vrdiplomacy relay --nats`` processes, on random free ports in temp
folders, all ``nice``-d; everything is stopped after the test."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from vrdiplomacy.net.federation_config import ClusterLayout, write_cluster_config

ROOT = Path(__file__).resolve().parents[2]


def nats_server_bin() -> str:
    """``nats-server``, installed with apt-get when missing (skips with the reason when it cannot be)."""
    found = shutil.which("nats-server") or (os.path.exists("/usr/sbin/nats-server") and "/usr/sbin/nats-server")
    if found:
        return str(found)
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        pytest.skip("nats-server is not installed and apt-get cannot install it here (not root or no apt)")
    r = subprocess.run([apt, "install", "-y", "nats-server"], capture_output=True, text=True, timeout=300, check=False)
    found = shutil.which("nats-server") or (os.path.exists("/usr/sbin/nats-server") and "/usr/sbin/nats-server")
    if r.returncode != 0 or not found:
        pytest.skip(f"apt-get install nats-server failed: {r.stderr.strip()[-300:]}")
    return str(found)


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class NatsCluster:
    """``nodes`` nats-server processes with routes and JetStream, from ``relay --nats-config``'s writer."""

    def __init__(self, root: Path, nodes: int = 3, nice: int = 5) -> None:
        self.bin = nats_server_bin()
        self.nice = nice
        ports = free_ports(2 * nodes)
        self.layout = ClusterLayout("127.0.0.1", tuple(ports[:nodes]), tuple(ports[nodes:]))
        self.dir = root / "nats"
        self.confs = write_cluster_config(self.dir, self.layout)
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * nodes
        self.urls = self.layout.urls()

    def start(self) -> None:
        for i, conf in enumerate(self.confs):
            log = open(self.dir / f"nats-{i + 1}.log", "wb")  # noqa: SIM115 - kept open for the process
            # its own session, hence its own scheduler autogroup, as a NATS service would have (sharing the
            # test's or bench's group would starve it behind the load generator)
            self.procs[i] = subprocess.Popen(["nice", "-n", str(self.nice), self.bin, "-c", str(conf)], stdout=log, stderr=log,
                                             start_new_session=True)
        asyncio.run(self._ready(20.0))

    def password(self, relay: int) -> str:
        return (self.dir / f"relay-{relay}.password").read_text().strip()

    async def _ready(self, timeout: float) -> None:
        """Until the JetStream meta group has a leader: a 3-replica stream can be made and removed."""
        import nats
        from nats.js.api import StreamConfig

        end = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < end:
            try:
                nc = await nats.connect(self.urls, user="relay-1", password=self.password(1), connect_timeout=1,
                                        max_reconnect_attempts=0)
                try:
                    js = nc.jetstream(timeout=2.0)
                    await js.add_stream(StreamConfig(name="VRD_PROBE", subjects=["vrd.probe"], num_replicas=len(self.procs)))
                    await js.delete_stream("VRD_PROBE")
                    return
                finally:
                    await nc.close()
            except Exception as e:  # noqa: BLE001 - not ready yet
                last = e
                await asyncio.sleep(0.3)
        raise AssertionError(f"NATS cluster not ready within {timeout} s: {last!r}; logs in {self.dir}")

    def kill(self, i: int) -> None:
        p = self.procs[i]
        if p is not None and p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(10)

    def stop(self) -> None:
        for p in self.procs:
            if p is not None and p.poll() is None:
                p.terminate()
        for p in self.procs:
            if p is not None:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


class RelayNode:
    """``vrdiplomacy relay --nats ...`` as relay-``n`` (a NATS user of the cluster's config)."""

    def __init__(self, root: Path, cluster: NatsCluster, n: int, port: int | None = None) -> None:
        self.n = n
        self.cluster = cluster
        self.port = port or free_ports(1)[0]
        self.state = root / f"relay-{n}"
        self.stats_file = root / f"relay-{n}-stats.json"
        self.proc: subprocess.Popen[str] | None = None
        self.fingerprint = ""
        self.output: list[str] = []

    def start(self, urls: list[str] | None = None) -> None:
        d = self.cluster.dir
        cmd = ["nice", "-n", "5", sys.executable, "-m", "vrdiplomacy", "relay", "--listen", f"127.0.0.1:{self.port}",
               "--state-dir", str(self.state), "--shared-dir", str(d / "shared"), "--stats-file", str(self.stats_file),
               "--nats", ",".join(urls or self.cluster.urls), "--node", f"relay-{self.n}", "--nats-user", f"relay-{self.n}",
               "--nats-password-file", str(d / f"relay-{self.n}.password")]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(ROOT), env=env)
        assert self.proc.stdout is not None
        end = time.monotonic() + 30
        while time.monotonic() < end:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if "fingerprint" in line:
                self.fingerprint = line.rsplit(" ", 1)[1].strip()
            if line.startswith("federation:"):
                return
        raise AssertionError("relay node did not start:\n" + "".join(self.output))

    def stats(self) -> dict[str, Any]:
        try:
            return json.loads(self.stats_file.read_text())  # type: ignore[no-any-return]
        except (OSError, ValueError):
            return {}

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
