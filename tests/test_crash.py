"""A session killed at any moment (`kill -9`, the terminal closed, the SSH link dropped) loses nothing it had
shown as saved, and leaves a database that passes SQLite's integrity check."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import sqlite3
import struct
import sys
import termios
import time
from pathlib import Path

import pytest
from processes import acct, child_env, start_writer

from acct_tui.store.db import close_database, open_database
from acct_tui.store.queries import account_detail
from acct_tui.store.services import create_account


def kill_mid_burst(db_path: Path, how: signal.Signals, after: int) -> list[str]:
    """Start a writer, let it report `after` saves, kill it with `how`; returns every id it printed."""
    writer = start_writer(db_path, f"killed-{how.name}", 100_000)
    try:
        assert writer.stdout.readline().strip() == "ready"
        printed = [writer.stdout.readline().strip() for _ in range(after)]
        writer.send_signal(how)
        rest, errors = writer.communicate(timeout=30)
    finally:
        writer.kill()
    assert writer.returncode == -how, errors
    assert "Traceback" not in errors
    return printed + rest.split()  # lines it managed to print before dying were shown as saved too


def assert_intact_with(db_path: Path, printed: list[str]) -> None:
    connection = sqlite3.connect(db_path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        stored = {row[0] for row in connection.execute("SELECT id FROM account")}
        incomplete = connection.execute(
            "SELECT COUNT(*) FROM account LEFT JOIN run ON run.account_id = account.id "
            "WHERE run.id IS NULL OR (SELECT COUNT(*) FROM step_state WHERE run_id = run.id) != 20"
        ).fetchone()[0]
    finally:
        connection.close()
    missing = {committed.replace("-", "") for committed in printed} - stored  # Peewee stores UUIDs as hex
    assert not missing, f"{len(missing)} saved accounts lost"
    assert incomplete == 0  # the killed transaction left no account without its run and 20 steps


@pytest.mark.parametrize(("how", "after"), [
    (signal.SIGKILL, 7),
    (signal.SIGKILL, 61),
    (signal.SIGHUP, 23),
    (signal.SIGTERM, 40),
])
def test_a_killed_session_keeps_everything_it_showed_as_saved(db_path, how, after):
    open_database(db_path)
    create_account("Saved before the crash")
    close_database()
    printed = kill_mid_burst(db_path, how, after)
    assert len(printed) >= after
    assert_intact_with(db_path, printed)
    listing = acct("accounts", "list", "--json", db=db_path)  # the next session opens it as usual
    assert listing.returncode == 0, listing.stderr
    assert "Saved before the crash" in listing.stdout


def test_two_kills_in_a_row_on_the_same_database(db_path):
    printed = kill_mid_burst(db_path, signal.SIGKILL, 15) + kill_mid_burst(db_path, signal.SIGHUP, 15)
    assert_intact_with(db_path, printed)


@pytest.mark.parametrize("moment", ["the file appears", "its WAL appears", "its first account is saved"])
def test_a_session_killed_while_creating_the_database_leaves_one_that_opens(db_path, moment):
    """Killed during its first start: before, while or just after the schema is created."""
    watched = {"the file appears": db_path, "its WAL appears": db_path.with_name("acct.db-wal")}.get(moment)
    writer = start_writer(db_path, "first", 100_000)
    try:
        if watched is None:
            assert writer.stdout.readline().strip() == "ready"
            writer.stdout.readline()
        else:
            deadline = time.monotonic() + 30
            while not watched.exists() and time.monotonic() < deadline:
                time.sleep(0.0002)
        writer.kill()
        writer.communicate(timeout=30)
    finally:
        writer.kill()
    open_database(db_path)
    try:
        account_detail(create_account("After the crash"))
    finally:
        close_database()
    assert_intact_with(db_path, [])


# The real app in a real (pseudo-)terminal ---------------------------------------------------------------------

LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"


class Terminal:
    """`acct-tui` running in a pseudo-terminal of 80x24, as over SSH: what it draws is read back raw."""

    def __init__(self, db_path: Path) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the app (pty.fork made the terminal its controlling one)
            os.execve(sys.executable, [sys.executable, "-m", "acct_tui", "--db", str(db_path)],
                      child_env(TERM="xterm-256color", COLUMNS="80", LINES="24"))
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.output = b""

    def read_until(self, wanted: bytes, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while wanted not in self.output:
            assert time.monotonic() < deadline, f"{wanted!r} never appeared"
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                self.output += os.read(self.fd, 65536)


    def wait_for_exit(self, timeout: float = 30) -> int:
        """Read everything the app still writes, and return its wait status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            finished, status = os.waitpid(self.pid, os.WNOHANG)
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.05)
                if ready:
                    self.output += os.read(self.fd, 65536)
            except OSError:  # EIO: the app closed its side
                pass
            if finished:
                return status
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("the app did not exit")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
        with contextlib.suppress(ChildProcessError, ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


@pytest.fixture
def terminal_on(db_path):
    opened: list[Terminal] = []

    def start() -> Terminal:
        opened.append(Terminal(db_path))
        return opened[-1]

    yield start
    for terminal in opened:
        terminal.close()


def test_a_hangup_ends_the_app_in_order_and_gives_the_terminal_back(db_path, terminal_on):
    open_database(db_path)
    create_account("Northwind Traders")
    close_database()
    terminal = terminal_on()
    terminal.read_until(b"Northwind Traders")
    os.kill(terminal.pid, signal.SIGHUP)  # what the kernel sends when the SSH session or the window goes
    status = terminal.wait_for_exit()
    # Handled, not killed by the signal: an orderly exit with the status a shell gives for a hang-up.
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 128 + signal.SIGHUP, status
    assert LEAVE_ALTERNATE_SCREEN in terminal.output  # the terminal is back to normal
    assert_intact_with(db_path, [])
