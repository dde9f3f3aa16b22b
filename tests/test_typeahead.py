"""Keys typed ahead go where they were typed: bursts sent as one read, as a terminal over a slow link
delivers them, to every dialog, dropdown and form; the screen and the database show what the user meant.

Each burst is queued whole before the app handles its first key (`tests.bursts`); `pilot.press` would hand
the keys over one by one and hide the problem."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from textual.widgets import Input, Select

from acct_tui.app import AcctApp
from acct_tui.screens.export_dialog import ExportDialog
from acct_tui.screens.reports import ReportsScreen
from acct_tui.store import kpis, queries, services
from acct_tui.store.models import ApprovalDecision
from acct_tui.store.queries import account_rows
from acct_tui.widgets.account_table import AccountTable
from tests.bursts import burst, typed
from tests.portfolio_builder import run_of
from tests.test_approvals_screen import open_queue, submit_status_approval
from tests.ui_support import screen_text, settle, type_text

SIZE = (80, 24)


@pytest.fixture
def app(db, db_path) -> AcctApp:
    return AcctApp(db_path)


def focused_id(app: AcctApp) -> str | None:
    return app.focused.id if app.focused else None


def stored_account():
    [row] = account_rows(include_archived=True)
    return queries.account_detail(row.id)


# The account list, its form and its confirmation ------------------------------------------------------------

async def test_a_then_a_name_in_one_read_fills_the_new_form(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "a", *typed("Acme"))
        await settle(pilot)
        assert app.screen.query_one("#name", Input).value == "Acme"
        burst(app, "ctrl+s")
        await settle(pilot)
        assert [row.name for row in account_rows()] == ["Acme"]


async def test_a_name_tab_owner_in_one_read_lands_in_the_form_not_the_filter(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "a", *typed("Acme"), "tab", *typed("alice"), "ctrl+s", "j")
        await settle(pilot)
        assert [(row.name, row.owner) for row in account_rows()] == [("Acme", "alice")]
        assert app.screen.query_one("#filter", Input).value == ""
        assert isinstance(app.focused, AccountTable)


async def test_two_accounts_typed_in_one_read_are_both_added(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "a", *typed("Acme"), "ctrl+s", "a", *typed("Beta"), "tab", *typed("bob"), "ctrl+s")
        await settle(pilot)
        assert [(row.name, row.owner) for row in account_rows()] == [("Acme", ""), ("Beta", "bob")]


async def test_enter_then_tab_in_the_stage_dropdown_choose_and_move_on_without_saving(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await type_text(pilot, "Acme")
        await pilot.press("tab", "tab", "tab", "enter", "down")  # the stage dropdown, open on Onboarding
        await settle(pilot)
        burst(app, "enter", "tab")
        await settle(pilot)
        assert app.screen.query_one("#stage", Select).value == "Onboarding"
        assert focused_id(app) == "industry"
        assert account_rows() == []  # only ctrl+s saves
        burst(app, *typed("Retail"), "ctrl+s")
        await settle(pilot)
        account = stored_account()
        assert (account.name, account.stage, account.industry) == ("Acme", "Onboarding", "Retail")


async def test_a_whole_form_with_both_dropdowns_typed_in_one_read(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "a", *typed("Acme"), "tab", *typed("alice"), "tab", "enter", "down", "down", "enter",
              "tab", "enter", "down", "enter", "tab", *typed("Retail"), "tab", *typed("1,250,000"), "ctrl+s")
        await settle(pilot)
        account = stored_account()
        assert (account.name, account.owner, account.segment, account.stage, account.industry,
                account.annual_revenue) == ("Acme", "alice", "Strategic", "Onboarding", "Retail",
                                            Decimal("1250000.00"))
        assert isinstance(app.focused, AccountTable)


async def test_escape_in_the_form_cancels_and_the_keys_after_it_go_to_the_list(app):
    services.create_account("Acme")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "a", *typed("Zed"), "escape", "slash", *typed("ac"))
        await settle(pilot)
        assert [row.name for row in account_rows()] == ["Acme"]
        assert app.screen.query_one("#filter", Input).value == "ac"


async def test_x_then_y_in_one_read_archives_after_asking(app):
    services.create_account("Acme")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "x", "y")
        await settle(pilot)
        assert stored_account().archived
        burst(app, "z", "x", "n")  # show archived; asked to restore, and declined
        await settle(pilot)
        assert stored_account().archived
        assert isinstance(app.focused, AccountTable)


async def test_a_name_typed_while_the_edit_form_opens_goes_into_it(app):
    services.create_account("Acme", owner="bob")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "e", "tab", "ctrl+u", *typed("carol"), "ctrl+s")
        await settle(pilot)
        assert stored_account().owner == "carol"


# The approval queue ----------------------------------------------------------------------------------------

async def test_n_a_comment_and_enter_in_one_read_reject_with_that_comment(app):
    beta = submit_status_approval("Beta", "bob")
    async with app.run_test(size=SIZE) as pilot:
        await open_queue(pilot)
        burst(app, "n", *typed("Redo the figures"), "enter")
        await settle(pilot)
        decision = ApprovalDecision.get()
        assert (decision.decision, decision.comment) == ("rejected", "Redo the figures")
        assert queries.run_view(beta).step(5).status == "rejected"
        assert "Rejected “Approval: Account Status” for Beta." in screen_text(app)


async def test_n_escape_then_y_in_one_read_cancel_the_rejection_and_approve(app):
    beta = submit_status_approval("Beta", "bob")
    async with app.run_test(size=SIZE) as pilot:
        await open_queue(pilot)
        burst(app, "n", *typed("no"), "escape", "y")
        await settle(pilot)
        assert ApprovalDecision.get().decision == "approved"
        assert queries.run_view(beta).step(5).status == "approved"


# The checklist: its step form, KPI and objectives editors ----------------------------------------------------

async def test_enter_enter_and_the_fields_of_a_step_in_one_read(app):
    account = services.create_account("Acme")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "enter", "enter", *typed("Met the CFO"), "tab", *typed("2026-12-01"), "tab", *typed("ana"),
              "escape", "down")
        await settle(pilot)
        step = queries.run_view(account).step(1)
        assert step.field("notes").value == "Met the CFO"
        assert step.field("due").value == date(2026, 12, 1)
        assert step.field("assignee").value == "ana"
        assert app.screen.query_one("#step-list").highlighted == 1  # "down" after leaving the form: step 2


async def open_step(pilot, step: int) -> None:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    pilot.app.screen.query_one("#step-list").highlighted = step - 1
    await settle(pilot)


async def test_kpi_metric_chosen_in_the_dropdown_then_tab_and_value_in_one_read(app):
    account = services.create_account("Acme")
    async with app.run_test(size=SIZE) as pilot:
        await open_step(pilot, 13)
        app.screen.query_one("#kpi-metric").focus()
        await pilot.press("enter", "down")  # the dropdown is open on CSAT
        await settle(pilot)
        burst(app, "enter", "tab", *typed("4.5"), "enter")
        await settle(pilot)
        [entry] = kpis.kpi_entries(account)
        assert (entry.metric, entry.value, entry.measured_on) == ("csat", Decimal("4.50"), date.today())


async def test_a_kpi_value_typed_in_one_read_from_opening_the_dropdown_on(app):
    account = services.create_account("Acme")
    async with app.run_test(size=SIZE) as pilot:
        await open_step(pilot, 10)
        app.screen.query_one("#kpi-metric").focus()
        burst(app, "enter", "down", "down", "enter", "tab", *typed("42"), "tab", "ctrl+u", *typed("2026-03-01"),
              "enter", *typed("50"), "tab", "ctrl+u", *typed("2026-04-01"), "enter")
        await settle(pilot)
        assert sorted((entry.metric, entry.value, entry.measured_on) for entry in kpis.kpi_entries(account)) == [
            ("nps", Decimal("42"), date(2026, 3, 1)), ("nps", Decimal("50"), date(2026, 4, 1))]


async def test_an_objective_typed_in_one_read_with_its_metric_chosen_in_the_dropdown(app):
    account = services.create_account("Acme")
    async with app.run_test(size=SIZE) as pilot:
        await open_step(pilot, 6)
        app.screen.query_one("#objective-title").focus()
        burst(app, *typed("Raise CSAT"), "tab", "enter", "down", "down", "enter", "tab", *typed("4.5"), "tab",
              *typed("2026-09-30"), "enter")
        await settle(pilot)
        [objective] = kpis.objectives(run_of(account))
        assert (objective.title, objective.metric, objective.target, objective.due_on) == (
            "Raise CSAT", "csat", "4.5/5", date(2026, 9, 30))


async def test_an_objective_judged_in_one_read_with_the_verdict_chosen_in_the_dropdown(app):
    account = services.create_account("Acme")
    kpis.add_objective(run_of(account), "Renew the contract", "Signed by June")
    async with app.run_test(size=SIZE) as pilot:
        await open_step(pilot, 20)
        # the results editor's list (the checklist keeps the objectives editor of step 6 hidden beside it)
        app.screen.query_one("#objective-verdict").parent.parent.query_one("#objective-list").focus()
        burst(app, "enter", "shift+tab", "enter", "down", "down", "enter", "tab", *typed("Lost to a rival"),
              "enter")
        await settle(pilot)
        [objective] = kpis.objectives(run_of(account))
        assert (objective.achieved, objective.result) == (False, "Lost to a rival")


# Reports: the export dialog and its question ----------------------------------------------------------------

async def test_export_format_file_name_and_replace_answered_in_one_read(app, tmp_path: Path):
    services.create_account("Acme")
    own = tmp_path / "my_report.json"
    own.write_text("my own edits")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        burst(app, "e", "down", "down", "enter", "ctrl+u", *typed(str(own)), "enter", "y")
        await settle(pilot)
        assert isinstance(app.screen, ReportsScreen)
        assert own.read_text(encoding="utf-8").startswith("{")
        burst(app, "e", "enter", "ctrl+u", *typed(str(own)), "enter", "n")
        await settle(pilot)
        assert own.read_text(encoding="utf-8").startswith("{")  # kept: "n" answered the question
        assert isinstance(app.screen, ExportDialog)  # and the dialog is back at the file name
        assert app.focused is app.screen.query_one("#export-path")


# Textual's own dialogs ---------------------------------------------------------------------------------------

async def test_keys_typed_after_ctrl_p_go_to_the_command_palette(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "ctrl+p", *typed("approvals"), "enter")
        await settle(pilot)
        assert app.current_mode == "approvals"


async def test_the_keys_screen_closed_and_a_form_opened_in_one_read(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "question_mark", "escape", "a", *typed("Zed"))
        await settle(pilot)
        assert app.screen.query_one("#name", Input).value == "Zed"


async def test_the_filter_cleared_and_typed_again_in_one_read(app):
    for name in ("Acme", "Beta", "Contoso"):
        services.create_account(name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "slash", *typed("zz"), "escape", "slash", *typed("be"), "enter", "e")
        await settle(pilot)
        assert app.screen.query_one("#name", Input).value == "Beta"  # "e" edits the one account left
