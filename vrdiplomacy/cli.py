"""Command-line entry point: ``vrdiplomacy COMMAND ...`` (also ``python -m vrdiplomacy``).

Each subcommand lives in ``vrdiplomacy/commands/<name>.py`` with ``add_arguments(parser)`` and
``run(args) -> int``; only the chosen one is imported, so ``--help`` stays fast and native
libraries (GL, OpenXR, Opus, PortAudio) load only where needed.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import sys
from collections.abc import Sequence

from vrdiplomacy import __version__
from vrdiplomacy.errors import VrdError

# name -> (module, one-line help). Keep sorted by how often people use them.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("vrdiplomacy.commands.demo", "run the demo: a chamber session, headless when there is no display"),
    "join": ("vrdiplomacy.commands.join", "join a session as a delegate (modes: auto, xr, desktop, offscreen)"),
    "relay": ("vrdiplomacy.commands.relay", "run a relay server that routes sessions it cannot read"),
    "meeting": ("vrdiplomacy.commands.meeting", "chair and delegate actions in a running session (grant, mute, agenda, ...)"),
    "reception": ("vrdiplomacy.commands.reception", "host a reception: invite guests, greet the line, announce, set capacity"),
    "render": ("vrdiplomacy.commands.render", "render a scene to PNG headless (chamber, bilateral, embassy)"),
    "qa": ("vrdiplomacy.commands.qa", "run a scripted headless session against the simulated headset"),
    "gestures": ("vrdiplomacy.commands.gestures", "classify recorded gesture input or score labelled recordings (JSON Lines)"),
    "audio": ("vrdiplomacy.commands.audio", "list and test audio devices"),
    "bench": ("vrdiplomacy.commands.bench", "measure voice quality, latency and loss (bench voice)"),
    "identity": ("vrdiplomacy.commands.identity", "create, issue, show and verify delegation identities"),
    "record": ("vrdiplomacy.commands.record", "keep, verify and export the meeting's signed record (minutes)"),
    "vote": ("vrdiplomacy.commands.vote", "open, cast and follow votes in a secured room; verify a published board offline"),
    "text": ("vrdiplomacy.commands.text", "read and edit a joint draft (bracketed text, CRDT-merged) in a secured room"),
}

EPILOG = "Run 'vrdiplomacy COMMAND --help' for the options of one command."


def _chosen(argv: Sequence[str]) -> str | None:
    for tok in argv:
        if not tok.startswith("-"):
            return tok
    return None


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="vrdiplomacy",
        description="vrdiplomacy: an OpenXR desktop VR client where diplomats meet.",
        epilog=EPILOG,
    )
    top.add_argument("--version", action="version", version=f"vrdiplomacy {__version__}")
    top.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    top.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    chosen = _chosen(argv)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        p.set_defaults(_module=module)
        if name == chosen:
            importlib.import_module(module).add_arguments(p)
            _finite_floats(p)
    return top


def finite_float(text: str) -> float:
    """A number option's value: argparse's ``float`` also takes "nan" and "inf", which slipped past
    every range check (``--days nan`` ended in a ValueError traceback, ``join --duration nan`` never
    ended)."""
    v = float(text)
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return v


finite_float.__name__ = "float"  # argparse names the type in "invalid float value: 'x'"


def _finite_floats(parser: argparse.ArgumentParser) -> None:
    """Every ``type=float`` option of ``parser`` and its sub-commands takes finite numbers only."""
    for action in parser._actions:
        if action.type is float:
            action.type = finite_float
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _finite_floats(sub)


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.INFO if verbose <= 1 else logging.DEBUG)
    if not quiet and verbose == 0:
        level = logging.INFO
    logging.basicConfig(level=level, format="%(message)s" if verbose < 2 else "%(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    if not args.command:
        parser.print_help()
        return 0
    _setup_logging(args.verbose, args.quiet)
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except VrdError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except OSError as e:  # a path the user gave that cannot be made, read or written: one line, no traceback
        print(f"error: {_os_error(e)}", file=sys.stderr)
        return 2


def _os_error(e: OSError) -> str:
    """``No such file or directory: /proc/x`` (or the text of an error that names no file)."""
    what = e.strerror or str(e)
    names = [str(n) for n in (e.filename, e.filename2) if n is not None]
    return f"{what}: {' -> '.join(names)}" if names else what


if __name__ == "__main__":
    raise SystemExit(main())
