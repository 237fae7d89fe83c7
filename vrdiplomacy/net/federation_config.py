"""Example configuration of a relay federation: an N-node NATS cluster with JetStream, one NATS
user per relay node allowed only the ``vrd.>`` subjects (and the JetStream API), and the identity
all nodes share (one TLS certificate and one resume secret, so a client fails over to any node
with the same pin and resume token). ``vrdiplomacy relay --nats-config DIR`` writes it.

Files written in ``DIR``:

* ``nats-<i>.conf``: server ``i``: client port, cluster port and routes to the others (route
  user and password), JetStream store ``DIR/jetstream-<i>``, the relay users and their permissions.
* ``relay-<i>.password``: the NATS password of relay node ``i`` (user ``relay-<i>``; mode 0600).
* ``shared/``: the federation's certificate, key and resume secret (copy it to every relay host;
  mode 0700).
* ``commands.txt``: how to start each NATS server and each relay node.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.net import tls

# what a relay node may do on NATS: its room subjects, the JetStream API (streams, consumers,
# publish acknowledgements come on _INBOX), consumer flow control, and its replies
RELAY_PUBLISH = ["vrd.>", "$JS.API.>", "$JS.FC.>", "$JS.ACK.>", "_INBOX.>"]
RELAY_SUBSCRIBE = ["vrd.>", "_INBOX.>"]


@dataclass(frozen=True)
class ClusterLayout:
    """Ports of an N-node cluster on ``host``: ``client_ports[i]``, ``cluster_ports[i]`` for node i+1."""

    host: str
    client_ports: tuple[int, ...]
    cluster_ports: tuple[int, ...]

    @classmethod
    def consecutive(cls, nodes: int, host: str = "127.0.0.1", client_base: int = 4222, cluster_base: int = 6222) -> ClusterLayout:
        return cls(host, tuple(client_base + i for i in range(nodes)), tuple(cluster_base + i for i in range(nodes)))

    def urls(self) -> list[str]:
        return [f"nats://{self.host}:{p}" for p in self.client_ports]


def _q(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid quoted string in the NATS config format


def write_cluster_config(out: Path, layout: ClusterLayout, relays: int | None = None) -> list[Path]:
    """Write the configuration (see the module docstring); returns the NATS config files."""
    n = len(layout.client_ports)
    if n < 1 or len(layout.cluster_ports) != n:
        raise ConfigError("a NATS cluster needs at least one node, each with a client and a cluster port")
    relays = n if relays is None else relays
    try:
        out.mkdir(parents=True, exist_ok=True)
        os.chmod(out, 0o700)
    except OSError as e:
        raise ConfigError(f"cannot write the federation configuration to {out}: {e.strerror}") from None
    route_pw = secrets.token_urlsafe(18)
    passwords = []
    for i in range(1, relays + 1):
        p = out / f"relay-{i}.password"
        pw = p.read_text().strip() if p.exists() else secrets.token_urlsafe(18)
        p.write_text(pw + "\n")
        os.chmod(p, 0o600)
        passwords.append(pw)
    perms = (f"{{ publish: {{ allow: [{', '.join(map(_q, RELAY_PUBLISH))}] }}, "
             f"subscribe: {{ allow: [{', '.join(map(_q, RELAY_SUBSCRIBE))}] }} }}")
    users = ",\n".join(f"    {{ user: {_q(f'relay-{i}')}, password: {_q(pw)}, permissions: {perms} }}"
                       for i, pw in enumerate(passwords, 1))
    files = []
    for i in range(n):
        routes = ", ".join(_q(f"nats-route://route:{route_pw}@{layout.host}:{p}")
                           for j, p in enumerate(layout.cluster_ports) if j != i)
        conf = f"""# vrdiplomacy relay federation: NATS server {i + 1} of {n} (written by `vrdiplomacy relay --nats-config`)
server_name: {_q(f"vrd-nats-{i + 1}")}
listen: {_q(f"{layout.host}:{layout.client_ports[i]}")}
jetstream {{
  store_dir: {_q(str(out / f"jetstream-{i + 1}"))}
  max_memory_store: 64MB
  max_file_store: 1GB
}}
cluster {{
  name: "vrd"
  listen: {_q(f"{layout.host}:{layout.cluster_ports[i]}")}
  authorization {{ user: "route", password: {_q(route_pw)} }}
  routes: [{routes}]
}}
# every client must log in; relay nodes may use only the vrd.> subjects and the JetStream API
authorization {{
  users: [
{users}
  ]
}}
"""
        f = out / f"nats-{i + 1}.conf"
        f.write_text(conf)
        os.chmod(f, 0o600)
        files.append(f)
    shared = out / "shared"
    _cert, _key, fingerprint = tls.ensure_certificate(shared)
    tls.ensure_secret(shared)
    urls = ",".join(layout.urls())
    lines = [f"# NATS servers (each on its own host in production; here all on {layout.host})"]
    lines += [f"nats-server -c {f}" for f in files]
    lines += ["", "# relay nodes (copy shared/ and relay-<i>.password to node i); clients pin the one certificate:",
              f"#   fingerprint {fingerprint}"]
    lines += [f"vrdiplomacy relay --listen {layout.host}:{7390 + i} --state-dir STATE-{i} --shared-dir {shared} "
              f"--nats {urls} --node relay-{i} --nats-user relay-{i} --nats-password-file {out / f'relay-{i}.password'}"
              for i in range(1, relays + 1)]
    lines += ["", "# a delegate lists the relay nodes; it fails over between them",
              "vrdiplomacy join --relay " + ",".join(f"{layout.host}:{7390 + i}" for i in range(1, relays + 1))
              + f" --fingerprint {fingerprint} ..."]
    (out / "commands.txt").write_text("\n".join(lines) + "\n")
    return files
