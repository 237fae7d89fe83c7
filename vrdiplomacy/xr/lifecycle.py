"""The OpenXR session lifecycle as a pure state machine: ``step(state, event) -> (state, actions)``.

No OpenXR calls here: the backend feeds it the events it polls (session state changes,
interaction profile changes, instance loss) and the app's own exit request, and carries out
the returned actions in order. Tests walk every path without a runtime.

Session states follow ``XrSessionState``; the machine also tracks whether the session is
running (between xrBeginSession and xrEndSession), whether actions may be synced (FOCUSED
only) and whether the app has finished.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class SessionState(enum.IntEnum):
    """XrSessionState values."""

    UNKNOWN = 0
    IDLE = 1
    READY = 2
    SYNCHRONIZED = 3
    VISIBLE = 4
    FOCUSED = 5
    STOPPING = 6
    LOSS_PENDING = 7
    EXITING = 8


class Act(enum.Enum):
    """What the backend must do, in the order given."""

    BEGIN_SESSION = "begin_session"  # xrBeginSession (primary stereo)
    END_SESSION = "end_session"  # xrEndSession
    REQUEST_EXIT = "request_exit"  # xrRequestExitSession
    DESTROY_SESSION = "destroy_session"  # xrDestroySession (and its spaces, swapchains, trackers)
    RECREATE_SESSION = "recreate_session"  # xrGetSystem + xrCreateSession again (after a loss)
    DESTROY_INSTANCE = "destroy_instance"
    REFRESH_PROFILE = "refresh_profile"  # xrGetCurrentInteractionProfile for both hands
    FINISH = "finish"  # the app's XR part is done; begin_frame returns None from now on


class EventKind(enum.Enum):
    STATE_CHANGED = "state_changed"
    PROFILE_CHANGED = "interaction_profile_changed"
    INSTANCE_LOSS_PENDING = "instance_loss_pending"
    APP_EXIT = "app_exit"  # the user closed the app (desktop key, signal, end of a script)
    SESSION_RECREATED = "session_recreated"  # RECREATE_SESSION succeeded: a new session exists


@dataclass(frozen=True)
class Event:
    kind: EventKind
    state: SessionState = SessionState.UNKNOWN


@dataclass(frozen=True)
class Lifecycle:
    """The app's view of its session.

    Fields: ``state`` the last session state the runtime reported; ``running`` between a
    successful xrBeginSession and xrEndSession; ``exit_requested`` the app wants out;
    ``finished`` nothing more to do; ``recover`` whether a lost session is recreated (else the
    app finishes with ``reason``); ``losses`` how many sessions were lost so far;
    ``max_recoveries`` after that many losses, stop trying; ``reason`` why the app finished
    (empty for a normal exit).
    """

    state: SessionState = SessionState.UNKNOWN
    running: bool = False
    exit_requested: bool = False
    finished: bool = False
    recover: bool = True
    losses: int = 0
    max_recoveries: int = 3
    reason: str = ""

    @property
    def focused(self) -> bool:
        """Actions are synced only while FOCUSED."""
        return self.state == SessionState.FOCUSED and self.running

    @property
    def visible(self) -> bool:
        return self.state in (SessionState.VISIBLE, SessionState.FOCUSED) and self.running

    @property
    def frames_running(self) -> bool:
        """The frame loop (wait/begin/end frame) runs in these states."""
        return self.running and self.state in (
            SessionState.SYNCHRONIZED, SessionState.VISIBLE, SessionState.FOCUSED, SessionState.READY,
        )


def step(lc: Lifecycle, event: Event) -> tuple[Lifecycle, list[Act]]:
    """The next lifecycle and the actions that get there."""
    if lc.finished:
        return lc, []
    kind = event.kind
    if kind == EventKind.PROFILE_CHANGED:
        return lc, [Act.REFRESH_PROFILE]
    if kind == EventKind.INSTANCE_LOSS_PENDING:
        return replace(lc, finished=True, running=False, reason="the OpenXR runtime is going away (instance loss pending)"), [
            Act.DESTROY_SESSION, Act.DESTROY_INSTANCE, Act.FINISH,
        ]
    if kind == EventKind.APP_EXIT:
        if lc.running:
            return replace(lc, exit_requested=True), [Act.REQUEST_EXIT]
        return replace(lc, exit_requested=True, finished=True), [Act.DESTROY_SESSION, Act.FINISH]
    if kind == EventKind.SESSION_RECREATED:
        return replace(lc, state=SessionState.UNKNOWN, running=False), []
    s = event.state
    lc = replace(lc, state=s)
    if s == SessionState.READY:
        if lc.exit_requested:
            return replace(lc, finished=True), [Act.DESTROY_SESSION, Act.FINISH]
        return replace(lc, running=True), [Act.BEGIN_SESSION]
    if s == SessionState.STOPPING:
        return replace(lc, running=False), [Act.END_SESSION]
    if s == SessionState.EXITING:
        return replace(lc, running=False, finished=True), [Act.DESTROY_SESSION, Act.FINISH]
    if s == SessionState.LOSS_PENDING:
        losses = lc.losses + 1
        if lc.recover and not lc.exit_requested and losses <= lc.max_recoveries:
            return replace(lc, running=False, losses=losses), [Act.DESTROY_SESSION, Act.RECREATE_SESSION]
        why = "the OpenXR session was lost" + (f" {losses} times" if losses > 1 else "")
        return replace(lc, running=False, losses=losses, finished=True, reason=why), [Act.DESTROY_SESSION, Act.FINISH]
    return lc, []
