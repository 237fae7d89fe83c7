"""``vrdiplomacy meeting ACTION``: the chair's, secretariat's and delegates' procedure actions,
sent through a running client (``vrdiplomacy join`` or the demo) as its member.

Examples::

    vrdiplomacy meeting status
    vrdiplomacy meeting grant                 # the floor to the first on the list
    vrdiplomacy meeting grant France --time 90
    vrdiplomacy meeting time --time 120       # speaking time per turn (0: unlimited)
    vrdiplomacy meeting revoke
    vrdiplomacy meeting mute Japan            # unmute Japan
    vrdiplomacy meeting agenda "Adoption of the agenda" "Climate finance" "Any other business"
    vrdiplomacy meeting item --item 2
    vrdiplomacy meeting phase --phase negotiation
    vrdiplomacy meeting raise | lower | point-of-order | reply | yield
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

ACTIONS_HELP = textwrap.dedent("""\
    actions:
      status                 the floor, time left, the speakers' list, the agenda item and phase
      raise, lower           ask for the floor / withdraw (delegates)
      point-of-order, reply  a point of order (jumps the list) / the right of reply
      yield                  end your own statement
      grant [MEMBER]         chair: the floor to MEMBER, or the first on the list (--time S for this turn)
      revoke                 chair: end the current statement
      time --time S          chair: speaking time per turn (0: unlimited); when it runs out the floor passes
      mute/unmute MEMBER     chair: the relay stops/starts forwarding MEMBER's voice
      clear MEMBER           chair: take MEMBER off the list and the floor
      agenda ITEM...         chair, secretariat: set the agenda
      item --item N          chair, secretariat: the current agenda item (1-based)
      phase --phase NAME     chair, secretariat: opening, general_debate, negotiation, drafting, voting, closing, suspended
    MEMBER: a delegation code (FRA), a name or a seat id.
    """)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = ACTIONS_HELP
    p.add_argument("action", metavar="ACTION", help="see the list below")
    p.add_argument("args", nargs="*", metavar="ARG", help="the MEMBER, or the agenda's items")
    p.add_argument("--time", type=float, metavar="S", help="speaking time in seconds (grant, time)")
    p.add_argument("--item", type=int, metavar="N", help="agenda item number, 1 for the first (item)")
    p.add_argument("--phase", metavar="NAME", help="the phase (phase)")
    p.add_argument("--control", type=Path, metavar="PATH",
                   help="the running client's control socket (default: meeting.sock in your state folder; "
                        "'join --control' sets it)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds to wait for the answer (default 10)")


def run(args: argparse.Namespace) -> int:
    from vrdiplomacy.app.meeting_control import (
        command_from_args,
        control_path,
        send_command,
    )
    from vrdiplomacy.errors import ConfigError

    items = list(args.args)
    member = None
    if args.action != "agenda":
        if len(items) > 1:
            raise ConfigError(f"{args.action} takes at most one MEMBER, got {len(items)}")
        member = items[0] if items else None
        items = []
    cmd = command_from_args(args.action, member, args.time, items, args.phase, args.item)
    ok, line = send_command(control_path(args.control), cmd, args.timeout)
    print(line)
    return 0 if ok else 1
