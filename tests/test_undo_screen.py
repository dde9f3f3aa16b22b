"""Undo and redo as the user does them at 80x24: `u` shows a one-line preview, `u` again undoes; `ctrl+r`
likewise redoes; a decision asks first; a change another connection made since is refused with the reason;
the undo history in the palette undoes down to a chosen change."""

from __future__ import annotations

from datetime import date

import pytest
from textual.widgets import TextArea

from acct_tui.app import AcctApp
from acct_tui.screens import checklist
from acct_tui.screens.undo import UndoHistoryScreen, UndoPreview
from acct_tui.store import kpis, services
from acct_tui.store.models import AuditEvent
from acct_tui.store.queries import account_detail, run_view
from tests.portfolio_builder import finish_steps
from tests.test_undo import in_other_connection, run_of
from tests.test_checklist_screen import open_checklist
from tests.ui_support import screen_text, settle, type_text

SIZE = (80, 24)


def notifications(app: AcctApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def preview(pilot, key: str) -> str:
    await pilot.press(key)
    await settle(pilot)
    assert isinstance(pilot.app.screen, UndoPreview)
    return " ".join(screen_text(pilot.app).split())  # a long preview wraps at 80 columns


def make_change(kind: str):
    """Make one change of `kind` as the app's user; returns (account id, read-back of what changed)."""
    account = services.create_account("Contoso", owner="ana")
    run = run_of(account)
    if kind == "create":
        return account, lambda: account_detail(account).archived, False, True
    if kind == "field":
        services.set_field(run, 1, "notes", "call back")
        return account, lambda: run_view(account).step(1).field("notes").value, "call back", ""
    if kind == "tick":
        services.set_field(run, 10, "monitoring", ["Review account performance"])
        return (account, lambda: run_view(account).step(10).field("monitoring").value,
                ("Review account performance",), ())
    if kind == "choice":
        services.set_field(run, 4, "satisfaction", "Neutral")
        return account, lambda: run_view(account).step(4).field("satisfaction").value, "Neutral", None
    if kind == "step":
        services.complete_step(run, 1)
        return account, lambda: run_view(account).step(1).status, "done", "open"
    if kind == "reopen":
        services.complete_step(run, 1)
        services.reopen_step(run, 1)
        return account, lambda: run_view(account).step(1).status, "open", "done"
    if kind == "edit":
        services.edit_account(account, owner="bob")
        return account, lambda: account_detail(account).owner, "bob", "ana"
    if kind == "kpi":
        kpis.add_kpi(account, "csat", "4.5", date(2026, 3, 1), step=10)
        return account, lambda: [str(entry.value) for entry in kpis.kpi_entries(account)], ["4.50"], []
    if kind == "objective":
        kpis.add_objective(run, "Grow", "Signed by Q3")
        return account, lambda: [objective.title for objective in kpis.objectives(run)], ["Grow"], []
    services.archive_account(account)
    return account, lambda: account_detail(account).archived, True, False


@pytest.mark.parametrize(("kind", "line"), [
    ("field", "Undo: Notes in step 1 on Contoso: “call back” → “—”"),
    ("tick", "Undo: Monitoring activities in step 10 on Contoso: “Review account performance” → “—”"),
    ("choice", "Undo: Customer satisfaction in step 4 on Contoso: “Neutral” → “—”"),
    ("step", "Undo: step 1 done on Contoso → open"),
    ("reopen", "Undo: step 1 open on Contoso → done"),
    ("edit", "Undo: Contoso: owner “bob” → “ana”"),
    ("archive", "Undo: Contoso archived → in the list"),
    ("create", "Undo: Contoso added → archived"),
    ("kpi", "Undo: CSAT 4.5/5 of 2026-03-01 on Contoso: entered → removed"),
    ("objective", "Undo: objective “Grow” on Contoso: set → removed"),
])
async def test_u_previews_then_undoes_and_ctrl_r_redoes(db, db_path, kind, line):
    _, read, changed, original = make_change(kind)
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert line in await preview(pilot, "u")
        assert read() == changed  # nothing changes before the second key
        await pilot.press("u")
        await settle(pilot)
        assert read() == original
        assert notifications(app)[-1] == "Undone: " + line.removeprefix("Undo: ")
        assert "Redo: " in await preview(pilot, "ctrl+r")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert read() == changed


async def test_the_screen_in_front_shows_the_undone_change(db, db_path):
    make_change("archive")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Contoso" not in screen_text(app)  # archived: hidden
        await preview(pilot, "u")
        await pilot.press("u")
        await settle(pilot)
        assert "Contoso" in screen_text(app)


async def wait_until_saved(pilot, account, text: str) -> None:
    for _ in range(50):
        await settle(pilot)
        if run_view(account).step(1).field("notes").value == text:
            return
    raise AssertionError(f"never saved: {text!r}")


async def test_a_burst_of_typing_saved_as_it_goes_is_undone_in_one_go(db, db_path, monkeypatch):
    monkeypatch.setattr(checklist, "SAVE_DELAY", 0.01)  # saved after each short pause in the typing
    account = services.create_account("Contoso")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_checklist(pilot, account)
        await pilot.press("enter")
        await type_text(pilot, "call")
        await wait_until_saved(pilot, account, "call")
        await type_text(pilot, "back")
        await wait_until_saved(pilot, account, "callback")
        await pilot.press("escape")  # back to the steps, where u is not typed
        await settle(pilot)
        assert AuditEvent.select().where(AuditEvent.action == "field.set").count() >= 2  # saved as it went
        assert "Undo: Notes in step 1 on Contoso: “callback” → “—”" in await preview(pilot, "u")
        await pilot.press("u")
        await settle(pilot)
        assert run_view(account).step(1).field("notes").value == ""
        assert app.screen.query_one("#field-notes", TextArea).text == ""  # the form shows it too


async def test_escape_keeps_the_change(db, db_path):
    _, read, changed, _ = make_change("edit")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await preview(pilot, "u")
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, UndoPreview)
        assert read() == changed


async def test_undoing_a_decision_lists_what_it_reaches_and_asks_first(db, db_path):
    account = services.create_account("Contoso")
    run = run_of(account)
    finish_steps(run, 4)
    services.approve(run, 5, "fine")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = await preview(pilot, "u")
        assert "Undo: step 5 granted on Contoso → in the queue" in text
        assert "the steps after step 5 cannot be marked done until it is granted again" in text
        await pilot.press("u")  # the quick key does not go ahead here
        await settle(pilot)
        assert run_view(account).step(5).status == "approved"
        await pilot.press("y")
        await settle(pilot)
        assert run_view(account).step(5).status == "pending"


async def test_undo_is_refused_after_another_connection_changed_the_same_field(db, db_path):
    account, read, _, _ = make_change("field")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        in_other_connection(services.set_field, run_of(account), 1, "notes", "theirs", actor="bob")
        text = await preview(pilot, "u")
        assert "Notes reads “theirs” now: bob changed it since." in text
        await pilot.press("u")  # closes: there is nothing it may do
        await settle(pilot)
        assert read() == "theirs"


async def test_undoing_a_rejection_lists_the_steps_it_finishes_again_and_asks_first(db, db_path):
    account = services.create_account("Contoso")
    run = run_of(account)
    finish_steps(run, 4)
    services.reject(run, 5, "Add the 2024 payments")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = await preview(pilot, "u")
        assert "Undo: step 5 rejected on Contoso → in the queue" in text
        assert "step 1: open → done" in text and "step 4: open → done" in text
        await pilot.press("y")
        await settle(pilot)
        assert [run_view(account).step(n).status for n in (1, 5)] == ["done", "pending"]
        assert "Redo: step 5 in the queue on Contoso → rejected" in await preview(pilot, "ctrl+r")
        await pilot.press("y")
        await settle(pilot)
        assert [run_view(account).step(n).status for n in (1, 5)] == ["open", "rejected"]


@pytest.mark.parametrize(("kind", "theirs", "refusal"), [
    ("reject", lambda run, account: services.complete_step(run, 1, actor="bob"),
     "Step 1 is done now, not open: bob changed it since."),
    ("kpi", lambda run, account: kpis.edit_kpi(kpis.kpi_entries(account)[0].id, value="3", actor="bob"),
     "reads differently now: bob changed it since."),
    ("objective", lambda run, account: kpis.edit_objective(kpis.objectives(run)[0].id, title="Shrink", actor="bob"),
     "reads differently now: bob changed it since."),
])
async def test_undo_of_a_decision_kpi_or_objective_is_refused_after_another_session_changed_it(
        db, db_path, kind, theirs, refusal):
    if kind == "reject":
        account = services.create_account("Contoso")
        finish_steps(run_of(account), 4)
        services.reject(run_of(account), 5, "Add the 2024 payments")
        read = lambda: run_view(account).step(5).status  # noqa: E731
    else:
        account, read, _, _ = make_change(kind)
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        in_other_connection(theirs, run_of(account), account)
        before = read()
        text = await preview(pilot, "u")
        assert refusal in text
        await pilot.press("y")  # nothing it may do: the key changes nothing
        await settle(pilot)
        assert read() == before


async def test_nothing_to_undo_says_so(db, db_path):
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Nothing to undo" in await preview(pilot, "u")


async def test_the_undo_history_undoes_down_to_a_chosen_change(db, db_path):
    account = services.create_account("Contoso", owner="ana")
    services.edit_account(account, owner="bob")
    services.edit_account(account, stage="Onboarding")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Undo history" in titles
        app.action_undo_history()
        await settle(pilot)
        assert isinstance(app.screen, UndoHistoryScreen)
        text = screen_text(app)
        assert text.index("stage “Onboarding” → “Prospecting”") < text.index("owner “bob” → “ana”")
        await pilot.press("down", "enter")  # the second newest: the owner
        await pilot.pause()
        assert "Undo 2 changes, newest first, down to this one?" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        detail = account_detail(account)
        assert (detail.owner, detail.stage) == ("ana", "Prospecting")
        assert notifications(app)[-1] == "Undid 2 changes."
