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
    vrdiplomacy meeting vote-open item-4/1 --question "Adopt draft L.12?" --recorded
    vrdiplomacy meeting vote-cast yes         # or: vote-cast item-4/1 yes
    vrdiplomacy meeting vote-status
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
      vote-open LABEL --question Q   chair: open a vote (secret ballot; --recorded for a roll-call vote;
                             --options yes,no,abstain --voters A,B --trustees A,B,C --threshold 2
                             --closes-in S --item N; voters default to every delegate and head)
      vote-cast [LABEL] CHOICE   cast your vote in LABEL (default: the latest vote)
      vote-close [LABEL]     chair: close the vote now (it closes by itself once everyone voted)
      vote-status            every vote: question, ballots cast of eligible, the verified result
    MEMBER: a delegation code (FRA), a name or a seat id. Votes need an end-to-end encrypted room.
    """)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = ACTIONS_HELP
    p.add_argument("action", metavar="ACTION", help="see the list below")
    p.add_argument("args", nargs="*", metavar="ARG", help="the MEMBER, or the agenda's items")
    p.add_argument("--time", type=float, metavar="S", help="speaking time in seconds (grant: this turn, default the room's per-turn time; time: per turn, 0 unlimited)")
    p.add_argument("--item", type=int, metavar="N", help="agenda item number, 1 for the first (item)")
    p.add_argument("--phase", metavar="NAME", help="the phase (phase): opening, general_debate, negotiation, drafting, voting, closing or suspended")
    p.add_argument("--control", type=Path, metavar="PATH",
                   help="the running client's control socket (default: meeting.sock in your state folder; "
                        "'join --control' sets it)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds to wait for the answer (default 10)")
    v = p.add_argument_group("votes (vote-open)")
    v.add_argument("--question", metavar="TEXT", help="the question put to the vote")
    v.add_argument("--options", metavar="A,B,...", help="the choices (default yes,no,abstain)")
    v.add_argument("--recorded", action="store_true", help="a recorded (roll-call) vote, shown per delegation")
    v.add_argument("--voters", metavar="NAMES", help="who votes, certificate names (default: every delegate and head)")
    v.add_argument("--trustees", metavar="NAMES", help="secret ballot: who holds key shares (default: you and two voters)")
    v.add_argument("--threshold", type=int, metavar="K", help="secret ballot: trustees needed to decrypt (default: all trustees but one, at least 1)")
    v.add_argument("--closes-in", type=float, metavar="S", help="close after S seconds (default: once everyone voted)")
    v.add_argument("--deadline", type=float, metavar="S",
                   help="without --closes-in: close after S seconds even if not everyone voted; a secret ballot "
                        "whose trustees' key or tally takes longer fails, naming the absent trustees (default 120)")


def run(args: argparse.Namespace) -> int:
    from vrdiplomacy.app.meeting_control import (
        command_from_args,
        control_path,
        send_command,
    )
    from vrdiplomacy.app.vote_control import VOTE_ACTIONS
    from vrdiplomacy.errors import ConfigError

    if args.action.replace("-", "_") in VOTE_ACTIONS:
        cmd = _vote_command(args)
        ok, line = send_command(control_path(args.control), cmd, args.timeout)
        print(line)
        return 0 if ok else 1
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


def _vote_command(args: argparse.Namespace) -> object:
    """The control command of ``vote-open|cast|close|status`` from the words and options."""
    from vrdiplomacy.app.meeting_control import MeetingCommand
    from vrdiplomacy.app.vote_control import vote_command_data
    from vrdiplomacy.errors import ConfigError

    act = args.action.replace("-", "_")
    words = list(args.args)
    if act == "vote_open":
        if len(words) != 1:
            raise ConfigError("vote-open takes the vote's label: vote-open item-4/1 --question '...'")
        data = vote_command_data(args.question, args.options, args.recorded, args.voters, args.trustees, args.threshold,
                                 args.closes_in, str(args.item) if args.item else "", args.deadline)
        return MeetingCommand(act, words[0], 0, data)
    if act == "vote_cast":
        if len(words) not in (1, 2):
            raise ConfigError("vote-cast takes [LABEL] CHOICE: vote-cast yes, or vote-cast item-4/1 no")
        return MeetingCommand(act, words[0] if len(words) == 2 else None, 0, words[-1])
    if len(words) > 1:
        raise ConfigError(f"{args.action} takes at most the vote's label")
    return MeetingCommand(act, words[0] if words else None)
