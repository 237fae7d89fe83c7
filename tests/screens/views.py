"""Meeting views the screen and panel tests draw (a plenary with a chair and a speakers' list)."""

from __future__ import annotations

from vrdiplomacy.session.meeting_view import MeetingView, Participant, QueueEntry

AGENDA = ("Adoption of the agenda", "Climate finance: the draft decision", "Maritime boundaries in the Arctic",
          "Budget of the secretariat", "Any other business")


def participants() -> tuple[Participant, ...]:
    return (
        Participant(1, "Ambassador Amina Diallo", "SEN", "chair", verified=True),
        Participant(2, "Mr. Jean Moreau", "FRA", "head", speaking=True, verified=True),
        Participant(3, "Ms. Keiko Tanaka", "JPN", "head", hand_raised=True, verified=True),
        Participant(4, "Dr. Carlos Rivera", "MEX", "delegate", hand_raised=True),
        Participant(5, "Mrs. Ngozi Okafor", "NGA", "adviser", muted=True),
        Participant(6, "Mr. Lars Eriksson", "SWE", "observer", present=False),
        Participant(7, "Ms. Priya Natarajan", "IND", "head", hand_raised=True),
        Participant(8, "Mr. Oleksandr Kovalenko", "UKR", "interpreter"),
    )


def plenary(time: float = 100.0, remaining: float = 134.4, chair: bool = False, sent_at: float = 98.5,
            queue_from: int = 0) -> MeetingView:
    parts = participants()
    queue = (QueueEntry(3, "Ms. Keiko Tanaka", "JPN"), QueueEntry(4, "Dr. Carlos Rivera", "MEX", "point_of_order"),
             QueueEntry(7, "Ms. Priya Natarajan", "IND"), QueueEntry(9, "Mr. Ahmed Hassan", "EGY"),
             QueueEntry(10, "Ms. Ana Souza", "BRA", "reply"), QueueEntry(11, "Mr. Tomasz Nowak", "POL"),
             QueueEntry(12, "Ms. Mei Lin", "CHN"))[queue_from:]
    me = parts[0] if chair else Participant(7, "Ms. Priya Natarajan", "IND", "head", hand_raised=True)
    return MeetingView(time=time, speaker=QueueEntry(2, "Mr. Jean Moreau", "FRA"), speaking_time_s=180.0,
                       remaining_s=remaining, queue=queue, agenda=AGENDA, agenda_index=1, phase="general_debate",
                       participants=parts, me=me, my_place=None if chair else 3, mic_on=True, push_to_talk=not chair,
                       listening="floor" if chair else "fr", last_sent_gesture=None if chair else "raise_hand",
                       last_sent_at=sent_at, chair_controls=chair,
                       notices=("Speaking time set to 3 minutes",) if chair else ("The chair gave the floor to France",))
