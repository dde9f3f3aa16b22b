"""Every way the database file can be unusable, met through the real command: one clear line on stderr, the
documented exit code, never a traceback, and never a changed byte in the user's file."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from processes import acct, modes_bind_everyone

from acct_tui.errors import StoreUnavailable
from acct_tui.store.db import close_database, open_database, permission_problems
from acct_tui.store.models import Account, AuditEvent, database
from acct_tui.store.queries import account_detail, run_view
from acct_tui.store.services import create_account, set_field
from acct_tui.template import NOTES_KEY

# What a user runs: the app itself (no command), a read, a write, a backup.
COMMANDS = ([], ["accounts", "list"], ["accounts", "add", "Should not be added"], ["db", "backup", "copy.db"])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def good_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small database written by this version of acct-tui, closed cleanly (no -wal beside it)."""
    path = tmp_path_factory.mktemp("good") / "acct.db"
    open_database(path)
    for name in ("Northwind Traders", "Fabrikam Robotics", "Contoso Pharmaceuticals"):
        account_id = create_account(name, owner="alice", actor="alice")
        set_field(account_detail(account_id).run_id, 1, NOTES_KEY, "x" * 3000, actor="alice")
    close_database()
    return path


def _other_program(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    connection.execute("INSERT INTO notes (text) VALUES ('my shopping list')")
    connection.commit()
    connection.close()


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def _text_file(path: Path) -> None:
    path.write_text("Northwind Traders, alice, Key\n")


def _cut_short(path: Path, good: Path) -> None:
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _damaged_page(path: Path, good: Path) -> None:
    data = bytearray(good.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    middle = len(data) // page_size // 2 * page_size
    data[middle:middle + page_size] = b"\xa5" * page_size
    path.write_bytes(bytes(data))


def _damaged_header(path: Path, good: Path) -> None:
    data = bytearray(good.read_bytes())
    data[0:16] = b"Not SQLite here!"
    path.write_bytes(bytes(data))


def _newer_schema(path: Path, good: Path) -> None:
    shutil.copyfile(good, path)
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO schema_version (version, description, applied_at) "
                       "VALUES (99, 'from the future', '2031-01-01 00:00:00')")
    connection.commit()
    connection.close()


FAULTS = {
    "another program's SQLite database": (lambda path, good: _other_program(path), 4, "another program"),
    "random bytes": (lambda path, good: _random_bytes(path), 4, "not an SQLite database"),
    "a text file": (lambda path, good: _text_file(path), 4, "not an SQLite database"),
    "a database cut short": (_cut_short, 4, "cut short"),
    "a damaged page": (_damaged_page, 4, "damaged"),
    "a damaged header": (_damaged_header, 4, "not an SQLite database"),
    "a newer schema": (_newer_schema, 8, "newer acct-tui"),
}


def assert_one_clear_line(result, exit_code: int, words: str) -> None:
    assert result.returncode == exit_code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if not line.startswith("acct-tui: warning:")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("acct-tui: ") and words in lines[0], lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("fault", FAULTS)
def test_an_unusable_file_is_refused_with_one_line_and_left_unchanged(fault, command, good_database, tmp_path):
    make, exit_code, words = FAULTS[fault]
    path = tmp_path / "acct.db"
    make(path, good_database)
    before, files_before = digest(path), sorted(os.listdir(tmp_path))
    result = acct(*command, db=path)
    assert_one_clear_line(result, exit_code, words)
    assert "Nothing was changed" in result.stderr
    assert digest(path) == before
    assert sorted(os.listdir(tmp_path)) == files_before  # no -wal, -shm or backup left beside it


def test_a_folder_given_as_the_database_is_refused(tmp_path):
    result = acct("accounts", "list", db=tmp_path)
    assert_one_clear_line(result, 3, "is a folder")


def test_check_reports_each_fault_without_changing_the_file(good_database, tmp_path):
    for fault, (make, _, _) in FAULTS.items():
        path = tmp_path / f"{len(os.listdir(tmp_path))}.db"
        make(path, good_database)
        before = digest(path)
        result = acct("db", "check", db=path)
        assert result.returncode == 1, (fault, result.stdout)
        assert "Traceback" not in result.stderr and result.stderr.startswith("acct-tui: "), fault
        assert digest(path) == before, fault


# Read-only files and folders ---------------------------------------------------------------------------------

needs_modes = pytest.mark.skipif(not modes_bind_everyone(), reason="cannot make file modes bind this user")


@pytest.fixture
def private_copy(good_database, tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    path = folder / "acct.db"
    shutil.copyfile(good_database, path)
    path.chmod(0o600)
    return path


@needs_modes
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_read_only_file_is_refused_with_the_fix(private_copy, command):
    private_copy.chmod(0o400)
    before = digest(private_copy)
    result = acct(*command, db=private_copy, read_only_rules=True)
    assert_one_clear_line(result, 5, "read-only for you (mode 0400)")
    assert f"chmod u+rw '{private_copy}'" in result.stderr
    assert digest(private_copy) == before
    assert os.listdir(private_copy.parent) == ["acct.db"]


@needs_modes
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_read_only_folder_is_refused_with_the_fix(private_copy, command):
    folder = private_copy.parent
    folder.chmod(0o500)
    try:
        before = digest(private_copy)
        result = acct(*command, db=private_copy, read_only_rules=True)
        assert_one_clear_line(result, 5, "needs to create acct.db-wal and acct.db-shm")
        assert f"chmod u+rwx '{folder}'" in result.stderr
        assert digest(private_copy) == before
        assert os.listdir(folder) == ["acct.db"]
    finally:
        folder.chmod(0o700)


@needs_modes
def test_a_new_database_in_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    try:
        result = acct("accounts", "list", db=folder / "acct.db", read_only_rules=True)
        assert_one_clear_line(result, 5, "read-only for you")
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o700)


# A full disk ---------------------------------------------------------------------------------------------------

def test_a_full_disk_refuses_the_write_and_keeps_the_file(private_copy):
    before = digest(private_copy)
    result = acct("accounts", "add", "One too many", db=private_copy, file_size_limit=16 * 1024)
    assert_one_clear_line(result, 6, "is full or failing")
    assert "free some space" in result.stderr
    assert digest(private_copy) == before
    listing = acct("accounts", "list", "--json", db=private_copy)
    assert listing.returncode == 0 and "One too many" not in listing.stdout
    assert acct("db", "check", db=private_copy).returncode == 0


def test_a_full_disk_in_the_middle_of_a_session_loses_nothing_saved(db):
    account_id = create_account("Northwind Traders")
    run_id = account_detail(account_id).run_id
    set_field(run_id, 1, NOTES_KEY, "saved before the disk filled")
    events = AuditEvent.select().count()
    ((pages,),) = database.obj.execute_sql("PRAGMA page_count").fetchall()
    database.obj.execute_sql(f"PRAGMA max_page_count = {pages}")  # this connection may not grow the file
    with pytest.raises(StoreUnavailable) as refusal:
        set_field(run_id, 1, NOTES_KEY, "a long note " * 1500, expected_version=1)
    assert refusal.value.exit_code == 6 and "full" in str(refusal.value)
    assert run_view(account_id).step(1).field(NOTES_KEY).value == "saved before the disk filled"
    assert AuditEvent.select().count() == events
    database.obj.execute_sql("PRAGMA max_page_count = 1073741823")
    assert set_field(run_id, 1, NOTES_KEY, "saved after space was freed", expected_version=1) == 2


def test_a_database_kept_busy_by_another_writer_gives_a_clear_message(db, db_path):
    create_account("Northwind Traders")
    database.obj.execute_sql("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(db_path)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable) as refusal:
            create_account("Fabrikam Robotics")
        assert refusal.value.exit_code == 7 and "busy" in str(refusal.value)
    finally:
        other.rollback()
        other.close()
    assert [name for (name,) in Account.select(Account.name).tuples()] == ["Northwind Traders"]


# Permissions -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_folder_and_every_file_are_private_whatever_the_umask(tmp_path, umask):
    path = tmp_path / "fresh" / "acct.db"
    previous = os.umask(umask)
    try:
        open_database(path)
        create_account("Northwind Traders")
        modes = {name: stat.S_IMODE((path.parent / name).stat().st_mode) for name in os.listdir(path.parent)}
        folder_mode = stat.S_IMODE(path.parent.stat().st_mode)
    finally:
        close_database()
        os.umask(previous)
    assert folder_mode == 0o700
    assert modes == {"acct.db": 0o600, "acct.db-wal": 0o600, "acct.db-shm": 0o600}
    assert permission_problems(path) == []


def test_a_database_others_can_read_is_reported_on_start_with_the_fix(private_copy):
    private_copy.chmod(0o644)
    private_copy.parent.chmod(0o755)
    result = acct("accounts", "list", db=private_copy)
    assert result.returncode == 0
    warnings = result.stderr.splitlines()
    assert warnings == [
        f"acct-tui: warning: The database folder {private_copy.parent} can be read by other users (mode 0755). "
        f"Fix: chmod 700 '{private_copy.parent}'",
        f"acct-tui: warning: The database file {private_copy} can be read by other users (mode 0644). "
        f"Fix: chmod 600 '{private_copy}'",
    ]
    check = acct("db", "check", db=private_copy)
    assert check.returncode == 1
    assert f"chmod 600 '{private_copy}'" in check.stderr and f"chmod 700 '{private_copy.parent}'" in check.stderr


def test_permission_rules_report_a_world_readable_file(private_copy):
    private_copy.chmod(0o644)
    assert permission_problems(private_copy) == [
        f"The database file {private_copy} can be read by other users (mode 0644). Fix: chmod 600 '{private_copy}'"
    ]


# Files that are fine -----------------------------------------------------------------------------------------

def test_an_empty_file_becomes_a_new_database(tmp_path):
    path = tmp_path / "acct.db"
    path.touch(mode=0o600)
    result = acct("accounts", "add", "Northwind Traders", db=path)
    assert result.returncode == 0, result.stderr
    assert acct("db", "check", db=path).returncode == 0


def test_a_database_left_with_its_wal_by_a_crash_opens_with_everything(tmp_path):
    """A cheap size check of the header must not call a database damaged while its WAL holds the newest pages."""
    path = tmp_path / "acct.db"
    open_database(path)
    create_account("Northwind Traders")
    snapshot = tmp_path / "crashed"
    snapshot.mkdir()
    for name in os.listdir(tmp_path):  # the files as a killed process leaves them: database, -wal, -shm
        if name.startswith("acct.db"):
            shutil.copyfile(tmp_path / name, snapshot / name)
            (snapshot / name).chmod(0o600)
    close_database()
    result = acct("accounts", "list", "--json", db=snapshot / "acct.db")
    assert result.returncode == 0, result.stderr
    assert "Northwind Traders" in result.stdout


def test_looking_at_a_database_leaves_its_bytes_alone(private_copy):
    before = digest(private_copy)
    assert acct("accounts", "list", db=private_copy).returncode == 0
    check = acct("db", "check", db=private_copy)
    assert check.returncode == 0 and check.stderr == ""
    assert check.stdout.startswith(f"{private_copy}: healthy (") and "integrity ok" in check.stdout
    assert digest(private_copy) == before
    assert os.listdir(private_copy.parent) == ["acct.db"]
