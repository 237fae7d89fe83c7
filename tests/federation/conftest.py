"""Fixtures: a 3-node NATS cluster with JetStream and relay nodes on loopback (see :mod:`fedcluster`)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fedcluster import NatsCluster, RelayNode


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    c = NatsCluster(tmp_path)
    try:
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture
def relays(tmp_path: Path, nats_cluster: NatsCluster) -> Iterator[list[RelayNode]]:
    """Two relay nodes, both on the whole cluster (relay-1 prefers NATS 1, relay-2 NATS 2)."""
    nodes = [RelayNode(tmp_path, nats_cluster, n) for n in (1, 2)]
    try:
        urls = nats_cluster.urls
        nodes[0].start(urls)
        nodes[1].start(urls[1:] + urls[:1])
        yield nodes
    finally:
        for r in nodes:
            with contextlib.suppress(Exception):
                r.stop()
