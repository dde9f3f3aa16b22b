"""`acct-tui db backup FILE` and `acct-tui db check`, run as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from processes import acct, start_writer

from acct_tui.errors import DomainError
from acct_tui.store.db import close_database, latest_schema_version, open_database
from acct_tui.store.maintenance import backup_database, check_database
from acct_tui.store.queries import account_detail
from acct_tui.store.services import create_account, set_field
from acct_tui.template import NOTES_KEY


def names_in(path: Path) -> list[str]:
    result = acct("accounts", "list", "--json", "--all", db=path)
    assert result.returncode == 0, result.stderr
    return [row["name"] for row in json.loads(result.stdout)]


@pytest.fixture
def portfolio(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "acct.db"
    open_database(path)
    for name in ("Northwind Traders", "Fabrikam Robotics", "Café Lumière SARL"):
        account_id = create_account(name, owner="alice")
        set_field(account_detail(account_id).run_id, 1, NOTES_KEY, f"notes on {name}\nsecond line")
    close_database()
    return path


def test_backup_copies_everything_into_a_private_file(portfolio, tmp_path):
    target = tmp_path / "copy.db"
    result = acct("db", "backup", str(target), db=portfolio)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Backed up 3 accounts to {target} ({target.stat().st_size:,} bytes, checked).\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert names_in(target) == names_in(portfolio) == ["Café Lumière SARL", "Fabrikam Robotics", "Northwind Traders"]


def test_backup_is_private_even_under_an_open_umask(portfolio, tmp_path):
    open_database(portfolio)
    previous = os.umask(0)
    try:
        backup = backup_database(tmp_path / "open-umask.db")
    finally:
        os.umask(previous)
        close_database()
    assert stat.S_IMODE(backup.path.stat().st_mode) == 0o600
    assert backup.accounts == 3


def test_backup_refuses_to_replace_a_file_unless_forced(portfolio, tmp_path):
    target = tmp_path / "precious.db"
    target.write_bytes(b"something the user keeps")
    refused = acct("db", "backup", str(target), db=portfolio)
    assert refused.returncode == 2
    assert refused.stderr == f"acct-tui: {target} already exists; choose another name, or add --force to replace it.\n"
    assert target.read_bytes() == b"something the user keeps"
    forced = acct("db", "backup", str(target), "--force", db=portfolio)
    assert forced.returncode == 0, forced.stderr
    assert names_in(target)[0] == "Café Lumière SARL"
    assert [name for name in os.listdir(tmp_path) if "partial" in name] == []


def test_backup_into_a_folder_writes_a_dated_file(portfolio, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    result = acct("db", "backup", str(folder), db=portfolio)
    assert result.returncode == 0, result.stderr
    (copy,) = folder.iterdir()
    assert copy.name.startswith("acct-") and copy.suffix == ".db"
    assert len(names_in(copy)) == 3


@pytest.mark.parametrize("where", ["the database itself", "a missing folder"])
def test_backup_refuses_a_target_it_cannot_use(portfolio, tmp_path, where):
    target = portfolio if where == "the database itself" else tmp_path / "nowhere" / "copy.db"
    before = portfolio.read_bytes()
    result = acct("db", "backup", str(target), "--force", db=portfolio)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert portfolio.read_bytes() == before


def test_backup_in_process_refuses_an_existing_file(portfolio, tmp_path):
    target = tmp_path / "exists.db"
    target.touch()
    open_database(portfolio)
    try:
        with pytest.raises(DomainError, match="already exists"):
            backup_database(target)
    finally:
        close_database()


def test_backup_while_another_session_writes_is_a_consistent_snapshot(portfolio, tmp_path):
    writer = start_writer(portfolio, "Writer", 150)
    try:
        assert writer.stdout.readline().strip() == "ready"
        committed_before = [writer.stdout.readline().strip() for _ in range(20)]
        result = acct("db", "backup", str(tmp_path / "snapshot.db"), db=portfolio)
        rest, errors = writer.communicate(timeout=60)
    finally:
        writer.kill()
    assert writer.returncode == 0, errors
    assert result.returncode == 0, result.stderr
    copy = sqlite3.connect(tmp_path / "snapshot.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert copy.execute("PRAGMA foreign_key_check").fetchall() == []
        ids = {row[0] for row in copy.execute("SELECT id FROM account")}
        runs = copy.execute("SELECT COUNT(*) FROM run").fetchone()[0]
        steps = copy.execute("SELECT COUNT(*) FROM step_state").fetchone()[0]
    finally:
        copy.close()
    assert {committed.replace("-", "") for committed in committed_before} <= ids  # UUIDs are stored as hex
    assert 3 + 20 <= len(ids) <= 3 + 150
    assert runs == len(ids) and steps == 20 * len(ids)  # every account whole, none half-copied
    assert len(names_in(portfolio)) == 3 + 150


def test_check_says_healthy_with_exit_0(portfolio):
    result = acct("db", "check", db=portfolio)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"{portfolio}: healthy (file mode 0600, folder mode 0700; schema "
                             f"{latest_schema_version()}; integrity ok; references ok; 3 accounts).\n")
    assert check_database(portfolio).healthy


def test_check_reports_broken_references_one_line_each(portfolio):
    connection = sqlite3.connect(portfolio)
    connection.execute("DELETE FROM account WHERE name = 'Fabrikam Robotics'")  # foreign keys are off here
    connection.commit()
    connection.close()
    result = acct("db", "check", db=portfolio)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("acct-tui: 1 rows point at rows that no longer exist (in run)")


def test_check_of_a_missing_database_does_not_create_it(tmp_path):
    path = tmp_path / "never" / "acct.db"
    result = acct("db", "check", db=path)
    assert result.returncode == 1
    assert result.stderr == f"acct-tui: There is no database at {path} yet; acct-tui creates it when it first starts.\n"
    assert not path.parent.exists()


def test_check_reports_damage_page_by_page(portfolio):
    data = bytearray(portfolio.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[3 * page_size:4 * page_size] = b"\x00" * page_size
    portfolio.write_bytes(bytes(data))
    result = acct("db", "check", db=portfolio)
    assert result.returncode == 1
    assert result.stderr.startswith("acct-tui: ") and "Traceback" not in result.stderr
    assert all(line.startswith("acct-tui: ") for line in result.stderr.splitlines())


def test_check_of_a_first_release_database_says_it_will_be_upgraded_and_changes_nothing(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    path = folder / "acct.db"
    shutil.copyfile(Path(__file__).with_name("fixtures") / "schema_v1.db", path)
    path.chmod(0o600)
    before = path.read_bytes()
    result = acct("db", "check", db=path)
    assert result.returncode == 0, result.stderr
    assert f"schema 1 (upgraded to {latest_schema_version()} when the app next opens it)" in result.stdout
    assert "3 accounts" in result.stdout
    assert path.read_bytes() == before
    assert os.listdir(folder) == ["acct.db"]
