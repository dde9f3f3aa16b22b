"""Keys typed ahead go where they were typed: bursts sent as one read, as a terminal over a slow link
delivers them, to every dialog, dropdown and form; the screen and the database show what the user meant."""

from __future__ import annotations

import uuid

import pytest
from textual.widgets import Input, Select

from acct_tui.app import AcctApp
from acct_tui.store import kpis, queries, services
from acct_tui.store.models import ApprovalDecision
from acct_tui.store.queries import account_rows
from acct_tui.widgets.account_table import AccountTable
from tests.bursts import burst, typed
from tests.test_approvals_screen import open_queue, submit_status_approval
from tests.ui_support import screen_text, settle

SIZE = (80, 24)


@pytest.fixture
def app(db, db_path) -> AcctApp:
    return AcctApp(db_path)


def focused_id(app: AcctApp) -> str | None:
    return app.focused.id if app.focused else None


# The account list and its form ------------------------------------------------------------------------------

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
        burst(app, "a", *typed("Acme"), "tab", *typed("alice"), "ctrl+s")
        await settle(pilot)
        assert [(row.name, row.owner) for row in account_rows()] == [("Acme", "alice")]
        assert app.screen.query_one("#filter", Input).value == ""
        assert isinstance(app.focused, AccountTable)


async def test_enter_and_tab_in_the_stage_dropdown_choose_and_move_on_without_saving(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "a", *typed("Acme"), "tab", "tab", "tab", "enter", "down")
        await settle(pilot)
        assert focused_id(app) != "stage"  # the dropdown's list is open
        burst(app, "enter", "tab")
        await settle(pilot)
        assert app.screen.query_one("#stage", Select).value == "Onboarding"
        assert focused_id(app) == "industry"
        assert account_rows() == []  # nothing saved: only ctrl+s saves
        burst(app, *typed("Retail"), "ctrl+s")
        await settle(pilot)
        [row] = account_rows()
        account = queries.account_detail(row.id)
        assert (account.name, account.stage, account.industry) == ("Acme", "Onboarding", "Retail")


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
