"""The Conflicts view and the sync key in the app."""

from __future__ import annotations

import sqlite3

from acct_tui.app import AcctApp
from acct_tui.settings import save_setting
from acct_tui.store import services
from acct_tui.store.held import FIELD, WAITING
from acct_tui.store.models import Account, FieldValue, Run
from acct_tui.sync.command import LAST_HOST_SETTING, SSH_COMMAND_ENV
from acct_tui.sync.conflicts import conflicts, duplicate_names
from tests.sync_support import PIPE_COMMAND, Replica, content, sync_in_process
from tests.ui_support import screen_text, settle, shows

SIZE = (80, 24)


def make_conflict(tmp_path) -> tuple[Replica, Replica, str]:
    laptop, host = Replica(tmp_path / "laptop.db").use(), Replica(tmp_path / "host.db")
    account = services.create_account("Acme")
    run = str(Run.get(Run.account == account).id)
    sync_in_process(laptop, host)
    services.set_field(run, 1, "notes", "mine", actor="ann")
    host.use()
    services.set_field(run, 1, "notes", "theirs", actor="bob")
    sync_in_process(laptop, host)
    laptop.use()
    return laptop, host, run


async def open_conflicts_view(app: AcctApp, pilot) -> None:
    """From the account list, `!` as a user presses it, once the view has loaded what waits."""
    await settle(pilot)
    await pilot.press("exclamation_mark")
    await app.workers.wait_for_complete()
    await settle(pilot)


def notes(run: str) -> str:
    return FieldValue.get((FieldValue.run == run) & (FieldValue.key == "notes")).value


async def test_take_theirs_from_the_conflicts_view(tmp_path):
    laptop, _, run = make_conflict(tmp_path)
    app = AcctApp(laptop.path)
    async with app.run_test(size=SIZE) as pilot:
        await open_conflicts_view(app, pilot)
        text = screen_text(app)
        assert "Acme" in text and "here: mine (ann" in text and "there: theirs (bob" in text
        await pilot.press("t")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert "No conflicts" in screen_text(app)
    assert notes(run) == "theirs"
    assert conflicts() == []


async def test_edit_a_merge(tmp_path):
    laptop, _, run = make_conflict(tmp_path)
    app = AcctApp(laptop.path)
    async with app.run_test(size=SIZE) as pilot:
        await open_conflicts_view(app, pilot)
        await pilot.press("e", "end")
        for key in " and theirs":
            await pilot.press("space" if key == " " else key)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await settle(pilot)
    assert notes(run) == "mine and theirs"
    assert conflicts() == []


async def test_the_sync_key_syncs_with_the_host_last_used(tmp_path, monkeypatch):
    laptop, host, run = make_conflict(tmp_path)
    host.use()
    services.create_account("Made on the host")
    laptop.use()
    monkeypatch.setenv(SSH_COMMAND_ENV, PIPE_COMMAND)
    save_setting(LAST_HOST_SETTING, {"host": "jump", "remote_db": str(host.path), "jump": None})
    app = AcctApp(laptop.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("Y")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert "Made on the host" in screen_text(app)
    assert len(conflicts()) == 1  # the conflict made before is still waiting


async def test_the_list_and_the_checklist_mark_what_conflicts(tmp_path):
    laptop, _, run = make_conflict(tmp_path)
    account = Run.get_by_id(run).account_id
    app = AcctApp(laptop.path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert "≠ Acme" in screen_text(app)
        app.open_account(account)
        await app.workers.wait_for_complete()
        await settle(pilot)
        step_lines = [line for line in screen_text(app).splitlines() if "Identify" in line or "Gather" in line]
        assert any("≠" in line for line in step_lines if "Identify" in line)
        assert not any("≠" in line for line in step_lines if "Gather" in line)


def make_duplicate(tmp_path) -> tuple[Replica, Replica]:
    laptop, host = Replica(tmp_path / "laptop.db").use(), Replica(tmp_path / "host.db")
    services.create_account("Acme", owner="Ann")
    host.use()
    services.create_account("Acme", industry="Retail")
    sync_in_process(laptop, host)
    laptop.use()
    return laptop, host


def live_accounts() -> list[Account]:
    return list(Account.select().where(Account.archived == False))  # noqa: E712


async def open_conflicts(app: AcctApp, pilot) -> str:
    await settle(pilot)
    await pilot.press("exclamation_mark")
    await settle(pilot)
    return screen_text(app)


async def test_merge_two_accounts_created_with_one_name(tmp_path):
    laptop, host = make_duplicate(tmp_path)
    app = AcctApp(laptop.path)
    async with app.run_test(size=SIZE) as pilot:
        text = await open_conflicts(app, pilot)
        assert "Acme: another account has this name" in text and "M merges the two" in text
        await pilot.press("m")  # keeps a side of a value conflict: nothing to do on a name
        await settle(pilot)
        assert len(live_accounts()) == 2
        await pilot.press("M")
        await settle(pilot)
        assert "No conflicts" in screen_text(app)
    assert duplicate_names() == []
    (kept,) = live_accounts()
    assert (kept.name, kept.owner, kept.industry) == ("Acme", "Ann", "Retail")
    sync_in_process(laptop, host)  # the merge travels: the host ends with the same one account
    host.use()
    assert duplicate_names() == []
    assert [a.id for a in live_accounts()] == [kept.id]
    assert content(laptop) == content(host)


async def test_rename_one_of_two_accounts_created_with_one_name(tmp_path):
    laptop, _ = make_duplicate(tmp_path)
    app = AcctApp(laptop.path)
    async with app.run_test(size=SIZE) as pilot:
        await open_conflicts(app, pilot)
        await pilot.press("r", "end", "space", "B", "e", "r", "l", "i", "n", "enter")
        await settle(pilot)
        assert "No conflicts" in screen_text(app)
    assert duplicate_names() == []
    assert sorted(a.name for a in live_accounts()) == ["Acme", "Acme Berlin"]


async def test_a_merge_typed_while_another_program_writes_waits_is_held_then_lands(tmp_path):
    laptop, _, run = make_conflict(tmp_path)
    app = AcctApp(laptop.path, watch_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await open_conflicts(app, pilot)
        lock = sqlite3.connect(laptop.path, isolation_level=None, timeout=10)
        lock.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        try:
            await pilot.press("e", "end", "space", "t", "o", "o", "enter")
            await shows(pilot, "Waiting for the database")
            (held,) = app.held.edits()  # held at once, as every other save's text
            assert (held.kind, held.step, held.key, held.value, held.reason) == (FIELD, 1, "notes", "mine too", WAITING)
        finally:
            lock.rollback()
            lock.close()
        await settle(pilot)
        assert "No conflicts" in screen_text(app)
        assert app.held.edits() == []
    assert notes(run) == "mine too"
    assert conflicts() == []
