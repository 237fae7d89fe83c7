"""Pieces of a user's session every client mode shares: settings, the sound card, progress."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("vrdiplomacy.app")


@dataclass
class VoiceOptions:
    """The user's voice: ``mic`` the microphone (a device name as ``audio devices`` lists
    them, ``file:PATH.wav``, or "none"); ``headphones`` True turns the echo canceller and
    noise suppressor off (nothing from the loudspeakers reaches the microphone); ``profile``
    "full" (48 kHz Opus up to 20 kHz: the HRTF's front/back and elevation cues are heard) or
    "low" (wideband, 24 kb/s, for poor links)."""

    mic: str = "default"
    headphones: bool = False
    profile: str = "full"


def user_settings(seat: Any, room: str, voice: VoiceOptions | None = None) -> Any:
    """The user's SessionSettings at ``seat``: identity from the delegation, +12 dB listening gain,
    the voice profile and, on loudspeakers (the default), WebRTC echo cancellation and noise
    suppression ahead of the echo-aware voice activity gate."""
    from vrdiplomacy.session.audio import ListenSettings
    from vrdiplomacy.session.runtime import SessionSettings
    from vrdiplomacy.voice.codec import OpusSettings
    from vrdiplomacy.voice.mixer import MixerSettings
    from vrdiplomacy.voice.sender import SenderSettings

    v = voice or VoiceOptions()
    # +12 dB: others sit 2 to 8 m away (inverse-distance law); the limiter keeps peaks below -1 dBFS
    listen = ListenSettings(mixer=MixerSettings(master_gain=4.0))
    sender = SenderSettings(opus=OpusSettings().with_profile(v.profile), headphones=v.headphones)
    return SessionSettings(f"you-{(seat.delegation or seat.seat_id).lower()}", seat.seat_id, room, listen=listen,
                           sender=sender)


def card_input(spec: str) -> Any:
    """The microphone ``spec`` ("none": no microphone), or None (with one warning) when it cannot be opened."""
    from vrdiplomacy.errors import AudioError
    from vrdiplomacy.voice.devices import open_input

    if spec == "none":
        return None
    try:
        return open_input(spec)
    except AudioError as e:
        log.warning("no microphone (%s); you are heard by no one", e)
        return None


def card_output() -> Any:
    """The default sound output, or None (with one warning) when there is none."""
    from vrdiplomacy.errors import AudioError
    from vrdiplomacy.voice.devices import open_output

    try:
        return open_output("default")
    except AudioError as e:
        log.warning("no sound output (%s); running silent", e)
        return None


def progress_line(host: Any, t: float, duration: float) -> str:
    """One progress line: delegates, what arrived, who speaks, who gestures (read in the session's thread)."""
    def line() -> str:
        s = host.session
        c = s.state.counters
        now = s.now
        speaking = sorted(s.state.speaking(now).items(), key=lambda kv: -kv[1])
        who = ", ".join(s.state.members[cid].delegation for cid, _ in speaking[:3] if cid in s.state.members) or "-"
        gestures = ", ".join(f"{m.delegation} {m.gesture}" for m in s.state.members.values() if m.gesture) or "-"
        return (f"[{t:5.1f}/{duration:g} s] {len(s.state.members)} delegates, {c.poses} poses, {c.voice_frames} voice frames, "
                f"{c.gesture_events} gesture events; speaking: {who}; gestures: {gestures}")

    return str(host.call(line))


def start_session(host: Any, relay: Any) -> None:
    """``host.start()``; when the relay cannot be reached, the error says why (the host does not
    resolve, the port refuses, the host does not answer) instead of only that no session came."""
    from vrdiplomacy.app.addresses import why_no_session
    from vrdiplomacy.net.client_io import RelayConnectError

    try:
        host.start()
    except RelayConnectError:
        why = why_no_session(relay.host, relay.port) if relay is not None else None
        if why is None:
            raise
        raise RelayConnectError(why) from None
