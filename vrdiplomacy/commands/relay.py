"""``vrdiplomacy relay``: run a relay that routes sessions it cannot read."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from vrdiplomacy.errors import AssetError, ConfigError

if TYPE_CHECKING:
    from vrdiplomacy.net.federation_io import NatsOptions
    from vrdiplomacy.net.relay_state import RelaySettings
    from vrdiplomacy.scene.layout import Layout

log = logging.getLogger("vrdiplomacy.relay")


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    try:
        p = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {port!r}") from None
    if not 0 <= p <= 65535:
        raise argparse.ArgumentTypeError(f"port {p} is out of range")
    return host.strip("[]"), p


def _room_layout(text: str) -> tuple[str, str]:
    room, sep, layout = text.partition("=")
    if not sep or not room or not layout:
        raise argparse.ArgumentTypeError(f"expected ROOM=SCENE_OR_FILE, got {text!r}")
    return room, layout


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--listen", type=_host_port, default=("127.0.0.1", 7390), metavar="HOST:PORT",
                   help="TLS control port on TCP; media uses UDP on the same port (default 127.0.0.1:7390)")
    p.add_argument("--state-dir", type=Path, default=None, metavar="DIR",
                   help="where the certificate, resume secret and room event journal live (default "
                        "~/.local/state/vrdiplomacy/relay); a relay restarted on it resumes sessions and room events")
    p.add_argument("--layout", type=_room_layout, action="append", default=[], metavar="ROOM=SCENE",
                   help="zones for a room from a scene name or layout file (repeatable); rooms named after a "
                        "scene (chamber, bilateral, embassy) use that scene's layout by default")
    p.add_argument("--last-n", type=int, default=4, metavar="N", help="loudest speakers forwarded room-wide (default 4)")
    p.add_argument("--audible-radius", type=float, default=3.0, metavar="M",
                   help="metres within which anyone is heard (default 3)")
    p.add_argument("--resume-grace", type=float, default=30.0, metavar="S",
                   help="seconds a dropped delegate keeps their seat for a resume (default 30)")
    p.add_argument("--handshakes-per-address", type=int, default=None, metavar="N",
                   help="connections at once from one IP address that have not finished TLS or not yet started a "
                        "session; more are refused at once (default 64; raise it when many delegates share one NAT address)")
    p.add_argument("--stats-file", type=Path, default=None, metavar="FILE",
                   help="write counters and latency as JSON to FILE every second")
    p.add_argument("--secured-only", action="store_true",
                   help="admit only invited members of end-to-end encrypted rooms (refuse every client without an "
                        "invitation)")
    p.add_argument("--authority", action="append", default=[], metavar="FINGERPRINT",
                   help="only this room authority (a chair's certificate SHA-256, as 'identity show' prints it) may "
                        "open secured rooms here (repeatable; default: any)")
    g = p.add_argument_group("federation over NATS (without --nats: one relay process, no NATS)")
    g.add_argument("--nats", metavar="URL[,URL...]", default=None,
                   help="join a federation of relay nodes over these NATS servers (nats://host:4222); a room's "
                        "members may then be spread over nodes; room events are stored in JetStream")
    g.add_argument("--node", default=None, metavar="NAME", help="this node's name in the federation (default: HOST:PORT)")
    g.add_argument("--nats-user", default=None, metavar="USER", help="this node's NATS user")
    g.add_argument("--nats-password-file", type=Path, default=None, metavar="FILE",
                   help="a file holding the NATS user's password (or the environment variable VRD_NATS_PASSWORD)")
    g.add_argument("--nats-creds", default=None, metavar="FILE", help="a NATS credentials file (JWT and nkey) instead")
    g.add_argument("--nats-replicas", type=int, default=3, metavar="N",
                   help="JetStream replicas of each room's event stream (default 3: a 3-node NATS cluster)")
    g.add_argument("--shared-dir", type=Path, default=None, metavar="DIR",
                   help="the certificate, key and resume secret every node of the federation shares (so clients "
                        "fail over with one pin and one resume token); default: the state directory")
    g.add_argument("--nats-config", type=Path, default=None, metavar="DIR",
                   help="write an example federation configuration to DIR (NATS cluster configs with routes, "
                        "JetStream and one user per relay node limited to vrd.>; the shared identity; the commands) "
                        "and exit")
    g.add_argument("--nats-nodes", type=int, default=3, metavar="N", help="NATS servers for --nats-config (default 3)")
    g.add_argument("--nats-host", default="127.0.0.1", metavar="HOST",
                   help="the address the --nats-config servers listen on (default 127.0.0.1; ports 4222+ and 6222+)")
    p.add_argument("--print-fingerprint", action="store_true",
                   help="print the certificate fingerprint (AB:12:..., as at start; making the certificate if needed) "
                        "and exit; --fingerprint options accept it with or without colons, in any case")


def run(args: argparse.Namespace) -> int:
    from vrdiplomacy.net import tls
    from vrdiplomacy.net.interest import InterestSettings
    from vrdiplomacy.net.relay_state import RelaySettings
    from vrdiplomacy.scene.layout import SCENES, Layout, load_layout

    state_dir = args.state_dir or tls.default_state_dir()
    if args.nats_config is not None:
        from vrdiplomacy.net.federation_config import (
            ClusterLayout,
            write_cluster_config,
        )

        if args.nats_nodes < 1:
            raise ConfigError("--nats-nodes must be >= 1")
        files = write_cluster_config(args.nats_config, ClusterLayout.consecutive(args.nats_nodes, args.nats_host))
        print(f"wrote {len(files)} NATS server configs, the relay nodes' passwords and the shared identity to "
              f"{args.nats_config}; how to start everything: {args.nats_config / 'commands.txt'}")
        return 0
    if args.print_fingerprint:
        from vrdiplomacy.app.addresses import show_fingerprint

        print(show_fingerprint(tls.ensure_certificate(args.shared_dir or state_dir)[2]))
        return 0
    if args.last_n < 1 or args.audible_radius < 0 or args.resume_grace < 0:
        raise ConfigError("--last-n must be >= 1; --audible-radius and --resume-grace must be >= 0")
    if args.handshakes_per_address is not None and args.handshakes_per_address < 1:
        raise ConfigError("--handshakes-per-address must be >= 1")
    if args.stats_file is not None:  # else the relay logged "cannot write stats file" every second, forever
        from vrdiplomacy.app.paths import check_writable

        check_writable(args.stats_file, "--stats-file")
    for room, src in args.layout:
        if Path(src).suffix != ".json" and Path(src).is_file():  # else read as a scene name, "assets/.../X.json"
            raise ConfigError(f"--layout {room}={src}: a layout file is a .json file (or name a scene: {', '.join(SCENES)})")
    layouts = {room: load_layout(src) for room, src in args.layout}

    def layout_for(room: str) -> Layout | None:
        if room not in SCENES:
            return None
        try:
            return load_layout(room)
        except AssetError as e:
            log.warning("room %s has no zones: %s", room, e)
            return None

    authorities = None
    if args.authority:
        from vrdiplomacy.crypto.admission import fingerprint_bytes

        authorities = frozenset(":".join(f"{b:02X}" for b in fingerprint_bytes(fp)) for fp in args.authority)
    settings = RelaySettings(
        resume_grace=args.resume_grace,
        interest=InterestSettings(last_n=args.last_n, audible_radius=args.audible_radius),
        unsecured_rooms=not args.secured_only,
        authorities=authorities,
    )
    if args.handshakes_per_address is not None:
        settings.max_handshakes_per_address = args.handshakes_per_address
        settings.max_handshakes = max(settings.max_handshakes, args.handshakes_per_address)
    host, port = args.listen
    nats = _nats_options(args, f"{host}:{port}")
    return asyncio.run(_serve(host, port, state_dir, settings, layouts, layout_for, args.stats_file, nats, args.shared_dir))


def _nats_options(args: argparse.Namespace, where: str) -> NatsOptions | None:
    if not args.nats:
        if args.nats_user or args.nats_creds or args.nats_password_file or args.node:
            raise ConfigError("--node and the --nats-* credentials need --nats URL")
        return None
    import os

    from vrdiplomacy.net.federation import FederationSettings
    from vrdiplomacy.net.federation_io import NatsOptions

    urls = [u.strip() for u in args.nats.split(",") if u.strip()]
    urls = [u if "://" in u else f"nats://{u}" for u in urls]
    if not urls:
        raise ConfigError("--nats needs at least one URL (nats://host:4222)")
    if args.nats_replicas < 1:
        raise ConfigError("--nats-replicas must be >= 1")
    password = os.environ.get("VRD_NATS_PASSWORD")
    if args.nats_password_file is not None:
        try:
            password = args.nats_password_file.read_text().strip()
        except OSError as e:
            raise ConfigError(f"--nats-password-file {args.nats_password_file}: {e.strerror}") from None
    if args.nats_user and password is None:
        raise ConfigError("--nats-user needs --nats-password-file FILE (or VRD_NATS_PASSWORD)")
    return NatsOptions(urls, args.nats_user, password, args.nats_creds,
                       FederationSettings(node_name=args.node or where, replicas=args.nats_replicas))


async def _serve(host: str, port: int, state_dir: Path, settings: RelaySettings, layouts: dict[str, Layout],
                 layout_for: Callable[[str], Layout | None], stats_file: Path | None, nats: NatsOptions | None = None,
                 shared_dir: Path | None = None) -> int:
    from vrdiplomacy.net.preauth import raise_fd_limit
    from vrdiplomacy.net.relay_server import RelayServer

    files = raise_fd_limit()
    from vrdiplomacy.net.gc_policy import GcSettings

    # a relay service process: its long-lived heap is frozen once admissions settle (see gc_policy)
    server = RelayServer(host, port, state_dir, settings, layouts, None, stats_file, layout_for, nats, shared_dir,
                         gc_policy=GcSettings())
    await server.start()
    print(f"relay listening on {host}:{server.port} (TLS over TCP; media on UDP {server.udp_port})", flush=True)
    from vrdiplomacy.app.addresses import show_fingerprint

    print(f"certificate fingerprint (SHA-256): {show_fingerprint(server.fingerprint)}", flush=True)
    print(f"state directory: {state_dir}", flush=True)
    s = server.settings
    print("admission: " + ("only invited members of secured rooms" if not s.unsecured_rooms else
                           "invited members to secured rooms; anyone to plain rooms")
          + (f"; secured rooms only from {len(s.authorities)} listed authorities" if s.authorities is not None else ""),
          flush=True)
    print(f"before TLS: at most {s.max_handshakes} unfinished handshakes ({s.max_handshakes_per_address} per address), "
          f"each within {s.handshake_timeout:g} s; up to {files} open files", flush=True)
    if nats is not None:
        print(f"federation: node {nats.federation.node_name} on NATS {','.join(nats.urls)} "
              f"(room events in JetStream, {nats.federation.replicas} replicas)", flush=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(server.close()))
    await server.serve_forever()
    c = server.core.counters
    print(f"relay stopped: {c.sessions_started} sessions, {c.datagrams_in} datagrams in, {c.datagrams_out} out, "
          f"{c.dropped_total} dropped", flush=True)
    return 0
