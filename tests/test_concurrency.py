"""Two sessions on one database, as two real processes: writes never fail with "database is locked", no
write is lost, and two people saving the same value are told instead of one silently overwriting the other."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import acct, child_env, start_writer

from acct_tui.errors import StaleEdit
from acct_tui.store.db import data_version
from acct_tui.store.models import Account, AuditEvent, FieldValue, Run, StepState
from acct_tui.store.queries import account_detail, run_view
from acct_tui.store.services import create_account, edit_account, set_field
from acct_tui.template import NOTES_KEY

BURST = 120


def in_another_process(db_path: Path | str, code: str) -> str:
    """Run `code` in a separate Python process with the database open there; returns what it printed."""
    prelude = f"from acct_tui.store.db import open_database\nopen_database({str(db_path)!r})\n"
    result = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=60,
                            env=child_env(ACCT_TUI_USER="bob"))
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_two_processes_writing_at_once_both_succeed_and_nothing_is_lost(db, db_path, tmp_path):
    shared = create_account("Shared Account")
    shared_run = account_detail(shared).run_id
    set_field(shared_run, 1, NOTES_KEY, "first")
    go = tmp_path / "go"
    writers = [start_writer(db_path, label, BURST, "--shared-run", str(shared_run), "--go", str(go),
                            "--pause", "0.001") for label in ("left", "right")]
    for writer in writers:
        assert writer.stdout.readline().strip() == "ready"
    go.touch()
    results = [writer.communicate(timeout=120) for writer in writers]
    for writer, (_, errors) in zip(writers, results):
        assert "locked" not in errors and "busy" not in errors
        assert writer.returncode == 0, errors
    lines = [output.splitlines() for output, _ in results]
    (left_started, left_finished), (right_started, right_finished) = (
        (float(output[0].split()[1]), float(output[-1].split()[1])) for output in lines)
    assert left_started < right_finished and right_started < left_finished  # both bursts ran at once
    printed = [line for output in lines for line in output[1:-1]]
    assert len(printed) == 2 * BURST
    assert Account.select().count() == 1 + 2 * BURST
    assert Run.select().count() == 1 + 2 * BURST and StepState.select().count() == 20 * (1 + 2 * BURST)
    for label in ("left", "right"):
        assert Account.select().where(Account.owner == label).count() == BURST
    # Every save of the shared notes went through one at a time: each one moved the version on by one.
    notes = FieldValue.get((FieldValue.run == shared_run) & (FieldValue.key == NOTES_KEY))
    assert notes.version == 1 + 2 * BURST
    saves = AuditEvent.select(AuditEvent.actor).where(
        (AuditEvent.action == "field.set") & (AuditEvent.account_id == shared))
    assert saves.count() == 1 + 2 * BURST


def test_a_stale_save_of_a_field_is_refused_with_the_value_now_stored(db, db_path):
    account_id = create_account("Northwind Traders")
    run_id = account_detail(account_id).run_id
    started_from = run_view(account_id).step(1).field(NOTES_KEY).version
    assert started_from == 0
    in_another_process(db_path, (
        "from acct_tui.store.services import set_field\n"
        f"print(set_field({str(run_id)!r}, 1, 'notes', 'Bob: customer prefers email', expected_version=0))\n"
    ))
    events = AuditEvent.select().count()
    with pytest.raises(StaleEdit) as refusal:
        set_field(run_id, 1, NOTES_KEY, "Alice: call on Monday", expected_version=started_from)
    assert refusal.value.current_value == "Bob: customer prefers email"
    assert refusal.value.current_version == 1
    assert "by bob" in str(refusal.value) and "Bob: customer prefers email" in str(refusal.value)
    assert AuditEvent.select().count() == events
    assert run_view(account_id).step(1).field(NOTES_KEY).value == "Bob: customer prefers email"
    # Having seen Bob's text, Alice saves on top of it on purpose.
    assert set_field(run_id, 1, NOTES_KEY, "Alice: call on Monday", expected_version=1) == 2


def test_a_stale_edit_of_an_account_is_refused_and_changes_nothing(db, db_path):
    account_id = create_account("Northwind Traders", owner="alice")
    version = account_detail(account_id).version
    in_another_process(db_path, (
        "from acct_tui.store.services import edit_account\n"
        f"edit_account({str(account_id)!r}, expected_version={version}, owner='bob')\n"
    ))
    with pytest.raises(StaleEdit) as refusal:
        edit_account(account_id, expected_version=version, owner="carol", industry="Retail")
    assert refusal.value.current_value["owner"] == "bob"
    detail = account_detail(account_id)
    assert (detail.owner, detail.industry, detail.version) == ("bob", "", version + 1)


@pytest.mark.both_backends
def test_data_version_moves_for_another_process_commit_only(db, db_target):
    """What the app watches to refresh: its own saves do not move it, another session's commit does."""
    create_account("Northwind Traders")
    seen = data_version()
    create_account("Fabrikam Robotics")
    assert data_version() == seen
    in_another_process(db_target, "from acct_tui.store.services import create_account\ncreate_account('Contoso')\n")
    assert data_version() != seen
    assert Account.select().count() == 3


def test_a_second_process_opening_while_the_first_writes_waits_instead_of_failing(db, db_path):
    """Start-up (schema check, migration) of one session during another's burst."""
    writer = start_writer(db_path, "busy", BURST)
    try:
        assert writer.stdout.readline().strip() == "ready"
        writer.stdout.readline()
        for _ in range(5):
            output = in_another_process(db_path, (
                "from acct_tui.store.queries import account_rows\nprint(len(account_rows()))\n"))
            assert int(output) >= 1
        _, errors = writer.communicate(timeout=120)
    finally:
        writer.kill()
    assert writer.returncode == 0, errors


@pytest.mark.both_backends
async def test_the_app_shows_what_the_command_line_adds_within_about_a_second(db, db_target):
    """Two sessions for real: the app (default watch interval) and `acct-tui accounts add` in another process."""
    from acct_tui.app import AcctApp
    from acct_tui.screens.accounts import AccountsScreen
    from tests.ui_support import screen_text, settle

    create_account("Already here")
    app = AcctApp(db_target)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AccountsScreen) and screen.table.shown_names == ["Already here"]
        screen.rows_loaded.clear()
        added = await asyncio.to_thread(acct, "accounts", "add", "Added from a shell", db=db_target)
        assert added.returncode == 0, added.stderr
        committed = time.monotonic()
        await asyncio.wait_for(screen.rows_loaded.wait(), timeout=10)
        shown_after = time.monotonic() - committed
        await pilot.pause()
        assert screen.table.shown_names == ["Added from a shell", "Already here"]
        assert "Added from a shell" in screen_text(app)
    assert shown_after < 2.5  # the watcher looks every second; loading the list takes the rest


def test_reading_needs_no_write_lock_while_another_process_holds_it(db, db_path):
    """`accounts list`, a report and opening the database only read: a writer holding the lock does not stop
    them (opening used to start a write transaction to migrate, and exited 7 after the busy timeout)."""
    create_account("Northwind Traders")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"connection = sqlite3.connect({str(db_path)!r}, isolation_level=None)\n"
         "connection.execute('BEGIN IMMEDIATE')\n"
         "print('locked', flush=True)\n"
         "sys.stdin.readline()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        assert holder.stdout.readline().strip() == "locked"
        listing = acct("accounts", "list", "--json", db=db_path)
        report = acct("report", "portfolio", "--format", "json", "-o", "-", db=db_path)
        assert listing.returncode == 0, listing.stderr
        assert "Northwind Traders" in listing.stdout
        assert report.returncode == 0, report.stderr
    finally:
        holder.communicate("done\n", timeout=30)
