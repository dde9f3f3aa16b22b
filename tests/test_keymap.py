"""The user's own keys (keymap.toml) and the remembered theme: what the app shows, what it does, what it says."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from acct_tui.app import AcctApp
from acct_tui.keymap import UserKeymap, binding_catalogue, key_problem, keymap_path, load_keymap
from acct_tui.screens.account_form import AccountForm
from acct_tui.screens.accounts import AccountsScreen
from acct_tui.screens.help import KeysScreen
from acct_tui.settings import load_settings, settings_path
from tests.ui_support import screen_text, settle

SIZE = (80, 24)


def write_keymap(text: str) -> Path:
    path = keymap_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def notifications(app: AcctApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def test_a_remapped_key_is_shown_in_the_footer_and_in_the_key_list_and_works(db, db_path):
    write_keymap('"accounts.add" = "n"\n"screen.reports" = "f4"\n')
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert notifications(app) == []  # the whole file applied
        footer = screen_text(app).splitlines()[-1]
        assert "n Add" in footer and "a Add" not in footer
        await pilot.press("question_mark")
        assert isinstance(app.screen, KeysScreen)
        keys = screen_text(app)
        assert re.search(r"│   n +Add an account", keys)
        assert not re.search(r"│   a ", keys)
        await pilot.press("escape")
        await pilot.press("a")  # the old key does nothing now
        assert isinstance(app.screen, AccountsScreen)
        await pilot.press("n")
        assert isinstance(app.screen, AccountForm)
        await pilot.press("escape")
        await pilot.press("f4")
        await settle(pilot)
        assert app.current_mode == "reports"


async def test_a_wrong_id_and_a_key_terminals_cannot_send_are_reported_in_one_line(db, db_path):
    write_keymap('"accounts.ad" = "n"\n"app.keys" = "ctrl+h"\n"accounts.edit" = "f2"\n')
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        [warning] = notifications(app)
        assert "\n" not in warning
        assert "“accounts.ad” (did you mean accounts.add?)" in warning
        assert "app.keys: ctrl+h arrives as backspace" in warning
        footer = screen_text(app).splitlines()[-1]
        assert "a Add" in footer  # the defaults stand where the file could not be used
        await pilot.press("question_mark")
        assert isinstance(app.screen, KeysScreen)  # ? still opens the key list
        assert "f2" in screen_text(app)  # the usable line of the file applied


async def test_a_malformed_keymap_starts_the_app_with_the_default_keys(db, db_path):
    path = write_keymap('"accounts.add" = n\n')
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        [warning] = notifications(app)
        assert warning.startswith(f"Your keymap {path} is not valid TOML")
        await pilot.press("a")
        assert isinstance(app.screen, AccountForm)


@pytest.mark.parametrize("keys", ["ctrl+h", "ctrl+i", "ctrl+m", "ctrl+[", "ctrl+enter", "ctrl+tab",
                                  "ctrl+backspace", "ctrl+space", "ctrl+b", "f5,ctrl+m"])
def test_keys_terminals_cannot_tell_apart_are_refused(keys):
    assert key_problem(keys) is not None


@pytest.mark.parametrize("keys", ["f5", "alt+1", "ctrl+j", "shift+tab", "?", "down,j", "pagedown", "ctrl+s"])
def test_keys_terminals_deliver_are_accepted(keys):
    assert key_problem(keys) is None


def test_a_key_name_that_does_not_exist_and_a_value_that_is_not_text_are_refused():
    write_keymap('"accounts.add" = "ctrl+nope"\n"accounts.edit" = 5\n')
    keymap = load_keymap()
    assert keymap.keys == {}
    assert "“ctrl+nope” is not a key name" in keymap.problem
    assert "accounts.edit: the key must be text" in keymap.problem


def test_a_key_another_binding_of_the_same_screen_has_is_refused_unless_that_one_moves_too():
    write_keymap('"accounts.add" = "s"\n')
    keymap = load_keymap()
    assert keymap.keys == {}
    assert "accounts.add: s is already the key of accounts.sort" in keymap.problem
    write_keymap('"accounts.add" = "s"\n"accounts.sort" = "f9"\n')  # a swap is fine
    assert load_keymap() == UserKeymap({"accounts.add": "s", "accounts.sort": "f9"}, None)


def test_every_binding_has_a_unique_id_and_a_description():
    catalogue = binding_catalogue()
    assert {"app.keys", "accounts.add", "accounts.down", "checklist.complete", "approvals.approve"} <= set(catalogue)
    assert all(info.description for info in catalogue.values())


def test_keys_json_lists_every_binding_with_its_default_and_current_key(tmp_path):
    write_keymap('"accounts.add" = "n"\n')
    result = subprocess.run([sys.executable, "-m", "acct_tui", "keys", "--json"], capture_output=True, text=True,
                            timeout=120, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    bindings = {binding["id"]: binding for binding in json.loads(result.stdout)}
    assert set(bindings) == set(binding_catalogue())
    assert bindings["accounts.add"] == {"id": "accounts.add", "description": "Add an account",
                                        "where": "AccountsScreen", "default": "a", "key": "n"}
    assert bindings["accounts.edit"]["key"] == bindings["accounts.edit"]["default"] == "e"


async def test_the_theme_picked_is_remembered(db, db_path):
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme != "nord"
        app.theme = "nord"  # what choosing it in the palette's theme list does
        await settle(pilot)
    assert load_settings() == {"theme": "nord"}
    assert stat.S_IMODE(settings_path().stat().st_mode) == 0o600
    assert [path.name for path in settings_path().parent.iterdir()] == ["settings.json"]  # no temporary left
    again = AcctApp(db_path)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert again.theme == "nord"


async def test_a_damaged_settings_file_starts_with_the_default_theme(db, db_path):
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text("{not json", encoding="utf-8")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "textual-dark"
