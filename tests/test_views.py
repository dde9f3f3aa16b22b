"""Saved views of the account list and its query syntax: what the user types and presses, what the screen
shows, what the database keeps (across a restart) and what `acct-tui views list --json` exports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from typing import NamedTuple

import pytest

from acct_tui.app import AcctApp
from acct_tui.errors import DomainError
from acct_tui.screens.accounts import AccountCommands, AccountsScreen, SavedViewCommands
from acct_tui.screens.help import KeysScreen
from acct_tui.screens.view_dialogs import ColumnsDialog, SaveViewDialog
from acct_tui.store import queries, services
from acct_tui.store.views import View, delete_view, save_view, saved_views
from acct_tui.template import DUE_KEY
from acct_tui.widgets.account_table import AccountTable
from acct_tui.workflow.query import QUERIED_FIELDS, complete, parse_query
from tests.portfolio_builder import finish_steps, run_of
from tests.ui_support import screen_text, settle, type_text

SIZE = (80, 24)
NOW = datetime(2026, 6, 30, 12, 0)


class Row(NamedTuple):
    """An account as a query reads it (its fields in `QUERIED_FIELDS` order)."""

    search_text: str = "acme\nalice"
    owner_key: str = "alice"
    stage_key: str = "onboarding"
    segment_key: str = "key"
    overdue: int = 0
    rejected: bool = False
    waiting: bool = False
    percent_done: float = 25.0
    last_activity: datetime = NOW


@pytest.mark.parametrize(("query", "row", "expected"), [
    ("owner:ali", Row(), True),
    ("owner:bob", Row(), False),
    ("stage:onb segment:KEY", Row(), True),
    ("stage:retention", Row(), False),
    ("overdue", Row(overdue=2), True),
    ("-overdue", Row(overdue=2), False),
    ("rejected waiting", Row(rejected=True, waiting=True), True),
    ("waiting", Row(), False),
    ('"not-touched:30"', Row(last_activity=NOW - timedelta(days=31)), True),
    ("not-touched:30", Row(last_activity=NOW - timedelta(days=29)), False),
    ("progress:>20", Row(), True),
    ("progress:<=20", Row(), False),
    ("progress:20-30", Row(), True),
    ("progress:25", Row(), True),
    ("progress:<50", Row(percent_done=-1.0), False),  # no run: no progress to compare
    ("acme owner:alice", Row(), True),
    ("acme zeta", Row(), False),
    ("-zeta", Row(), True),
    ('owner:"ali"', Row(), True),
    ("acme:eu", Row(search_text="acme:eu corp\nalice"), True),  # an unknown key is text
])
def test_query_terms(query, row, expected):
    assert Row._fields == QUERIED_FIELDS
    parsed = parse_query(query, NOW)
    assert parsed.problems == ()
    assert parsed.matches(row) is expected


@pytest.mark.parametrize(("query", "problem"), [
    ("progress:lots", "progress: needs a percentage"),
    ("not-touched:soon", "not-touched: needs a number of days"),
    ("owner:", "owner: needs a value"),
])
def test_bad_terms_are_explained_and_left_out(query, problem):
    parsed = parse_query(f"acme {query}", NOW)
    assert parsed.problems[0].startswith(problem)
    assert parsed.words == ("acme",) and parsed.conditions == ()


def test_completion_offers_keys_flags_and_values():
    owners, stages = ("alice", "Ana Lima"), ("Onboarding", "Prospecting")
    assert complete("ow", owners, stages) == "owner:"
    assert complete("acme -ov", owners, stages) == "acme -overdue"
    assert complete("owner:an", owners, stages) == 'owner:"Ana Lima"'
    assert complete("stage:pro", owners, stages) == "stage:Prospecting"
    assert complete("overdue", owners, stages) is None
    assert complete("", owners, stages) is None


@pytest.fixture
def portfolio(db):
    """Alpha: alice, Key, onboarding. Bravo: bob, an approval waiting. Charlie: alice, an approval rejected.
    Delta: carol, a task overdue."""
    alpha = services.create_account("Alpha", owner="alice", segment="Key", stage="Onboarding")
    bravo = services.create_account("Bravo", owner="bob")
    charlie = services.create_account("Charlie", owner="alice")
    delta = services.create_account("Delta", owner="carol")
    finish_steps(run_of(bravo), 4)
    finish_steps(run_of(charlie), 4)
    services.reject(run_of(charlie), 5, "Redo the research.")
    services.set_field(run_of(delta), 1, DUE_KEY, date.today() - timedelta(days=3))
    return {"Alpha": alpha, "Bravo": bravo, "Charlie": charlie, "Delta": delta}


def test_waiting_and_rejected_flags_come_from_the_approvals(portfolio):
    rows = queries.account_rows()
    assert {row.id for row in rows if row.waiting} == {portfolio["Bravo"]}
    assert {row.id: row.rejected_gate for row in rows if row.rejected_gate is not None} == {portfolio["Charlie"]: 5}
    for limit in (2, 4):  # the first screenful reads the same figures for its accounts only
        assert queries.account_rows(limit=limit) == rows[:limit]


def table(app: AcctApp) -> AccountTable:
    return app.screen.query_one(AccountTable)


async def filter_by(pilot, text: str) -> None:
    """Put `text` in the filter box, as a paste would (typing every query key by key is slow)."""
    pilot.app.screen.filter_input.value = text
    await pilot.pause()


async def test_the_query_syntax_filters_the_list(portfolio, db_path):
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "owner:alice")
        assert table(app).shown_names == ["Alpha", "Charlie"]
        for query, names in [
            ("owner:alice rejected", ["Charlie"]),
            ("waiting", ["Bravo"]),
            ("overdue", ["Delta"]),
            ("-overdue owner:a", ["Alpha", "Charlie"]),
            ("stage:onb segment:key", ["Alpha"]),
            ("progress:>10", ["Bravo"]),
            ("not-touched:1", []),
            ("bravo", ["Bravo"]),
        ]:
            await filter_by(pilot, query)
            assert table(app).shown_names == names, query
        await filter_by(pilot, "owner:alice progress:lots")
        assert table(app).shown_names == ["Alpha", "Charlie"]  # the bad term is left out, and said so
        assert "progress: needs a percentage" in screen_text(app)


async def test_completion_in_the_filter_box(portfolio, db_path):
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", "o", "w")
        await pilot.pause()
        assert "owner:" in screen_text(app)  # offered after the cursor
        await pilot.press("right")
        await type_text(pilot, "ca")
        await pilot.pause()
        await pilot.press("right")
        await pilot.pause()
        assert app.screen.filter_input.value == "owner:carol"
        assert table(app).shown_names == ["Delta"]


async def test_a_saved_view_survives_a_restart_and_opens_with_its_key(portfolio, db_path):
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "owner:alice")
        await pilot.press("enter", "s", "z")  # sort by owner, archived shown
        await pilot.press("c")
        assert isinstance(app.screen, ColumnsDialog)
        await pilot.press("space", "enter")  # hide the first column offered (owner)
        await pilot.pause()
        assert "owner" not in table(app).column_keys
        await pilot.press("v")
        await type_text(pilot, "Alice's")
        await pilot.press("enter")
        await type_text(pilot, "F5")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        [view] = saved_views()
        assert view == View("Alice's", "f5", "owner:alice", "owner", False, True,
                            ("segment", "stage", "progress", "step", "approval", "overdue", "activity"))
        assert "View “Alice's” (f5)" in screen_text(app)
    again = AcctApp(db_path)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert table(again).shown_names == ["Alpha", "Bravo", "Charlie", "Delta"]
        await pilot.press("f5")  # one keystroke
        await pilot.pause()
        assert table(again).shown_names == ["Alpha", "Charlie"]
        assert again.screen.filter_input.value == "owner:alice"
        assert table(again).show_archived and table(again).sort_column.key == "owner"
        assert "Owner" not in screen_text(again).splitlines()[2]  # the column header line
        assert "View “Alice's” (f5)" in screen_text(again)
        titles = [hit.text async for hit in AccountCommands(again.screen).discover()]
        assert "View: Alice's" in titles and "Delete view: Alice's" in titles
    result = subprocess.run([sys.executable, "-m", "acct_tui", "views", "list", "--json"], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "ACCT_TUI_DB": str(db_path)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [view.as_json()]


async def test_a_view_key_on_another_screen_goes_to_the_list_showing_that_view(portfolio, db_path):
    save_view(View("Alice's", "f5", "owner:alice", "name", False, False, ()))
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # the checklist of the first account
        await settle(pilot)
        assert app.current_mode == "checklist"
        titles = [hit.text async for hit in SavedViewCommands(app.screen).discover()]
        assert titles == ["View: Alice's"]  # the palette offers it there too
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        assert table(app).shown_names == ["Alpha", "Charlie"]
        assert "View “Alice's” (f5)" in screen_text(app)
        assert [hit.text async for hit in SavedViewCommands(app.screen).discover()] == []  # listed by its own


async def test_a_key_the_screen_in_front_uses_keeps_its_meaning_there(portfolio, db_path):
    save_view(View("Alice's", "f1", "owner:alice", "name", False, False, ()))
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter", "enter")  # the checklist, into the first step's form
        await settle(pilot)
        await pilot.press("f1")  # in a form F1 lists the keys
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)
        assert app.get_screen_stack("checklist")[0] is app.screen_stack[0]


async def test_a_key_terminals_cannot_deliver_or_already_used_is_refused_with_the_reason(portfolio, db_path):
    save_view(View("Late", "f6", "overdue", "name", False, False, ()))
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, reason in [("ctrl+h", "cannot open a view: use F1-F12 or alt+0 to alt+9"),
                            ("f6", "f6 already opens your view “Late”")]:
            await pilot.press("v")
            await type_text(pilot, "Mine")
            await pilot.press("enter")
            await type_text(pilot, key)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, SaveViewDialog)
            assert reason in screen_text(app)
            await pilot.press("escape")
        assert [view.name for view in saved_views()] == ["Late"]


def test_the_store_refuses_what_the_dialog_refuses(db):
    save_view(View("Late", "f6", "overdue", "name", False, False, ()))
    with pytest.raises(DomainError, match="already opens your view"):
        save_view(View("Other", "f6", "", "name", False, False, ()))
    with pytest.raises(DomainError, match="cannot open a view"):
        save_view(View("Other", "x", "", "name", False, False, ()))
    save_view(View("Late", "alt+1", "overdue waiting", "name", False, False, ()))  # same name: replaced
    assert [(view.name, view.key, view.filter_text) for view in saved_views()] == [("Late", "alt+1",
                                                                                   "overdue waiting")]
    assert saved_views(user="someone else") == []  # views are per user
    delete_view("Late")
    assert saved_views() == []
