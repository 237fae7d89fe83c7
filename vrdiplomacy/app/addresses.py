"""Relay addresses as people type them: ``HOST:PORT`` and the certificate's SHA-256 fingerprint
as vrdiplomacy prints every fingerprint (``AB:12:…``: colon-separated upper-case hex, the form
OpenSSL and browsers show; ``vrdiplomacy relay`` at start and with ``--print-fingerprint``,
``identity show`` for certificates) or as bare hex in any case, and why a connection failed, in
words that tell the cases apart."""

from __future__ import annotations

import socket
from typing import Any

from vrdiplomacy.errors import ConfigError

HEX = set("0123456789abcdef")


def parse_fingerprint(text: str, option: str = "--fingerprint") -> str:
    """64 lowercase hex digits from either printed form (colons, spaces and case are ignored)."""
    fp = text.replace(":", "").replace(" ", "").strip().lower()
    if len(fp) != 64 or not set(fp) <= HEX:
        n = len(fp)
        what = "not hex" if not set(fp) <= HEX else f"{n} hex digit{'s' if n != 1 else ''}"
        raise ConfigError(f"{option} must be the relay certificate's SHA-256 fingerprint: 64 hex digits (colons "
                          f"allowed, any case), as 'vrdiplomacy relay' prints it; got '{text}' ({what})")
    return fp


def show_fingerprint(fp: str) -> str:
    """The one form vrdiplomacy prints fingerprints in: colon-separated upper-case hex (as
    :func:`vrdiplomacy.crypto.identity.fingerprint` prints certificates)."""
    d = parse_fingerprint(fp).upper()
    return ":".join(d[i : i + 2] for i in range(0, len(d), 2))


def parse_host_port(text: str, option: str = "--relay") -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{option} must look like HOST:PORT (port 1..65535), not '{text}'")
    return host.strip("[]"), int(port)


def relay_address(relay: str | None, fingerprint: str | None) -> Any:
    """A :class:`~vrdiplomacy.session.host.RelayAddress` from ``--relay`` and ``--fingerprint``
    (None without ``--relay``); each missing or malformed part is named."""
    if not relay:
        if fingerprint:
            raise ConfigError("--fingerprint needs --relay HOST:PORT")
        return None
    host, port = parse_host_port(relay)
    if not fingerprint:
        raise ConfigError("--relay needs --fingerprint: the certificate fingerprint 'vrdiplomacy relay' prints (it pins the relay)")
    from vrdiplomacy.session.host import RelayAddress

    return RelayAddress(host, port, parse_fingerprint(fingerprint))


def why_no_session(host: str, port: int, timeout: float = 2.0) -> str | None:
    """Why a relay could not be reached, told apart: the host name does not resolve, nothing
    listens on the port (refused), or the host does not answer; None when a TCP connection
    opens (the failure was later: TLS, a wrong fingerprint, the relay's welcome)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        return f"cannot resolve the relay host '{host}' ({e.strerror or e}): check the name in --relay"
    last: OSError | None = None
    for fam, kind, proto, _, addr in infos:
        try:
            with socket.socket(fam, kind, proto) as s:
                s.settimeout(timeout)
                s.connect(addr)
                return None
        except ConnectionRefusedError:
            return (f"the relay at {host}:{port} refused the connection: nothing listens on that port "
                    "(is 'vrdiplomacy relay' running there, on this port?)")
        except TimeoutError:
            last = TimeoutError(f"no answer within {timeout:g} s")
        except OSError as e:
            last = e
    why = last.strerror if isinstance(last, OSError) and last.strerror else str(last)
    return f"cannot reach the relay at {host}:{port} ({why}): check the address and any firewall"
