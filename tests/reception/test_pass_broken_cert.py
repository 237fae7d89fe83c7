"""A pass that carries a host certificate with a broken or unknown key is refused at the door with
one line, and the relay goes on serving (fails on main 452f8cc: the relay core raised
``UnsupportedAlgorithm`` / ``ValueError`` out of its admission step, since the pass's certificate
key was parsed only when its signature was checked)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from netpump import SECRET, Peer, Pump, lounge_layout

from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import (
    ClientCore,
    ClientSettings,
    Connected,
    RelayError,
)
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.reception.passes import PassAdmission, ReceptionPass

RELAY_FP = "cd" * 32
ROOM = "embassy"
ED25519_SPKI = b"\x06\x03\x2b\x65\x70\x03\x21"  # OID 1.3.101.112, then the key's BIT STRING


def _add(pm: Pump, adm: PassAdmission) -> Peer:
    p = Peer(ClientCore("whoever", "", ROOM, ClientSettings(admission=adm), RELAY_FP), ("127.0.0.1", 42000 + len(pm.peers)))
    pm.peers.append(p)
    pm.connect(p)
    pm.run(0.05)
    return p


@pytest.mark.parametrize("oid", [b"\x2b\x65\x7f", b"\x2b\x65\x71"], ids=["unknown-algorithm", "ed448-oid-32-byte-key"])
def test_a_pass_with_a_broken_host_key_is_refused_and_the_relay_goes_on(pki, oid: bytes) -> None:  # type: ignore[no-untyped-def]
    relay = RelayCore(SECRET, layouts={ROOM: lounge_layout()}, epoch=7, fingerprint=RELAY_FP)
    pm = Pump(relay)
    relay.wall_offset = time.time() - pm.now
    hk, hc = pki.host
    good = ReceptionPass.create(ROOM, hc, hk, "Host", pki.now, role="host", guest_cert=hc)
    assert good.host_cert_der.count(ED25519_SPKI) == 1
    broken = replace(good, host_cert_der=good.host_cert_der.replace(ED25519_SPKI, b"\x06\x03" + oid + b"\x03\x21"),
                     _cache={})
    p = _add(pm, PassAdmission(ReceptionPass.parse(bytes(broken)), hk))
    errs = pm.of(p, RelayError)
    assert errs and errs[-1].fatal and errs[-1].code == wire.ERR_NOT_INVITED
    assert errs[-1].message == "reception pass refused: the reception pass's host certificate is malformed"
    assert relay.reception_counters["refused_invalid"] == 1
    host = _add(pm, PassAdmission(good, hk))  # the relay still admits the genuine host
    assert pm.of(host, Connected)
