"""The issue's end-to-end scenario, driven by keys only at 80x24, checked on the screen and in the database."""

from __future__ import annotations

import uuid
from datetime import datetime

from textual.widgets import Input, TextArea

from acct_tui.app import AcctApp
from acct_tui.store import queries, services
from acct_tui.store.models import ApprovalDecision, AuditEvent, FieldValue
from acct_tui.widgets.step_list import StepList
from tests.ui_support import screen_text, settle, type_text


def statuses(account_id) -> dict[int, str]:
    return {step.number: step.status for step in queries.run_view(account_id).steps}


def step_mark_row(app: AcctApp, number: int) -> str:
    """The step list's row for step `number`, as shown."""
    return next(line for line in screen_text(app).splitlines() if line[2:5] == f"{number:>2} ")


async def test_complete_reject_redo_approve_and_keep_a_note(db, db_path):
    account = services.create_account("Northwind", owner="ana")
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # the account list opens the highlighted (only) account
        await settle(pilot)
        assert app.current_mode == "checklist"
        text = screen_text(app)
        assert "Northwind  0/20" in text
        assert "Next: step 1, Identify the account for management." in text

        await pilot.press("d", "d", "d")
        await settle(pilot)
        assert [statuses(account)[n] for n in (1, 2, 3, 4)] == ["done", "done", "done", "open"]
        await pilot.press("d")  # step 4 has a required field that is still empty
        await settle(pilot)
        assert "Step 4 needs Customer satisfaction before it can be done." in screen_text(app)
        assert statuses(account)[4] == "open"

        await pilot.press("enter", "down", "space")  # into the form: tick "Satisfied"
        await settle(pilot)
        assert "▶ (•) Satisfied" in screen_text(app)
        view = queries.run_view(account)
        assert view.step(4).field("satisfaction").value == "Satisfied"
        await pilot.press("escape", "d")
        await settle(pilot)
        assert statuses(account)[5] == "pending"
        assert "<?>" in step_mark_row(app, 5)

        await pilot.press("3")
        await settle(pilot)
        text = screen_text(app)
        assert "Northwind · step 5 · Approval: Account Status" in text
        await pilot.press("enter", "end")  # into the covered steps, down to step 4
        assert "Customer satisfaction: Satisfied" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        await type_text(pilot, "Redo the status with Q3 numbers")
        await pilot.press("enter")
        await settle(pilot)
        now = statuses(account)
        assert [now[n] for n in range(1, 6)] == ["open", "open", "open", "open", "rejected"]
        decision = ApprovalDecision.get()
        assert (decision.decision, decision.approver, decision.comment) == (
            "rejected", "tester", "Redo the status with Q3 numbers")
        assert AuditEvent.select().where(AuditEvent.action == "approval.reject").count() == 1
        assert "Nothing waits for approval." in screen_text(app)

        await pilot.press("2")
        await settle(pilot)
        text = screen_text(app)
        assert "was rejected: redo steps 1, 2, 3 and 4" in text
        assert "<✘>" in step_mark_row(app, 5)
        assert all("[ ]" in step_mark_row(app, n) for n in (1, 2, 3, 4))

        await pilot.press("home", "d", "d", "d", "d")
        await settle(pilot)
        assert statuses(account)[5] == "pending"
        await pilot.press("3", "y")
        await settle(pilot)
        assert statuses(account)[5] == "approved"
        assert "Approved “Approval: Account Status” for Northwind." in screen_text(app)

        await pilot.press("2")
        await settle(pilot)
        assert "[ ]" in step_mark_row(app, 6)  # unlocked: open, no longer [#]
        # back in the checklist, the cursor is on the next step to do, not on the approval just granted
        assert app.screen.query_one(StepList).highlighted_step == 6
        await pilot.press("enter")
        await type_text(pilot, "Call the CFO")
        # quit at once, well inside the save delay: the note must still be saved
        await pilot.press("ctrl+q")
    assert FieldValue.get(FieldValue.step == 6, FieldValue.key == "notes").value == "Call the CFO"

    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_account(account)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert "Call the CFO" in screen_text(app)


async def test_hostile_text_is_shown_literally_everywhere(db, db_path):
    name = "a[/]b [bold]x[/bold] [@click=app.quit]q"
    account = services.create_account(name, owner="ana")
    run = queries.run_view(account).run_id
    services.set_field(run, 4, "satisfaction", "Neutral")
    services.set_field(run, 1, "notes", "[bold]x[/bold] a[/]b [$accent]v")
    for step in (1, 2, 3, 4):
        services.complete_step(run, step)
    # Terminal control sequences cannot be typed in, but a damaged or imported database may hold them.
    FieldValue.insert(id=uuid.uuid4(), run=run, step=1, step_key="identify-account", key="assignee",
                      value="\x1b[2Jwipe", version=1,
                      updated_at=datetime(2030, 1, 1), updated_by="\x1b]0;X\x07mallory").execute()
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        text = screen_text(app)
        assert "▶ a[/]b [bold]x[/bold] [@click=app.quit]q · step 5 · Approval: Account Status" in text
        assert "    [bold]x[/bold] a[/]b [$accent]v" in text
        assert "Assignee: ␛[2Jwipe" in text
        assert "\x1b" not in text
        await pilot.press("n")
        await type_text(pilot, "No: a[/]b")
        await pilot.press("enter")
        await settle(pilot)

        app.open_account(account)
        await settle(pilot)
        await pilot.press("home")
        await settle(pilot)
        text = screen_text(app)
        assert "Checklist — a[/]b [bold]x[/bold] [@click=app.quit]q" in text
        assert " a[/]b [bold]x[/bold] [@click=app.quit]q  0/20" in text
        assert app.screen.query_one("#field-notes", TextArea).text == "[bold]x[/bold] a[/]b [$accent]v"
        assert app.screen.query_one("#field-assignee", Input).value == "␛[2Jwipe"
        history = str(app.screen.query_one("#step-history").render())
        assert "notes: [bold]x[/bold] a[/]b [$accent]v" in history
        await pilot.press(*["down"] * 4)
        await settle(pilot)
        assert "tester: rejected: No: a[/]b" in str(app.screen.query_one("#step-history").render())
        assert app.current_mode == "checklist"
