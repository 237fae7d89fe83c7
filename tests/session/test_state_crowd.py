"""RoomState.avatars fills a struct-of-arrays Crowd: one row per member, the voice level (what
opens the jaw) from the voice packets, every listener's eyes on the speaker, blinking lids."""

from __future__ import annotations

import numpy as np

from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import Connected, MemberUpdate, VoiceReceived
from vrdiplomacy.scene.crowd import HEAD, Crowd
from vrdiplomacy.scene.layout import load_layout
from vrdiplomacy.session.state import RoomState


def _room(members: int) -> RoomState:
    layout = load_layout("chamber")
    st = RoomState(layout)
    st.apply(Connected(1, False, 1), 0.0)
    for k in range(members):
        st.apply(MemberUpdate(10 + k, f"delegate-{k}", layout.seats[k + 1].seat_id, "present"), 0.0)
    return st


def test_a_voice_opens_the_speakers_jaw_and_turns_the_others_eyes() -> None:
    st = _room(4)
    quiet = st.avatars(0.0)
    assert isinstance(quiet, Crowd) and len(quiet) == 4
    assert (quiet.speaking == 0).all() and np.isnan(quiet.look).all()  # nobody speaks: eyes ahead
    st.apply(VoiceReceived(12, wire.level_byte(-20.0, True), 1, b"x"), 0.1)
    crowd = st.avatars(0.15)
    row = int(np.nonzero(crowd.ids == 12)[0][0])
    assert crowd.speaking[row] > 0.5 and (np.delete(crowd.speaking, row) == 0).all()
    others = np.delete(np.arange(4), row)
    np.testing.assert_allclose(crowd.look[others], np.repeat(crowd.pose[row, HEAD, 0:3][None], 3, axis=0))
    assert np.isnan(crowd.look[row]).all()  # the speaker looks ahead
    louder = st.avatars(0.15).speaking[row]
    assert st.avatars(1.5).speaking[row] < louder  # the jaw closes again as the voice stops


def test_every_member_blinks_within_a_few_seconds() -> None:
    st = _room(6)
    shut = np.array([st.avatars(t).blink for t in np.arange(0.0, 6.0, 0.02)])
    assert shut.shape == (300, 6) and set(np.unique(shut)) <= {0.0, 1.0}
    assert (shut.max(axis=0) == 1.0).all() and shut.mean() < 0.1
