"""Issue 10 at 80x24, by keys: approvers see everything they decide, a rejection cannot be missed, the
screen tells the truth, and `?` lists every key. The first test walks one account through all 20 steps and
the four approvals, with a rejection, and checks what the approver sees at each gate."""

from __future__ import annotations

import uuid

from textual.widgets import Static

from acct_tui.app import AcctApp
from acct_tui.screens.help import KeysScreen
from acct_tui.store import kpis, queries, services
from acct_tui.store.models import ApprovalDecision
from acct_tui.widgets.step_list import StepList
from tests.portfolio_builder import finish_steps, run_of
from tests.ui_support import screen_text, settle, type_text

SIZE = (80, 24)


def detail(app: AcctApp) -> str:
    """The whole approval detail, also the part scrolled out of view."""
    return "\n".join(str(line.render()) for line in app.screen.query("#queue-detail Static").results(Static))


def shown(app: AcctApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def cursor_step(app: AcctApp) -> int | None:
    return app.screen.query_one(StepList).highlighted_step


def statuses(account: uuid.UUID) -> list[str]:
    return [step.status for step in queries.run_view(account).steps]


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def go_to_field(pilot, widget_id: str) -> None:
    """Tab through the step's page until `widget_id` has the focus, as a user does."""
    for _ in range(12):
        if pilot.app.focused is not None and pilot.app.focused.id == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"tab never reached #{widget_id}")


async def decide(pilot, *keys: str) -> str:
    """Open the queue, read the detail of the oldest approval, and decide it with `keys`."""
    await press(pilot, "3")
    seen = detail(pilot.app)
    await press(pilot, *keys)
    return seen


async def test_one_account_through_20_steps_and_4_approvals_with_a_rejection(db, db_path):
    account = services.create_account("Northwind", owner="ana")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        assert cursor_step(app) == 1
        await press(pilot, "d", "d")
        await press(pilot, "enter", "space", "escape", "d")  # step 3: late payments
        await press(pilot, "enter", "down", "space", "escape", "d")  # step 4: satisfied
        assert statuses(account)[4] == "pending"

        seen = await decide(pilot, "n")
        assert "Decide: Approval: Account Status for Northwind" in seen
        assert "Observed history issues: Late payments" in seen
        assert "Customer satisfaction: Satisfied" in seen
        assert "Rejected before" not in seen
        await type_text(pilot, "Add the complaints of 2025")
        await press(pilot, "enter")
        assert statuses(account)[:5] == ["open"] * 4 + ["rejected"]

        # The rejection: in the account list, in the checklist's header and on each step sent back.
        await press(pilot, "1")
        assert "✘ Northwind" in screen_text(app)
        await press(pilot, "2")
        assert cursor_step(app) == 1
        header = shown(app, "#checklist-rejection")
        assert header.startswith("✘ Step 5 was rejected by tester on 20")
        assert header.endswith(": “Add the complaints of 2025”")
        assert "✘ Step 5 was rejected by tester on 20" in screen_text(app)  # the line is shown above the steps
        heading = shown(app, "#step-heading")
        assert "[ ] open, reopened by tester on 20" in heading
        assert "“Add the complaints of 2025”" in heading

        await press(pilot, "d", "d")
        await press(pilot, "enter", "down", "space", "escape", "d")  # step 3: customer complaints too
        await press(pilot, "d")
        assert shown(app, "#checklist-rejection") == ""
        assert "was rejected by" not in screen_text(app)
        seen = await decide(pilot, "y")
        assert "Rejected before by tester on 20" in seen
        assert "“Add the complaints of 2025”" in seen
        assert "Changed since then (marked ✎ below):" in seen
        assert "✎ step 3," in seen and "Late payments, Customer complaints" in seen
        assert "✎ Observed history issues: Late payments, Customer complaints" in seen
        assert "✎ Customer satisfaction" not in seen

        # Back in the checklist the cursor is on the next step to do: 6, the objectives.
        await press(pilot, "2")
        assert cursor_step(app) == 6
        await press(pilot, "enter")
        await go_to_field(pilot, "objective-title")
        await type_text(pilot, "Raise CSAT")
        await go_to_field(pilot, "objective-target")
        await type_text(pilot, "4.5")
        await go_to_field(pilot, "objective-due")
        await type_text(pilot, "2027-03-31")
        await press(pilot, "enter", "escape", "d", "d")
        seen = await decide(pilot, "y")
        assert "Objectives (step 6)" in seen
        assert "Raise CSAT\n  target 4.5 by 2027-03-31" in seen

        await press(pilot, "2")
        assert cursor_step(app) == 9
        await press(pilot, "d", "d", "d", "d")
        assert cursor_step(app) == 13
        await press(pilot, "enter")
        await go_to_field(pilot, "kpi-value")
        await type_text(pilot, "1300000.00")
        await press(pilot, "enter")
        assert [entry.text for entry in kpis.kpi_entries(account)] == ["1,300,000"]
        await press(pilot, "escape", "d", "d")
        seen = await decide(pilot, "y")
        assert "KPI values (step 13), with the one before" in seen
        assert "Revenue: 1,300,000 on 20" in seen

        await press(pilot, "2")
        assert cursor_step(app) == 16
        await press(pilot, "d", "d")
        await press(pilot, "enter", "space", "escape", "d")  # step 18: monthly reviews
        seen = await decide(pilot, "y")
        assert "Step 18: Periodically review account management plan" in seen
        assert "Review frequency: Monthly" in seen

        await press(pilot, "2")
        assert cursor_step(app) == 20
        await press(pilot, "d")
        assert "All steps are finished." in screen_text(app)
    assert set(statuses(account)) == {"done", "approved"}
    assert [(d.step, d.decision) for d in ApprovalDecision.select().order_by(ApprovalDecision.decided_at)] == [
        (5, "rejected"), (5, "approved"), (8, "approved"), (15, "approved"), (19, "approved")]


async def test_the_queue_detail_shows_kpi_trends_and_wraps_under_its_indent(db, db_path):
    account = services.create_account("Northwind", owner="ana")
    run = run_of(account)
    services.set_field(run, 13, "notes", "A long note about the quarter. " * 6, actor="ana")
    finish_steps(run, 9)
    kpis.add_kpi(account, "revenue", "1000000.00", "2026-07-01", step=10, actor="ana")
    kpis.add_kpi(account, "revenue", "1300000.00", "2026-10-01", step=13, actor="ana")
    finish_steps(run, 14)
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "3")
        assert "Revenue: 1,300,000 on 2026-10-01 ↑ from 1,000,000 (2026-07-01)" in detail(app)
        await press(pilot, "enter", "end")
        lines = screen_text(app).splitlines()
        notes = [line for line in lines if "A long note" in line or "quarter." in line]
        assert len(notes) >= 2
        assert all(line.startswith("       ") for line in notes)  # wrapped under the note, not at the edge


async def test_enter_right_after_d_shows_the_focused_field(db, db_path):
    account = services.create_account("Northwind", owner="ana")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_account(account)
        await settle(pilot)
        await pilot.press("d", "enter")  # no pause: enter lands while step 2's page is being put up
        await settle(pilot)
        focused = app.focused
        assert focused is not None and focused.id == "field-records"
        pane = app.screen.query_one("#step-detail").region
        assert pane.contains_region(focused.region)
        await press(pilot, "space")  # ticks what the user sees
        assert queries.run_view(account).step(2).field("records").value


async def test_a_refusal_goes_once_it_is_no_longer_true(db, db_path):
    account = services.create_account("Northwind", owner="ana")
    finish_steps(run_of(account), 3)
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_account(account)
        await press(pilot)
        assert cursor_step(app) == 4
        await press(pilot, "d")
        assert shown(app, "#checklist-message") == "Step 4 needs Customer satisfaction before it can be done."
        await press(pilot, "enter", "space")
        assert shown(app, "#checklist-message") == ""


async def test_a_frozen_step_says_why_at_enter_and_a_reopened_step_says_who(db, db_path):
    account = services.create_account("Northwind", owner="ana")
    run = run_of(account)
    finish_steps(run, 5, approver="carol")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_account(account)
        await press(pilot, "home", "enter")
        refusal = shown(app, "#checklist-message")
        assert refusal.startswith("Step 1 is covered by the granted “Approval: Account Status”")
        assert isinstance(app.focused, StepList)
        await press(pilot, "down", "space")
        assert shown(app, "#checklist-message").startswith("Step 2 is covered by the granted")
        await press(pilot, "down", "down", "down", "o", "up", "o")  # take the approval back, reopen 4
        heading = shown(app, "#step-heading")
        assert "[ ] open, reopened by tester on 20" in heading
        assert "by carol" not in heading


async def test_the_last_decision_message_goes_when_the_next_is_chosen(db, db_path):
    for name in ("Alpha", "Beta", "Gamma"):
        finish_steps(run_of(services.create_account(name, owner="ana")), 4)
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "3", "y")
        assert shown(app, "#queue-message").startswith("Approved “Approval: Account Status” for Alpha.")
        await press(pilot, "down")
        assert shown(app, "#queue-message") == ""


async def test_keys_are_listed_once_in_plain_words(db, db_path):
    account = services.create_account("Northwind", owner="ana")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "slash")
        footer = screen_text(app).splitlines()[-1]
        assert "⏎ To the list, enter opens" in footer and "^n Add account" in footer
        await press(pilot, "ctrl+n")
        assert "Add account" in screen_text(app)
        await press(pilot, "escape")

        app.open_account(account)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, KeysScreen)
        keys = screen_text(app)
        for key in ("pagedown", "pagedown", "end"):  # the list scrolls, a page at a time
            await pilot.press(key)
            keys += screen_text(app)
        for words in ("↓ / j", "↑ / k", "⏎ / space", "Go into the step's fields", "Next field", "Mark the selected"):
            assert words in keys, words
        for useless in ("Scroll Left", "Scroll Right", "Page Left", "Page Right", "super+"):
            assert useless not in keys, useless
        assert keys.count("Mark the selected step done") == 1  # shown on both pages at most once each
        await press(pilot, "escape", "3", "question_mark")
        title = screen_text(app)
        assert "Keys: Approvals" in title and "None" not in title
