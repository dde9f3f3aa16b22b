"""Keys the README promises: `j`/`k` move in the checklist's step list and in the approval queue, as
bindings a keymap can rebind (each with a description and an id), and never while typing in a field."""

from __future__ import annotations

from acct_tui.app import AcctApp
from acct_tui.screens.approvals import ApprovalsScreen
from acct_tui.store import queries, services
from acct_tui.widgets.step_list import StepList
from tests.test_approvals_screen import open_queue, submit_status_approval
from tests.ui_support import screen_text, settle, type_text

SIZE = (80, 24)


def bindings_for(keys: tuple[str, ...], bindings) -> dict[str, tuple[str, str]]:
    return {binding.key: (binding.description, binding.id) for binding in bindings if binding.key in keys}


async def test_j_and_k_move_between_the_steps_of_the_checklist(db, db_path):
    account = services.create_account("Northwind", owner="ana")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_account(account)
        await settle(pilot)
        steps = app.screen.query_one(StepList)
        await pilot.press("home", "j", "j")
        await settle(pilot)
        assert steps.highlighted_step == 3
        assert any(line.startswith("▶  3 [ ]") for line in screen_text(app).splitlines())
        await pilot.press("k")
        await settle(pilot)
        assert steps.highlighted_step == 2
        await pilot.press("enter", "tab")  # into step 2's form, to its notes: j and k are letters there
        await type_text(pilot, "jk")
        await pilot.press("escape")
        await settle(pilot)
        assert steps.highlighted_step == 2
        assert queries.run_view(account).step(2).field("notes").value == "jk"
    assert bindings_for(("j", "k"), StepList.BINDINGS) == {
        "j": ("Next step", "checklist.next_step"), "k": ("Previous step", "checklist.previous_step")}


async def test_j_and_k_move_in_the_approval_queue_and_show_what_it_covers(db, db_path):
    submit_status_approval("Beta", "bob")
    submit_status_approval("Alpha", "ana")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_queue(pilot)
        assert "Decide: Approval: Account Status for Beta" in screen_text(app)
        await pilot.press("j")
        await settle(pilot)
        assert "Decide: Approval: Account Status for Alpha" in screen_text(app)
        assert "▶ Alpha · step 5 · Approval: Account Status" in screen_text(app)
        await pilot.press("k")
        await settle(pilot)
        assert "Decide: Approval: Account Status for Beta" in screen_text(app)
        await pilot.press("enter")  # focus moves to what the steps contain; j still moves the queue
        await settle(pilot)
        await pilot.press("j")
        await settle(pilot)
        assert "Decide: Approval: Account Status for Alpha" in screen_text(app)
    assert bindings_for(("j", "k"), ApprovalsScreen.BINDINGS) == {
        "j": ("Next approval", "approvals.down"), "k": ("Previous approval", "approvals.up")}
