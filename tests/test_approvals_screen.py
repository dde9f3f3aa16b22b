"""The approval queue at 80x24, by keys: order, what the approver sees, approve, reject with a comment."""

from __future__ import annotations

import time
import uuid

from acct_tui.app import AcctApp
from acct_tui.messages import DataChanged
from acct_tui.screens import approvals
from acct_tui.store import queries, services
from acct_tui.store.models import ApprovalDecision, AuditEvent
from acct_tui.widgets.approval_queue import QueueList
from tests.bursts import burst
from tests.ui_support import screen_text, settle, type_text


def submit_status_approval(name: str, actor: str, notes: str = "") -> uuid.UUID:
    """An account whose first approval (step 5) waits for a decision, submitted by `actor`."""
    account = services.create_account(name, owner=actor, actor=actor)
    run = queries.run_view(account).run_id
    services.set_field(run, 4, "satisfaction", "Satisfied", actor=actor)
    if notes:
        services.set_field(run, 1, "notes", notes, actor=actor)
    for step in (1, 2, 3, 4):
        services.complete_step(run, step, actor=actor)
    return account


def status(account: uuid.UUID, step: int = 5) -> str:
    return queries.run_view(account).step(step).status


def queue_message(app: AcctApp) -> str:
    return str(app.screen.query_one("#queue-message").render())


async def open_queue(pilot) -> None:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)


async def test_an_empty_queue_says_so(db, db_path):
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        assert "Nothing waits for approval." in screen_text(app)
        await pilot.press("y", "n", "o")
        await settle(pilot)
        assert app.current_mode == "approvals"
        assert ApprovalDecision.select().count() == 0


async def test_queue_lists_every_account_oldest_first_with_who_and_what(db, db_path):
    submit_status_approval("Beta", "bob")
    submit_status_approval("Alpha", "ana")
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        lines = screen_text(app).splitlines()
        assert "2 approvals wait for a decision, oldest first." in lines[1]
        beta = lines.index("▶ Beta · step 5 · Approval: Account Status".ljust(80))
        alpha = lines.index("  Alpha · step 5 · Approval: Account Status".ljust(80))
        assert beta < alpha
        assert "by bob · covers 1, 2, 3, 4" in lines[beta + 1]
        assert "  submitted 20" in lines[beta + 1]
        assert "by ana · covers 1, 2, 3, 4" in lines[alpha + 1]
        assert "Decide: Approval: Account Status for Beta" in "\n".join(lines)

        await pilot.press("down")
        await settle(pilot)
        assert "Decide: Approval: Account Status for Alpha" in screen_text(app)


async def test_the_covered_steps_show_their_values_and_notes(db, db_path):
    submit_status_approval("Beta", "bob", notes="Met the CFO.\nBudget is [b]tight[/b].")
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        text = screen_text(app)
        assert "Step 1: Identify the account for management" in text
        assert "[x] done by bob on" in text
        assert "    Met the CFO." in text
        assert "    Budget is [b]tight[/b]." in text
        await pilot.press("enter", "end")
        await settle(pilot)
        text = screen_text(app)
        assert "Step 4: Analyze current account status" in text
        assert "Customer satisfaction: Satisfied" in text


async def test_y_approves_records_who_and_unlocks_the_next_steps(db, db_path):
    beta = submit_status_approval("Beta", "bob")
    alpha = submit_status_approval("Alpha", "ana")
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert status(beta) == "approved"
        assert status(alpha) == "pending"
        assert queries.run_view(beta).step(6).mark == "open"
        decision = ApprovalDecision.get()
        assert (decision.decision, decision.approver, decision.step) == ("approved", "tester", 5)
        event = AuditEvent.get(AuditEvent.action == "approval.approve")
        assert (event.actor, event.account_id) == ("tester", beta)
        assert "Approved “Approval: Account Status” for Beta." in queue_message(app)
        text = screen_text(app)
        assert "1 approval waits for a decision" in text
        assert "▶ Alpha · step 5 · Approval: Account Status" in text


async def test_n_asks_for_a_comment_refuses_an_empty_one_and_escape_cancels(db, db_path):
    beta = submit_status_approval("Beta", "bob")
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert "Reject “Approval: Account Status” for Beta?" in screen_text(app)
        await pilot.press("space", "enter")
        await settle(pilot)
        assert "A rejection needs a comment that says what to change." in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert queue_message(app) == "Nothing was rejected."
        assert status(beta) == "pending"
        assert ApprovalDecision.select().count() == 0


async def test_n_with_a_comment_rejects_and_the_checklist_shows_why(db, db_path):
    beta = submit_status_approval("Beta", "bob")
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("n")
        await type_text(pilot, "Redo [bold]x[/bold] a[/]b")
        await pilot.press("enter")
        await settle(pilot)
        assert [status(beta, n) for n in range(1, 6)] == ["open", "open", "open", "open", "rejected"]
        decision = ApprovalDecision.get()
        assert (decision.approver, decision.comment) == ("tester", "Redo [bold]x[/bold] a[/]b")
        assert "Rejected “Approval: Account Status” for Beta." in queue_message(app)
        assert "Nothing waits for approval." in screen_text(app)

        app.open_account(beta)
        await settle(pilot)
        await pilot.press("home", *["down"] * 4)
        await settle(pilot)
        history = str(app.screen.query_one("#step-history").render())
        assert "tester: rejected: Redo [bold]x[/bold] a[/]b" in history


async def test_o_opens_the_accounts_checklist(db, db_path):
    submit_status_approval("Beta", "bob")
    alpha = submit_status_approval("Alpha", "ana")
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("down", "o")
        await settle(pilot)
        assert app.current_mode == "checklist"
        assert app.current_account_id == alpha
        assert "Alpha  4/20" in screen_text(app)


async def test_a_decision_made_elsewhere_first_is_reported_and_the_queue_refreshed(db, db_path):
    beta = submit_status_approval("Beta", "bob")
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        services.approve(queries.run_view(beta).run_id, 5, actor="carol")
        await pilot.press("y")
        await settle(pilot)
        assert "is already approved" in queue_message(app)
        assert "Nothing waits for approval." in screen_text(app)
        assert [d.approver for d in ApprovalDecision.select()] == ["carol"]


async def test_approve_is_in_the_command_palette(db, db_path):
    beta = submit_status_approval("Beta", "bob")
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("ctrl+p")
        await type_text(pilot, "Approve")
        await pilot.press("enter")
        await settle(pilot)
        assert status(beta) == "approved"


async def test_a_long_queue_is_read_a_page_at_a_time_and_keys_typed_after_a_move_wait_for_its_page(db, db_path,
                                                                                                   monkeypatch):
    monkeypatch.setattr(approvals, "PAGE_SIZE", 4)
    accounts = [submit_status_approval(f"Account {number:02}", "bob") for number in range(12)]
    read_page = queries.approval_queue

    def slow_database(offset: int = 0, limit: int | None = None):
        time.sleep(0.3 if offset else 0)  # a large portfolio on a busy machine: later pages take a while
        return read_page(offset, limit)

    monkeypatch.setattr(queries, "approval_queue", slow_database)
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        queue = app.screen.query_one(QueueList)
        assert "12 approvals wait for a decision, oldest first." in screen_text(app)
        assert queue.item(0) is not None and queue.item(11) is None  # not read until shown
        burst(app, "end", "y")  # y approves the last approval, once its page is there
        await settle(pilot)
        assert status(accounts[11]) == "approved" and status(accounts[10]) == "pending"
        assert "Approved “Approval: Account Status” for Account 11." in queue_message(app)
        assert "▶ Account 10 · step 5" in screen_text(app)
        burst(app, "home", "pagedown", "o")  # a page is four approvals at 80x24
        await settle(pilot)
        assert app.current_account_id == accounts[4]


async def test_the_highlighted_approval_keeps_its_place_when_another_session_decides_one_before_it(db, db_path,
                                                                                                   monkeypatch):
    monkeypatch.setattr(approvals, "PAGE_SIZE", 4)
    accounts = [submit_status_approval(f"Account {number:02}", "bob") for number in range(8)]
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press(*["j"] * 6)
        await settle(pilot)
        assert "Decide: Approval: Account Status for Account 06" in screen_text(app)
        services.approve(queries.run_view(accounts[2]).run_id, 5, actor="carol")
        app.screen.post_message(DataChanged())
        await settle(pilot)
        assert "7 approvals wait" in screen_text(app)
        assert "▶ Account 06 · step 5" in screen_text(app)
        assert "Decide: Approval: Account Status for Account 06" in screen_text(app)
        assert app.screen.query_one(QueueList).cursor == 5
