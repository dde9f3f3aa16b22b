"""The app shell: modes and their keys, the keys screen, the command palette, external changes, signals."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3

import pytest
from textual.command import CommandList, CommandPalette

from acct_tui.app import AcctApp
from acct_tui.screens.accounts import AccountsScreen
from acct_tui.screens.help import KeysScreen
from acct_tui.store.services import create_account
from acct_tui.stylesheet import stylesheet_path
from tests.ui_support import screen_text, settle, type_text

SIZE = (80, 24)


@pytest.fixture
def app(db, db_target) -> AcctApp:
    """The app on the test database, opened first by the `db` fixture as the CLI does."""
    return AcctApp(db_target)


def test_stylesheet_is_found():
    path = stylesheet_path()
    assert path.is_file()
    assert "AccountTable" in path.read_text(encoding="utf-8")
    assert AcctApp.CSS_PATH == path


async def test_css_is_parsed_once_per_theme_and_process(db, db_path, monkeypatch):
    """Textual parses every CSS source again for each stylesheet it makes (twice at each start): the app has it
    parse each source once for the process, and again for another theme's variables."""
    from textual.css import stylesheet

    async with AcctApp(db_path).run_test(size=SIZE) as pilot:  # whatever earlier apps parsed, all is parsed now
        await settle(pilot)
        await pilot.press("2", "3", "4", "1")
        await settle(pilot)
    parsed = []
    parse = stylesheet.parse
    monkeypatch.setattr(stylesheet, "parse", lambda scope, css, *args, **kwargs: parsed.append(css) or parse(
        scope, css, *args, **kwargs))
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "3", "4", "1")
        await settle(pilot)
        assert parsed == []
        assert "Accounts" in screen_text(app)
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await settle(pilot)
        assert any("AccountTable" in css for css in parsed)  # the app's stylesheet, for the new variables


def test_nothing_is_animated_unless_the_user_asks(db, db_path, monkeypatch):
    """Over a slow link an animated scroll is a dozen screens sent for one key."""
    monkeypatch.delenv("TEXTUAL_ANIMATIONS", raising=False)
    assert AcctApp(db_path).animation_level == "none"
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "full")
    assert AcctApp(db_path).animation_level == "full"


@pytest.mark.both_backends
async def test_number_keys_switch_between_the_four_screens(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.current_mode == "accounts"
        assert "1234 Screens" in screen_text(app)
        for key, mode in (("2", "checklist"), ("3", "approvals"), ("4", "reports"), ("1", "accounts")):
            await pilot.press(key)
            await settle(pilot)
            assert app.current_mode == mode
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("escape")  # back to the account list
        await settle(pilot)
        assert app.current_mode == "accounts"
        assert isinstance(app.screen, AccountsScreen)


async def test_screens_keep_their_state_when_switching(app):
    create_account("Alpha")
    create_account("Beta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("j", "4")
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert app.screen is screen
        assert screen.table.selected.row.name == "Beta"


async def test_question_mark_lists_every_key_of_the_screen(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, KeysScreen)
        text = screen_text(app)
        await pilot.press("end")  # the list scrolls when it is longer than the terminal
        text += screen_text(app)
        for description in ("Add an account", "Sort by the next column", "Show or hide archived accounts",
                            "Filter by name or owner", "Open the account's checklist", "Checklist", "Quit"):
            assert description in text, description
        assert "Edit the selected account (not now)" in text  # nothing selected in an empty list
        await pilot.press("escape")
        assert isinstance(app.screen, AccountsScreen)


async def test_command_palette_finds_screens_by_name(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert titles[:4] == ["Accounts", "Checklist", "Approvals", "Reports"]
        await pilot.press("ctrl+p")
        await type_text(pilot, "Reports")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        for _ in range(500):  # the palette searches in the background: wait for its first hit
            if palette.query_one(CommandList).option_count:
                break
            await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "reports"


async def test_open_account_shows_its_checklist(app):
    account_id = create_account("Alpha")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_account(account_id)
        await settle(pilot)
        assert app.current_account_id == account_id
        assert app.current_mode == "checklist"


@pytest.mark.both_backends
async def test_changes_from_another_connection_appear_without_restart(db, db_target):
    app = AcctApp(db_target, watch_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        assert screen.table.total_count == 0
        screen.rows_loaded.clear()
        # A worker thread has its own connection: to this app's connection it is another session.
        await asyncio.to_thread(create_account, "From elsewhere", owner="zoe")
        await asyncio.wait_for(screen.rows_loaded.wait(), timeout=10)
        await pilot.pause()
        assert screen.table.shown_names == ["From elsewhere"]
        assert "From elsewhere" in screen_text(app)


async def test_sigterm_exits_in_order(app):
    handler_before = signal.getsignal(signal.SIGTERM)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        os.kill(os.getpid(), signal.SIGTERM)  # without the app's handler this would kill the test run
        await pilot.pause(0.2)
        assert app.return_code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == handler_before  # the app leaves the process as it found it


async def test_a_failing_worker_becomes_a_notification(app, monkeypatch):
    import acct_tui.screens.accounts as accounts_module

    def broken(**_):
        raise RuntimeError("disk on fire")

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        monkeypatch.setattr(accounts_module, "account_list", broken)
        app.screen.reload()
        await pilot.pause()
        await settle(pilot)
        messages = [notification.message for notification in app._notifications]
        assert any("disk on fire" in message for message in messages)
        assert app.is_running


async def test_no_color_terminal_renders_every_screen(db, db_path, monkeypatch):
    """NO_COLOR turns colours into greys through a filter that needs a style on every segment."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "No accounts yet" in screen_text(app)
        create_account("Alpha")
        app.screen.reload()
        await settle(pilot)
        assert "▶ Alpha" in screen_text(app)
        for keys in (("a",), ("escape", "question_mark"), ("escape", "x"), ("n", "2"), ("3",), ("4",)):
            await pilot.press(*keys)
            await settle(pilot)
            assert screen_text(app)
        assert app.is_running


async def test_ctrl_q_quits_from_a_dialog_too(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a", "ctrl+q")
        await pilot.pause()
        assert app.return_code == 0
        assert not app.is_running


async def test_a_database_that_cannot_be_watched_is_reported_once(app, monkeypatch):
    import acct_tui.app as app_module

    def unreadable() -> int:
        raise sqlite3.OperationalError("disk I/O error")

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        monkeypatch.setattr(app_module, "data_version", unreadable)
        app._check_for_changes()
        app._check_for_changes()
        await pilot.pause()
        messages = [notification.message for notification in app._notifications]
        assert messages == ["Cannot check the database for changes: disk I/O error"]
        assert app.is_running


@pytest.mark.parametrize(
    ("mode", "module", "query"),
    [("checklist", "acct_tui.screens.checklist", "run_view"), ("approvals", "acct_tui.screens.approvals",
                                                                "approval_queue")],
)
async def test_worker_failures_of_every_screen_become_notifications(app, monkeypatch, mode, module, query):
    import importlib

    queries = importlib.import_module(module).queries

    def broken(*_, **__):
        raise RuntimeError("disk on fire")

    app.current_account_id = create_account("Alpha")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        monkeypatch.setattr(queries, query, broken)
        await pilot.press({"checklist": "2", "approvals": "3"}[mode])
        await settle(pilot)
        assert any("disk on fire" in notification.message for notification in app._notifications)
        assert app.is_running


async def test_start_up_warnings_are_shown_inside_the_app(db, db_path):
    warning = "The database file /x/acct.db can be read by other users (mode 0644). Fix: chmod 600 '/x/acct.db'"
    app = AcctApp(db_path, startup_warnings=[warning])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert [notification.message for notification in app._notifications] == [warning]


async def test_opening_another_account_from_the_checklist_shows_it(app):
    first, second = create_account("Alpha"), create_account("Bravo")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_account(first)
        await settle(pilot)
        assert "Alpha" in screen_text(app)
        app.open_account(second)
        await settle(pilot)
        assert "Bravo" in screen_text(app) and app.current_mode == "checklist"
