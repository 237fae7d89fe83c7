"""What the HUD card says about a room's security, from the secure room's events."""

from __future__ import annotations

from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import RelayNotice
from vrdiplomacy.net.secure import KeysChanged, RoomCodeChanged, RosterChanged, SecurityAlert
from vrdiplomacy.session.security import SecuritySettings, SecurityStatus

CODE = "11111 22222 33333 44444 55555 66666"


def test_unsecured_room_keeps_its_reason_on_the_amber_card() -> None:
    s = SecurityStatus(secured=False)
    # the amber card (not the red alert), and its reason stays on it (issue 17)
    assert s.hud_lines(1.0) == (("Not end-to-end encrypted", "the relay's host can listen"), False)
    assert s.hud_lines(60.0) == (("Not end-to-end encrypted", "the relay's host can listen"), False)


def test_code_roster_news_and_alerts_take_turns_on_the_card() -> None:
    s = SecurityStatus(secured=True, settings=SecuritySettings(alert_s=5.0))
    assert s.hud_lines(0.0) == (("Room code", "verifying keys..."), False)
    s.apply(RosterChanged(1, {0: "Chair (CH), chair", 1: "France (FR), head"}, ["Chair (CH), chair", "France (FR), head"], [], True), 1.0)
    assert s.hud_lines(2.0) == (("Roster v1: 2 members", "joined: Chair (CH), France (FR)"), False)
    s.apply(RoomCodeChanged(CODE, 1), 2.5)
    s.apply(KeysChanged(0, "Chair", 1), 2.6)
    assert s.hud_lines(7.0) == (("Room code", "11111 22222 33333", "44444 55555 66666"), False)  # news over
    s.apply(RoomCodeChanged(CODE.replace("1", "9"), 2), 10.0)
    assert s.hud_lines(11.0)[0][0] == "Room code changed"  # a new code is news
    s.apply(SecurityAlert("a frame signed by the wrong key from France"), 12.0)
    lines, red = s.hud_lines(13.0)
    assert red and lines == ("Security alert", "a frame signed by the wrong key from France")
    assert s.hud_lines(20.0) == (("Room code", "99999 22222 33333", "44444 55555 66666"), False)
    s.apply(RosterChanged(3, {0: "Chair (CH), chair"}, [], ["France (FR), head"], False), 21.0)
    assert s.hud_lines(22.0) == (("Roster v3: 1 members", "left: France (FR); you are not a member"), True)
    r = s.report()
    assert r["room_code"] == CODE.replace("1", "9") and r["code_changes"] == 2 and r["security_alerts"] == 1
    assert any("Security alert" in line for line in r["log"])  # type: ignore[union-attr]


def test_the_card_never_shows_the_code_while_a_participant_is_not_verified() -> None:
    s = SecurityStatus(secured=True, settings=SecuritySettings(alert_s=5.0))
    s.apply(RoomCodeChanged(CODE, 1), 0.0)
    assert s.hud_lines(1.0) == (("Room code", "11111 22222 33333", "44444 55555 66666"), False)
    s.set_unverified(["Observer"], 2.0)
    assert s.hud_lines(2.0) == (("1 participant not verified", "relay says: Observer"), True)
    assert s.hud_lines(600.0)[0][0] == "1 participant not verified"  # no timeout: as long as it is true
    s.apply(RosterChanged(2, {0: "Chair (CH), chair", 1: "Spain (ES), head"}, ["Spain (ES), head"], [], True), 601.0)
    lines, red = s.hud_lines(602.0)  # other news goes under it, not in its place
    assert red and lines == ("1 participant not verified", "relay says: Observer", "Roster v2: 2 members: joined: Spain (ES)")
    s.set_unverified(["Observer", "France"], 603.0)
    assert s.hud_lines(610.0)[0] == ("2 participants not verified", "relay says: Observer, France")
    s.set_unverified([], 611.0)
    assert s.hud_lines(612.0) == (("Room code", "11111 22222 33333", "44444 55555 66666"), False)
    r = s.report()
    assert r["unverified"] == [] and any("2 participants not verified" in line for line in r["log"])  # type: ignore[union-attr]


def test_a_relay_notice_shows_on_the_card() -> None:
    s = SecurityStatus(secured=True, settings=SecuritySettings(alert_s=5.0))
    s.apply(RoomCodeChanged(CODE, 1), 0.0)
    s.apply(RelayNotice(wire.NOTICE_UNSECURED_REFUSED, "refused an unsecured client 'Observer': this room needs end-to-end encryption"), 1.0)
    assert s.hud_lines(2.0) == (("Relay notice", "refused an unsecured client 'Observer': this room needs end-to-end encryption"), True)
    assert s.hud_lines(7.0)[0][0] == "Room code"
    assert s.report()["relay_notices"] == 1
