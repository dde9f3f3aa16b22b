"""The KPI and objectives editors, driven by keys in a small app at 80x24 and checked in the database."""

from __future__ import annotations

import asyncio
import gc
from datetime import date
from decimal import Decimal
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widget import Widget

from acct_tui.store import kpis, services
from acct_tui.store.held import HeldStore, held_path
from acct_tui.store.models import database
from acct_tui.store.writer import Writer
from acct_tui.widgets.kpi_editor import KpiEditor
from acct_tui.widgets.objectives_editor import DEFINE, RESULTS, ObjectivesEditor
from tests.portfolio_builder import finish_steps, run_of
from tests.ui_support import settle, type_text, wait_for

SIZE = (80, 24)


class EditorApp(App[None]):
    """One editor alone, with the held store and writer it saves through (as in the real app)."""

    def __init__(self, editor: Widget) -> None:
        super().__init__()
        self.editor = editor
        self.changes = 0
        self.leaves = 0
        self.held = HeldStore(held_path(Path(database.obj.database)))

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        self.writer = Writer(self.held, lambda callback: loop.call_soon_threadsafe(callback), lambda waiting: None)

    def on_unmount(self) -> None:
        self.writer.finish(3.0)

    def compose(self) -> ComposeResult:
        yield self.editor

    def on_kpi_editor_changed(self) -> None:
        self.changes += 1

    def on_objectives_editor_changed(self) -> None:
        self.changes += 1

    def on_step_form_leave_requested(self) -> None:
        self.leaves += 1


def message(app: App) -> str:
    """The message line of the editor on the page (the checklist keeps the others hidden)."""
    [line] = [line for line in app.screen.query("#kpi-message, #objective-message") if line.parent.display]
    return str(line.content)


async def test_kpi_values_are_added_refused_with_a_reason_corrected_and_deleted(db):
    account = services.create_account("Acme")
    app = EditorApp(KpiEditor(account, 13))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one("#kpi-value").focus()
        await type_text(pilot, "1,250,000")
        await pilot.press("enter")
        await settle(pilot)
        [entry] = kpis.kpi_entries(account)
        assert (entry.metric, entry.value, entry.measured_on, entry.step) == (
            "revenue", Decimal("1250000.00"), date.today(), 13)
        assert app.changes == 1
        assert app.editor.entries == (entry,)

        app.query_one("#kpi-metric").value = "csat"
        app.query_one("#kpi-value").focus()
        await type_text(pilot, "7")
        await pilot.press("enter")
        await settle(pilot)
        assert "out of range: use a number from 1 to 5" in message(app)
        assert app.query_one("#kpi-value").value == "7"  # what was typed is kept
        assert len(kpis.kpi_entries(account)) == 1

        app.query_one("#kpi-entries").focus()
        await pilot.press("enter")  # correct the highlighted entry
        await settle(pilot)
        assert app.query_one("#kpi-metric").disabled
        assert app.query_one("#kpi-value").value == "1250000.00"
        app.query_one("#kpi-value").value = "1300000"
        await pilot.press("enter")
        await settle(pilot)
        assert kpis.kpi_entries(account)[0].value == Decimal("1300000.00")
        assert kpis.kpi_entries(account)[0].version == 2

        app.query_one("#kpi-entries").focus()
        await pilot.press("delete")
        await settle(pilot)
        assert kpis.kpi_entries(account) == ()
        assert "the history keeps it" in message(app)
        assert app.changes == 3

        await pilot.press("escape")
        assert app.leaves == 1


async def test_a_frozen_step_13_value_is_refused_in_words(db):
    account = services.create_account("Acme")
    kpis.add_kpi(account, "csat", "4", "2026-01-01", step=13)
    finish_steps(run_of(account), 15)
    app = EditorApp(KpiEditor(account, 13))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one("#kpi-entries").focus()
        await pilot.press("delete")
        await settle(pilot)
        assert "reopen that approval" in message(app)
        assert len(kpis.kpi_entries(account)) == 1


async def test_objectives_are_defined_in_step_6(db):
    run_id = run_of(services.create_account("Acme"))
    app = EditorApp(ObjectivesEditor(run_id, DEFINE))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one("#objective-title").focus()
        await type_text(pilot, "Raise CSAT")
        app.query_one("#objective-metric").value = "csat"
        app.query_one("#objective-target").value = "4.5"
        app.query_one("#objective-due").value = "2026-09-30"
        await pilot.press("enter")
        await settle(pilot)
        [objective] = kpis.objectives(run_id)
        assert (objective.title, objective.metric, objective.target, objective.due_on) == (
            "Raise CSAT", "csat", "4.5/5", date(2026, 9, 30))
        assert app.query_one("#objective-title").value == ""

        app.query_one("#objective-title").value = "Renew"
        app.query_one("#objective-metric").value = "text"
        await pilot.press("enter")  # no target
        await settle(pilot)
        assert "Target cannot be empty" in message(app)
        assert app.query_one("#objective-title").value == "Renew"

        app.query_one("#objective-list").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.query_one("#objective-target").value == "4.50"
        app.query_one("#objective-target").value = "4.7"
        await pilot.press("enter")
        await settle(pilot)
        assert kpis.objectives(run_id)[0].target == "4.7/5"

        app.query_one("#objective-list").focus()
        await pilot.press("delete")
        await settle(pilot)
        assert kpis.objectives(run_id) == ()
        assert app.changes == 3


async def test_results_are_recorded_in_step_20(db):
    run_id = run_of(services.create_account("Acme"))
    kpis.add_objective(run_id, "Renew the contract", "Signed by June")
    app = EditorApp(ObjectivesEditor(run_id, RESULTS))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one("#objective-result").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert message(app) == "Choose the objective in the list first (enter)."

        app.query_one("#objective-list").focus()
        await pilot.press("enter")
        await settle(pilot)
        app.query_one("#objective-verdict").value = 1  # achieved
        await type_text(pilot, "Signed on June 3 [bold]early[/bold]")
        await pilot.press("enter")
        await settle(pilot)
        [objective] = kpis.objectives(run_id)
        assert (objective.achieved, objective.result) == (True, "Signed on June 3 [bold]early[/bold]")
        assert "achieved: Signed on June 3 [bold]early[/bold]" in str(app.query_one("#objective-list").get_option_at_index(0).prompt)


def on_page(app, editor_class) -> list:
    """The editors of `editor_class` the step's page shows (the checklist keeps one of each, hidden, between
    the steps that show it)."""
    return [editor for editor in app.screen.query(editor_class) if editor.display]


async def test_the_checklist_shows_the_editors_in_steps_6_10_13_and_20(db, db_path):
    from acct_tui.app import AcctApp
    from tests.ui_support import screen_text

    account = services.create_account("Acme")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # open the checklist of the only account, on step 1
        await settle(pilot)
        for step, editor in ((6, ObjectivesEditor), (10, KpiEditor), (13, KpiEditor), (20, ObjectivesEditor)):
            app.screen.query_one("#step-list").highlighted = step - 1
            await settle(pilot)
            assert len(on_page(app, editor)) == 1, step
        assert on_page(app, ObjectivesEditor)[0].mode == RESULTS
        app.screen.query_one("#step-list").highlighted = 12
        await settle(pilot)
        [kpi_editor] = on_page(app, KpiEditor)
        assert kpi_editor.step == 13
        app.screen.query_one("#kpi-value").focus()
        await type_text(pilot, "250000")
        await pilot.press("enter")
        await settle(pilot)
        [entry] = kpis.kpi_entries(account)
        assert (entry.value, entry.step) == (Decimal("250000.00"), 13)
        await pilot.press("escape")  # back to the step list, as from the step's own fields
        await settle(pilot)
        assert app.screen.query_one("#step-list").has_focus
        app.screen.query_one("#step-list").highlighted = 3
        await settle(pilot)
        assert not on_page(app, KpiEditor) and "Step 4" in screen_text(app)


async def test_objectives_frozen_by_approval_8_say_so_until_it_is_reopened(db, db_path):
    from acct_tui.app import AcctApp

    account = services.create_account("Acme")
    run_id = run_of(account)
    kpis.add_objective(run_id, "Raise CSAT", "4.5", metric="csat")
    finish_steps(run_id, 8)
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        app.screen.query_one("#step-list").highlighted = 5
        await settle(pilot)
        [editor] = on_page(app, ObjectivesEditor)
        assert "reopen that approval to change it" in message(app)
        assert app.screen.query_one("#objective-title").disabled
        app.screen.query_one("#step-list").highlighted = 7
        await settle(pilot)
        await pilot.press("o")  # take approval 8 back
        await settle(pilot)
        app.screen.query_one("#step-list").highlighted = 5
        await settle(pilot)
        [editor] = on_page(app, ObjectivesEditor)
        assert editor.refusal is None and not app.screen.query_one("#objective-title").disabled


async def test_a_huge_value_is_refused_in_a_short_message_and_the_app_keeps_running(db):
    account = services.create_account("Acme")
    app = EditorApp(KpiEditor(account, 13))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for typed in ("1e999999999", "1e100000", "9999999999999.995"):
            app.query_one("#kpi-value").value = typed
            app.query_one("#kpi-value").focus()
            await pilot.press("enter")
            await settle(pilot)
            assert "out of range: use a number from 0 up to 9,999,999,999,999.99." in message(app)
            assert typed not in message(app) and len(message(app)) < 160  # the held note adds a line end
        assert kpis.kpi_entries(account) == ()
        app.query_one("#kpi-value").value = "0" * 5000 + "4.5" + "0" * 5000
        await pilot.press("enter")
        await settle(pilot)
        assert message(app).startswith("Saved Revenue 4.50 for") and len(message(app)) < 120
        assert app.is_running


async def test_the_kpi_editor_shown_again_for_another_account_is_that_accounts_alone(db, db_path):
    """The checklist keeps one KPI editor and shows it again for the next account: it lists that account's
    values with empty inputs, and the answer to a save for the last one (slow: another program held the
    database) does not show on the new one; the save itself lands on the account it was typed for."""
    import sqlite3

    from acct_tui.app import AcctApp

    acme, beta = services.create_account("Acme"), services.create_account("Beta")
    kpis.add_kpi(beta, "revenue", "500", "2026-01-05", step=10)
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_account(acme)
        await settle(pilot)
        app.screen.query_one("#step-list").highlighted = 9
        await settle(pilot)
        [first] = on_page(app, KpiEditor)
        lock = sqlite3.connect(db_path, isolation_level=None, timeout=10)
        lock.execute("BEGIN IMMEDIATE")
        try:
            app.screen.query_one("#kpi-value").focus()
            await type_text(pilot, "1250")
            await pilot.press("enter")  # the save waits for the lock
            await wait_for(pilot, lambda: app.writer.waiting)
            app.open_account(beta)
            await wait_for(pilot, lambda: app.screen.query_one("#step-list").option_count == 20
                           and app.screen.sub_title == "Beta")
            app.screen.query_one("#step-list").highlighted = 9
            await wait_for(pilot, lambda: on_page(app, KpiEditor) and on_page(app, KpiEditor)[0].has_shown)
        finally:
            lock.rollback()
            lock.close()
        await settle(pilot)
        [shown] = on_page(app, KpiEditor)
        assert shown is first and shown.account_id == beta  # the same editor, now Beta's
        assert [entry.text for entry in shown.entries] == ["500"]
        assert app.screen.query_one("#kpi-value").value == ""
        assert "Saved" not in message(app)
    assert [entry.value for entry in kpis.kpi_entries(acme)] == [Decimal("1250.00")]  # Acme's save landed
    assert [entry.value for entry in kpis.kpi_entries(beta)] == [Decimal("500.00")]


async def test_the_editors_are_built_hidden_once_the_checklist_is_on_the_screen(db, db_path):
    """Opening a step with an editor of its own then only shows it: none is built while the user waits, and
    none is walked again by the cycle collector."""
    from acct_tui.app import AcctApp
    from acct_tui.widgets.list_editor import ListEditor

    account = services.create_account("Acme")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_account(account)
        await settle(pilot)
        built = list(app.screen.query(ListEditor))
        assert sorted((type(editor).__name__, getattr(editor, "mode", "")) for editor in built) == [
            ("KpiEditor", ""), ("ObjectivesEditor", DEFINE), ("ObjectivesEditor", RESULTS)]
        assert not any(editor.display for editor in built)
        # Built to last as long as the app: kept out of the cycle collector's full passes, as what the app had
        # at its start is (each pass walked them again: the slowest checklist opens).
        tracked = {id(thing) for thing in gc.get_objects()}
        assert not any(id(editor) in tracked or id(app.screen) in tracked for editor in built)
        for step, editor_class in ((10, KpiEditor), (6, ObjectivesEditor), (20, ObjectivesEditor)):
            app.screen.query_one("#step-list").highlighted = step - 1
            await settle(pilot)
            [shown] = on_page(app, editor_class)
            assert shown in built and len(app.screen.query(ListEditor)) == 3
            assert shown.step == step and shown.account_id == account
