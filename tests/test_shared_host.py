"""A database in a folder other users can write to (a shared sticky folder such as /tmp): files planted
beside it by another user, or left readable by others, are refused with the fix; the folder is warned about."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from processes import acct

from acct_tui.store.db import close_database, open_database
from acct_tui.store.services import create_account

ANOTHER_USER = 65534  # nobody
EXIT_UNSAFE = 13


@pytest.fixture(scope="module")
def built_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("built") / "acct.db"
    open_database(path)
    create_account("Northwind Traders", owner="alice")
    close_database()
    return path


def database_in(folder: Path, mode: int, built: Path) -> Path:
    folder.mkdir()
    folder.chmod(mode)
    path = folder / "acct.db"
    shutil.copyfile(built, path)
    path.chmod(0o600)
    return path


def plant(path: Path, owner: int, mode: int) -> None:
    path.write_bytes(b"")
    os.chown(path, owner, owner)
    path.chmod(mode)


@pytest.mark.parametrize("command", [("accounts", "add", "Globex"), ("accounts", "list"), ("report", "portfolio",
                                                                                             "-o", "-"), ()])
def test_another_users_wal_and_shm_in_a_shared_folder_are_refused_with_the_fix(tmp_path, built_database, command):
    database = database_in(tmp_path / "shared", 0o1777, built_database)
    wal, shm = database.with_name("acct.db-wal"), database.with_name("acct.db-shm")
    plant(wal, ANOTHER_USER, 0o666)
    plant(shm, ANOTHER_USER, 0o666)
    before = database.read_bytes()
    result = acct(*command, db=database)
    assert result.returncode == EXIT_UNSAFE, result.stderr
    (line,) = result.stderr.splitlines()
    assert line == (f"acct-tui: Nothing was written: {wal} belongs to another user (uid {ANOTHER_USER}), who could "
                    "read or change what acct-tui writes there. Fix: move the database to a folder of your own "
                    f"(mkdir -m 700 ~/acct-data && mv '{database}' ~/acct-data/) and open it with "
                    "--db ~/acct-data/acct.db")
    assert wal.read_bytes() == b"" and shm.read_bytes() == b""  # the other user received nothing
    assert database.read_bytes() == before


def test_db_check_reports_another_users_files_and_the_shared_folder(tmp_path, built_database):
    database = database_in(tmp_path / "shared", 0o1777, built_database)
    plant(database.with_name("acct.db-shm"), ANOTHER_USER, 0o600)
    check = acct("db", "check", db=database)
    assert check.returncode == 1
    problems = check.stderr.splitlines()
    assert any(f"{database}-shm belongs to another user" in line for line in problems)
    assert any("can be changed by every user (mode 1777)" in line for line in problems)
    assert "healthy" not in check.stdout


def test_your_own_wal_readable_by_others_is_refused_until_you_chmod_it(tmp_path, built_database):
    database = database_in(tmp_path / "open", 0o755, built_database)
    wal = database.with_name("acct.db-wal")
    plant(wal, os.geteuid(), 0o644)
    refused = acct("accounts", "add", "Globex", db=database)
    assert refused.returncode == EXIT_UNSAFE
    assert refused.stderr.endswith(f"can be read by other users (mode 0644). Fix: chmod 600 '{wal}'\n")
    wal.chmod(0o600)
    assert acct("accounts", "add", "Globex", db=database).returncode == 0


@pytest.mark.parametrize("mode", [0o1777, 0o777])
def test_a_database_in_a_folder_everyone_can_write_works_with_a_warning(tmp_path, built_database, mode):
    database = database_in(tmp_path / "shared", mode, built_database)
    result = acct("accounts", "add", "Globex", db=database)
    assert result.returncode == 0, result.stderr
    (warning,) = result.stderr.splitlines()
    assert warning.startswith(f"acct-tui: warning: The database folder {database.parent} can be changed by every "
                              f"user (mode {mode:04o}): another user can put files beside the database. Fix: move it")
