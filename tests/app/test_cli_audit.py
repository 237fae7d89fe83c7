"""What a user meets walking through the command line: interruptions and bad paths.

Each test reproduces a problem found by following the README on main f9b5d6e.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from vrdiplomacy import cli
from vrdiplomacy.app.signals import exit_code, leave_on_signal


class _Seen(logging.Handler):
    """Sets an event when a log line containing ``text`` is emitted."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.INFO)
        self.text = text
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


def test_ctrl_c_in_join_leaves_with_the_summary_and_at_once(caplog: pytest.LogCaptureFixture) -> None:
    """Ctrl-C in ``join --mode offscreen`` ends the frame loop as Esc does: the summary is logged,
    the exit status is 130, and the process is done within seconds.

    Fails on main f9b5d6e: Ctrl-C raised KeyboardInterrupt out of the frame loop, so ``join`` said
    only "interrupted" (no "left after N frames", no end-to-end account); and offscreen frames ran
    ahead of llvmpipe, so a 3 s run then waited 15-30 s in eglDestroyContext for the queued frames."""
    caplog.set_level(logging.INFO)
    seen = _Seen("joined a local session")
    logging.getLogger("vrdiplomacy").addHandler(seen)
    sent: list[float] = []

    def interrupt() -> None:
        if seen.event.wait(60):
            time.sleep(1.0)  # some frames in the queue
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=interrupt, daemon=True)
    t.start()
    try:
        rc = cli.main(["join", "--mode", "offscreen", "--size", "320x180", "--duration", "120"])
    finally:
        logging.getLogger("vrdiplomacy").removeHandler(seen)
    done = time.monotonic()
    t.join(5)
    assert sent, "join never said it had joined"
    assert rc == 130
    text = caplog.text
    assert "SIGINT: leaving (Ctrl-C again to quit at once)" in text
    assert "left after" in text and "frame loop:" in text, text[-2000:]
    assert done - sent[0] < 6.0, f"join took {done - sent[0]:.1f} s to end after Ctrl-C"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back as it was


def test_leave_on_signal_asks_once_then_interrupts() -> None:
    """The first SIGTERM asks the loop to end (the demo's loop then prints its summary and exits 143);
    a second signal interrupts at once. Fails on main f9b5d6e (the demo had no such handling: Ctrl-C
    dropped summary.json and the summary)."""
    stops: list[int] = []
    with pytest.raises(KeyboardInterrupt), leave_on_signal(lambda: stops.append(1)) as got:
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not stops and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stops == [1] and exit_code(got) == 143
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_an_uncreatable_folder_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``identity init --dir`` under a file. Fails on main f9b5d6e: a NotADirectoryError traceback."""
    (tmp_path / "afile").write_text("x")
    rc = cli.main(["identity", "init", "delegation", "--name", "France", "--country", "FR",
                   "--dir", str(tmp_path / "afile" / "france")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert err.strip() == f"error: Not a directory: {tmp_path / 'afile' / 'france'}"


@pytest.mark.parametrize(("option", "expected"), [
    (["--stats-file", "{tmp}/no/such/folder/stats.json"], ("error: --stats-file {tmp}/no/such/folder/stats.json: "
                                                           "cannot write it (no writable folder {tmp}/no/such/folder)")),
    (["--layout", "chamber={tmp}/layout.txt"], ("error: --layout chamber={tmp}/layout.txt: a layout file is a .json "
                                                "file (or name a scene: chamber, bilateral, embassy)")),
])
def test_relay_refuses_a_bad_file_option_at_start(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   option: list[str], expected: str) -> None:
    """Fails on main f9b5d6e: an unwritable ``--stats-file`` started the relay anyway and logged "cannot
    write stats file ... .relay-statsXXXX" every second, forever; ``--layout ROOM=FILE`` naming an
    existing non-.json file said "assets/layouts/FILE.json: layout file not found"."""
    (tmp_path / "layout.txt").write_text("{}")
    rc = cli.main(["relay", "--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "state"),
                   *(o.format(tmp=tmp_path) for o in option)])
    assert rc == 2
    assert capsys.readouterr().err.strip() == expected.format(tmp=tmp_path)


def test_reception_options_without_a_relay_are_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``join --exhibits FILE`` without ``--relay`` runs a local session. Fails on main f9b5d6e: the
    option (even a file that does not exist) was silently ignored; so were ``--pass`` and ``--capacity``."""
    rc = cli.main(["join", "--mode", "offscreen", "--scene", "embassy", "--exhibits", str(tmp_path / "nope.toml")])
    assert rc == 2
    assert capsys.readouterr().err.strip() == ("error: --exhibits needs --relay HOST:PORT: a reception is a room on "
                                               "a relay (without --relay, join runs a local session)")


def test_no_running_client_names_the_control_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``reception line`` with no client running. Fails on main f9b5d6e: the answer said
    "'vrdiplomacy meeting' acts through it" to a user of 'vrdiplomacy reception'."""
    sock = tmp_path / "none.sock"
    rc = cli.main(["reception", "line", "--control", str(sock)])
    assert rc == 2
    assert capsys.readouterr().err.strip() == (f"error: no running client at {sock}: start 'vrdiplomacy join' (or "
                                               "the demo) first; this command acts through it (or name its socket "
                                               "with --control PATH)")


@pytest.mark.parametrize(("argv", "expected"), [
    (["demo", "--window-size", "abc", "--duration", "1"],
     "error: --window-size must look like WIDTHxHEIGHT (e.g. 640x360), got 'abc'"),
    (["render", "--size", "64x36", "--guests", "99999", "--out", "{tmp}/r.png"],
     "error: --guests must be between 0 and 2000, got 99999"),
    (["render", "--size", "64x36", "--speakers", "-1", "--out", "{tmp}/r.png"], "error: --speakers must be >= 0, got -1"),
])
def test_out_of_range_numbers_name_their_option(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                argv: list[str], expected: str) -> None:
    """Fails on main f9b5d6e: ``demo --window-size abc`` blamed ``--size``; ``render --guests 99999``
    drew 100191 avatars for 33 s; ``render --speakers -1`` was taken as 0 without a word."""
    rc = cli.main([a.format(tmp=tmp_path) for a in argv])
    assert rc == 2
    assert capsys.readouterr().err.strip() == expected


@pytest.mark.parametrize("argv", [
    ["identity", "invite", "--room", "chamber", "--member", "m.crt", "--role", "head", "-o", "x.invite", "--days", "nan"],
    ["reception", "invite", "--guest", "Ada", "-o", "ada.pass", "--hours", "nan"],
    ["join", "--duration", "nan"],
    ["relay", "--audible-radius", "inf"],
])
def test_nan_and_inf_are_refused_as_numbers(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Fails on main f9b5d6e: ``--days nan`` and ``--hours nan`` ended in a ValueError traceback (NaN passed
    every range check); ``join --duration nan`` never ended."""
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1].endswith(f"not a finite number: {argv[-1]!r}")


@pytest.mark.parametrize("timeout", ["-1", "0"])
def test_a_control_timeout_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str], timeout: str) -> None:
    """Fails on main f9b5d6e: ``meeting --timeout -1`` was a ValueError traceback from socket.settimeout;
    ``--timeout 0`` made the socket non-blocking and said "[Errno 11] Resource temporarily unavailable"."""
    rc = cli.main(["meeting", "--control", str(tmp_path / "none.sock"), "--timeout", timeout, "status"])
    assert rc == 2
    assert capsys.readouterr().err.strip() == f"error: --timeout must be more than 0 seconds, got {timeout}"


def test_identity_show_reads_a_reception_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Every signed file the project writes can be shown with ``identity show``. Fails on main f9b5d6e:
    a reception pass was "not an X.509 certificate" (the README's Identity section says it shares one
    signed-token layer with invitations)."""
    ministry, host = tmp_path / "ministry", tmp_path / "host"
    monkeypatch.delenv("VRDIPLOMACY_PASSPHRASE", raising=False)
    for argv in (["identity", "init", "ministry", "--name", "Ministry", "--country", "FR", "--dir", str(ministry)],
                 ["identity", "init", "delegation", "--name", "Embassy", "--country", "FR", "--dir", str(host)],
                 ["identity", "issue", str(host / "delegation.csr"), "--ca-dir", str(ministry), "--role", "host"],
                 ["reception", "invite", "--guest", "Ada", "--dir", str(host), "-o", str(tmp_path / "ada.pass")]):
        assert cli.main(argv) == 0, argv
    capsys.readouterr()
    assert cli.main(["identity", "show", str(tmp_path / "ada.pass")]) == 0
    out = capsys.readouterr().out
    assert "guest: Ada" in out and "signature: valid" in out


@pytest.mark.parametrize("argv", [
    ["bench", "voice", "--no-pesq", "--output", "{tmp}/no/such/folder/x.wav"],
    ["audio", "test", "--output", "file:{tmp}/no/such/folder/x.wav"],
])
def test_an_unwritable_wav_output_is_refused_before_the_work(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              argv: list[str]) -> None:
    """Fails on main f9b5d6e: ``bench voice --output`` in a missing folder ran the whole benchmark, then
    printed the error followed by an "Exception ignored ... Wave_write" traceback (so did ``audio``)."""
    rc = cli.main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert err.strip() == (f"error: --output {tmp_path}/no/such/folder/x.wav: cannot write it "
                           f"(no writable folder {tmp_path}/no/such/folder)")


def test_a_bad_scope_names_scope(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fails on main f9b5d6e: ``identity init ministry --scope bogus`` said "country must be a two-letter
    code", naming the wrong option (--country was FR)."""
    rc = cli.main(["identity", "init", "ministry", "--name", "M", "--country", "FR", "--dir", str(tmp_path / "m"),
                   "--scope", "bogus"])
    assert rc == 2
    assert capsys.readouterr().err.strip() == ("error: --scope takes two-letter country codes (like FR,DE) or 'any', "
                                               "got 'bogus'")
