"""``join`` and ``demo`` send full-band voice through WebRTC's echo canceller, noise suppressor
and the echo-aware voice activity gate by default (issue 16)."""

from __future__ import annotations

import argparse
import logging

import pytest

from vrdiplomacy.app.session import VoiceOptions, card_input, user_settings
from vrdiplomacy.commands import join
from vrdiplomacy.errors import AssetError
from vrdiplomacy.scene.assets import load_scene
from vrdiplomacy.voice.apm import WebRtcProcessor, webrtc_available
from vrdiplomacy.voice.sender import VoiceSender


@pytest.fixture(scope="module")
def seat():  # type: ignore[no-untyped-def]
    _, layout = load_scene("bilateral")
    return layout.seats[0]


def test_defaults_are_full_band_with_echo_cancellation(seat) -> None:  # type: ignore[no-untyped-def]
    s = user_settings(seat, "bilateral")
    assert (s.sender.opus.bandwidth, s.sender.opus.bitrate) == ("fb", 48000)
    assert s.sender.headphones is False and s.sender.transmit == "vad"
    snd = VoiceSender(1, s.sender)
    if webrtc_available():
        assert isinstance(snd.aec, WebRtcProcessor)
    else:
        assert snd.aec is not None  # our own canceller, after a warning


def test_join_voice_arguments(seat) -> None:  # type: ignore[no-untyped-def]
    p = argparse.ArgumentParser()
    join.add_arguments(p)
    a = p.parse_args([])
    assert (a.mic, a.headphones, a.voice_profile) == ("default", False, "full")
    a = p.parse_args(["--mic", "none", "--headphones", "--voice-profile", "low"])
    s = user_settings(seat, "bilateral", VoiceOptions(a.mic, a.headphones, a.voice_profile))
    assert s.sender.headphones is True and s.sender.opus.bandwidth == "wb"
    assert VoiceSender(1, s.sender).aec is None
    with pytest.raises(SystemExit):
        p.parse_args(["--voice-profile", "hifi"])


def test_missing_microphone_is_one_warning(tmp_path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    assert card_input("none") is None
    with caplog.at_level(logging.WARNING, logger="vrdiplomacy.app"):
        mic = card_input("no-such-card-anywhere")
    assert mic is None and "no microphone" in caplog.text
    with pytest.raises(AssetError, match="not found"):  # a file the user named must exist
        card_input(f"file:{tmp_path}/missing.wav")
