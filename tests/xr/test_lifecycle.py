"""The pure session state machine: every path from READY to EXITING, losses, profile changes."""

from __future__ import annotations

from vrdiplomacy.xr.lifecycle import Act, Event, EventKind, Lifecycle, SessionState, step

S = SessionState


def _walk(states: list[SessionState], lc: Lifecycle | None = None) -> tuple[Lifecycle, list[Act]]:
    lc = lc or Lifecycle()
    acts: list[Act] = []
    for s in states:
        lc, a = step(lc, Event(EventKind.STATE_CHANGED, s))
        acts += a
    return lc, acts


def test_ready_begins_and_focus_allows_sync() -> None:
    lc, acts = _walk([S.IDLE, S.READY])
    assert acts == [Act.BEGIN_SESSION] and lc.running and not lc.focused
    lc, _ = _walk([S.SYNCHRONIZED, S.VISIBLE], lc)
    assert lc.visible and not lc.focused and lc.frames_running
    lc, _ = _walk([S.FOCUSED], lc)
    assert lc.focused


def test_runtime_exit_path_ends_session_then_finishes() -> None:
    lc, _ = _walk([S.IDLE, S.READY, S.SYNCHRONIZED, S.VISIBLE, S.FOCUSED])
    lc, acts = _walk([S.VISIBLE, S.SYNCHRONIZED, S.STOPPING], lc)
    assert acts == [Act.END_SESSION] and not lc.running and not lc.frames_running
    lc, acts = _walk([S.IDLE, S.EXITING], lc)
    assert acts == [Act.DESTROY_SESSION, Act.FINISH] and lc.finished and lc.reason == ""


def test_app_exit_requests_exit_when_running_and_finishes_when_not() -> None:
    lc, _ = _walk([S.IDLE, S.READY, S.SYNCHRONIZED])
    lc, acts = step(lc, Event(EventKind.APP_EXIT))
    assert acts == [Act.REQUEST_EXIT] and lc.exit_requested and not lc.finished
    lc2, acts2 = step(Lifecycle(state=S.IDLE), Event(EventKind.APP_EXIT))
    assert acts2 == [Act.DESTROY_SESSION, Act.FINISH] and lc2.finished


def test_exit_requested_then_ready_does_not_begin_again() -> None:
    lc = Lifecycle(state=S.IDLE, exit_requested=True)
    lc, acts = step(lc, Event(EventKind.STATE_CHANGED, S.READY))
    assert Act.BEGIN_SESSION not in acts and lc.finished


def test_loss_pending_recovers_until_the_limit_then_finishes_with_reason() -> None:
    lc = Lifecycle(max_recoveries=2)
    for i in range(2):
        lc, _ = _walk([S.IDLE, S.READY, S.SYNCHRONIZED], lc)
        lc, acts = _walk([S.LOSS_PENDING], lc)
        assert acts == [Act.DESTROY_SESSION, Act.RECREATE_SESSION], i
        lc, _ = step(lc, Event(EventKind.SESSION_RECREATED))
        assert lc.state == S.UNKNOWN and not lc.running
    lc, acts = _walk([S.IDLE, S.READY, S.LOSS_PENDING], lc)
    assert acts[-1] == Act.FINISH and lc.finished and "lost 3 times" in lc.reason


def test_loss_without_recovery_finishes() -> None:
    lc, acts = _walk([S.IDLE, S.READY, S.LOSS_PENDING], Lifecycle(recover=False))
    assert acts[-2:] == [Act.DESTROY_SESSION, Act.FINISH] and "lost" in lc.reason


def test_profile_change_and_instance_loss() -> None:
    lc, _ = _walk([S.IDLE, S.READY, S.FOCUSED])
    lc2, acts = step(lc, Event(EventKind.PROFILE_CHANGED))
    assert acts == [Act.REFRESH_PROFILE] and lc2 == lc
    lc3, acts = step(lc, Event(EventKind.INSTANCE_LOSS_PENDING))
    assert acts == [Act.DESTROY_SESSION, Act.DESTROY_INSTANCE, Act.FINISH] and lc3.finished and "instance" in lc3.reason
    assert step(lc3, Event(EventKind.STATE_CHANGED, S.READY)) == (lc3, [])
