"""Exports and backups never clobber: not the live database, not its -wal/-shm, not another database, not a
device or a pipe, whatever --force or the app's "replace?" says; a shared folder cannot trip the backup; and
paths that cannot be looked at give one line, never a traceback."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from processes import acct, modes_bind_everyone

from acct_tui.app import AcctApp
from acct_tui.cli import main
from acct_tui.screens.export_dialog import ExportDialog
from acct_tui.screens.reports import ReportsScreen
from acct_tui.store.db import close_database, open_database
from acct_tui.store.maintenance import backup_database
from acct_tui.store.services import create_account
from tests.ui_support import screen_text, settle

SIZE = (80, 24)
TOO_LONG = "n" * 300  # over the 255 bytes a file name may have
ANOTHER_USER = 65534  # nobody


@pytest.fixture(scope="module")
def built_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("built") / "acct.db"
    open_database(path)
    create_account("Northwind Traders", owner="alice")
    create_account("Fabrikam Robotics", owner="bob")
    close_database()
    return path


@pytest.fixture
def database(built_database: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    path = folder / "acct.db"
    shutil.copyfile(built_database, path)
    path.chmod(0o600)
    return path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """`acct-tui ARGS` run in this process (quicker than a child), as `subprocess.run` would report it."""

    def run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
        try:
            status = main(["--db", str(db), *args])
        finally:
            close_database()
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(args, status, captured.out, captured.err)

    return run


def one_line_refusal(result, code: int = 2) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if not line.startswith("acct-tui: warning:")]
    return line


def accounts_in(path: Path) -> list[str]:
    connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return [name for (name,) in connection.execute("SELECT name FROM account ORDER BY name")]
    finally:
        connection.close()


def companions_of(database: Path) -> list[Path]:
    # An open connection keeps the -wal and -shm files: make them exist as they do while the app runs.
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=wal")
    connection.execute("SELECT COUNT(*) FROM account").fetchall()
    return [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm")]


@pytest.mark.parametrize("command", [("report", "portfolio", "-o"), ("db", "backup")])
def test_the_open_database_and_its_companions_are_never_written_over(database, cli, command):
    before = database.read_bytes()
    refused = cli(*command, str(database), "--force", db=database)
    assert "SQLite database" in one_line_refusal(refused)
    assert database.read_bytes() == before
    for companion in (database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        refused = cli(*command, str(companion), "--force", db=database)
        assert "belongs to the database beside it" in one_line_refusal(refused)
    assert cli("accounts", "list", db=database).returncode == 0
    assert accounts_in(database) == ["Fabrikam Robotics", "Northwind Traders"]


def test_another_database_is_never_replaced_by_a_report_or_a_backup(database, cli, tmp_path, built_database):
    other = tmp_path / "other.sqlite"
    shutil.copyfile(built_database, other)
    before = other.read_bytes()
    for command in (("report", "portfolio", "--format", "csv", "-o"), ("db", "backup")):
        refused = cli(*command, str(other), "--force", db=database)
        assert one_line_refusal(refused) == (
            f"acct-tui: {other} is an SQLite database; it is never replaced. Choose another file.")
    assert other.read_bytes() == before


def special_files(folder: Path) -> list[Path]:
    """A named pipe, and a character device like /dev/null where the system lets us make one (root)."""
    pipe = folder / "pipe"
    os.mkfifo(pipe)
    made = [pipe]
    try:
        os.mknod(folder / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        made.append(folder / "null")
    except PermissionError:
        pass
    return made


@pytest.mark.parametrize("command", [("report", "portfolio", "-o"), ("db", "backup")])
def test_special_files_stay_what_they_are_even_with_force(database, cli, tmp_path, command):
    for special in special_files(tmp_path / "data"):
        kind = stat.S_IFMT(special.lstat().st_mode)
        refused = cli(*command, str(special), "--force", db=database)
        assert "is not a regular file" in one_line_refusal(refused)
        assert stat.S_IFMT(special.lstat().st_mode) == kind


def test_a_backup_into_a_shared_folder_ignores_another_users_temporary_file_and_leaves_it(database, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    target = shared / "copy.db"
    # The names the backup used to make were predictable: another user could put a file there first.
    planted = [shared / f".copy.db.{os.getpid()}.partial", shared / "copy.db.part"]
    for path in planted:
        path.write_text("another user's file")
        os.chown(path, ANOTHER_USER, ANOTHER_USER)
    open_database(database)
    try:
        backup = backup_database(target)
    finally:
        close_database()
    assert sorted(path.name for path in shared.iterdir()) == sorted(["copy.db", *(path.name for path in planted)])
    for path in planted:
        assert path.read_text() == "another user's file"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert backup.accounts == 2 and accounts_in(target) == ["Fabrikam Robotics", "Northwind Traders"]


@pytest.mark.parametrize(
    "command",
    [
        ("report", "portfolio", "-o", f"{{folder}}/{TOO_LONG}.md"),
        ("report", "portfolio", "-o", f"{{folder}}/{TOO_LONG}/r.md", "--force"),
        ("db", "backup", f"{{folder}}/{TOO_LONG}"),
        ("db", "backup", f"{{folder}}/{TOO_LONG}/copy.db", "--force"),
    ],
)
def test_output_paths_too_long_are_refused_in_one_line(database, cli, command):
    result = cli(*(part.format(folder=database.parent) for part in command), db=database)
    assert "File name too long" in one_line_refusal(result)


@pytest.mark.parametrize("command", [("accounts", "list"), ("db", "check"), ("report", "portfolio", "-o", "-")])
def test_a_database_path_too_long_is_refused_in_one_line(tmp_path, cli, command):
    result = cli(*command, db=tmp_path / TOO_LONG / "acct.db")
    line = one_line_refusal(result, 1 if command == ("db", "check") else 3)
    assert "File name too long" in line
    assert len(line) < 300  # the path is shortened in the message


@pytest.mark.skipif(not modes_bind_everyone(), reason="this root cannot give up ignoring file modes")
@pytest.mark.parametrize(
    ("command", "database_locked_away", "status"),
    [
        (("accounts", "list"), True, 5),
        (("db", "check"), True, 1),
        (("db", "backup", "{locked}/copy.db"), False, 2),
        (("report", "portfolio", "-o", "{locked}/r.md", "--force"), False, 2),
    ],
)
def test_paths_behind_a_folder_you_cannot_open_are_refused_in_one_line(database, tmp_path, command,
                                                                        database_locked_away, status):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0)
    try:
        db = locked / "acct.db" if database_locked_away else database
        result = acct(*(part.format(locked=locked) for part in command), db=db, read_only_rules=True)
        assert "Permission denied" in one_line_refusal(result, status)
    finally:
        locked.chmod(0o700)


# The Reports screen's export dialog goes through the same checks ----------------------------------------

@pytest.fixture
def app(database) -> AcctApp:
    open_database(database)
    yield AcctApp(database)
    close_database()


async def export_to(pilot, path: str) -> None:
    await pilot.press("e")
    await settle(pilot)
    await pilot.press("enter")  # Markdown, then the file name
    pilot.app.screen.query_one("#export-path").value = path
    await pilot.press("enter")
    await settle(pilot)


async def test_the_export_dialog_refuses_what_must_never_be_written_and_stays_open(app, database):
    refused = {
        str(database): "is an SQLite database",
        f"{database}-wal": "belongs to the database beside it",
        str(special_files(database.parent)[-1]): "is not a regular file",
        f"{database.parent}/{TOO_LONG}.md": "File name too long",
    }
    companions_of(database)
    before = database.read_bytes()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        for target, reason in refused.items():
            await export_to(pilot, target)
            await pilot.press("y")  # what replaced the file before: the answer to "replace it?"
            await settle(pilot)
            assert isinstance(app.screen, ExportDialog)
            problem = str(app.screen.query_one("#export-problem").content)
            assert reason in problem and problem.splitlines() == [problem]
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, ReportsScreen) and app.is_running
        assert "Portfolio" in screen_text(app)
    assert database.read_bytes() == before
    assert accounts_in(database) == ["Fabrikam Robotics", "Northwind Traders"]


def test_the_app_refuses_a_database_path_too_long_in_the_environment_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCT_TUI_DB", str(tmp_path / TOO_LONG / "acct.db"))
    result = acct()  # starting the app: refused before the screen is taken over
    assert "File name too long" in one_line_refusal(result, 3)
