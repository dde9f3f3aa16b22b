"""The step checklist at 80x24, by keys: marks, refusals, reopening, saving as you type, conflicts."""

from __future__ import annotations

import threading
import uuid
from datetime import date

import pytest
from textual.color import Color
from textual.widgets import Input, TextArea

from acct_tui.app import AcctApp
from acct_tui.messages import DataChanged
from acct_tui.screens import checklist
from acct_tui.store import queries, services
from acct_tui.store.held import HeldStore, held_path
from acct_tui.store.models import AuditEvent
from acct_tui.widgets.step_form import StepForm
from acct_tui.widgets.step_list import StepList
from tests.portfolio_builder import finish_steps
from tests.ui_support import screen_text, settle, shows, type_text


@pytest.fixture
def account(db) -> uuid.UUID:
    return services.create_account("Northwind", owner="ana")


def run_id(account_id: uuid.UUID) -> uuid.UUID:
    return queries.run_view(account_id).run_id


def stored(account_id: uuid.UUID, step: int, key: str) -> object:
    return queries.run_view(account_id).step(step).field(key).value


def message(app: AcctApp) -> str:
    return str(app.screen.query_one("#checklist-message").render())


async def open_checklist(pilot, account_id: uuid.UUID, step: int = 1) -> None:
    await settle(pilot)
    pilot.app.open_account(account_id)
    await settle(pilot)
    await pilot.press("home", *["down"] * (step - 1))
    await settle(pilot)

async def type_mine_after_bob_saved_theirs(pilot, account_id: uuid.UUID) -> None:
    """Another session saves step 1's notes after this screen loaded them; then the user types into them."""
    services.set_field(run_id(account_id), 1, "notes", "Theirs", actor="bob")
    await pilot.press("enter")
    await type_text(pilot, "Mine")



async def test_without_an_account_it_says_where_to_choose_one(db, db_path):
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert "Choose an account in the list (1)" in screen_text(app)


async def test_marks_and_gates_are_readable_without_colour_and_fit_80x24(db, db_path, account):
    run = run_id(account)
    services.set_field(run, 4, "satisfaction", "Neutral")
    for step in (1, 2, 3, 4):
        services.complete_step(run, step)
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account, step=5)
        lines = screen_text(app).splitlines()
        assert len(lines) == 24
        assert "Northwind  4/20 ████░░░░░░░░░░░░░░░░" in lines[1]
        assert "Waiting for a decision on “Approval: Account Status” (step 5)." in lines[2]
        rows = [line[:31] for line in lines[3:]]
        assert "   1 [x] Identify the accoun… │" in rows
        assert "▶  5 <?> Approval: Account S… │" in rows
        assert "   6 [#] Define account mana… │" in rows
        assert "   8 < > Approval: Account M… │" in rows
        text = "\n".join(lines)
        assert "<?> waiting for a decision since" in text
        assert "Covers steps 1, 2, 3, 4" in text
        assert "d Done" in lines[-1]


async def test_the_steps_of_the_next_account_are_drawn_as_its_own(db, db_path, account):
    """The step list keeps the rows it drew (most look the same from one account to the next): each account
    still shows its own marks and its own highlighted step."""
    run = run_id(account)
    services.set_field(run, 4, "satisfaction", "Neutral")
    for step in (1, 2, 3, 4):
        services.complete_step(run, step)
    other = services.create_account("Contoso")
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        rows_of = {}
        for account_id in (account, other, account):
            await open_checklist(pilot, account_id)
            rows_of.setdefault(account_id, []).append([line[:31] for line in screen_text(app).splitlines()[3:8]])
        assert rows_of[account][0] == rows_of[account][1]
        assert rows_of[account][0][:2] == ["▶  1 [x] Identify the accoun… │", "   2 [x] Gather account reco… │"]
        assert rows_of[other][0][:2] == ["▶  1 [ ] Identify the accoun… │", "   2 [ ] Gather account reco… │"]


async def test_refusals_are_messages_not_errors(db, db_path, account):
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account, step=6)
        await pilot.press("d")
        await settle(pilot)
        assert "Step 6 is locked until “Approval: Account Status” (step 5) is approved" in message(app)
        await pilot.press("up", "d")
        await settle(pilot)
        assert "Step 5 is an approval: it is decided in the approval queue" in message(app)
        await pilot.press("up", "d")
        await settle(pilot)
        assert "Step 4 needs Customer satisfaction before it can be done." in message(app)
        assert "Step 4 needs Customer" in screen_text(app)
    assert {step.status for step in queries.run_view(account).steps if not step.is_approval} == {"open"}


async def test_done_then_reopen_with_one_key_each(db, db_path, account):
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        await pilot.press("d")
        await settle(pilot)
        assert queries.run_view(account).step(1).status == "done"
        assert app.screen.query_one(StepList).highlighted_step == 2  # on to the next step
        await pilot.press("up", "o")
        await settle(pilot)
        assert queries.run_view(account).step(1).status == "open"
        assert message(app) == "Step 1 is open again."
        assert "tester: reopened (1→open)" in str(app.screen.query_one("#step-history").render())
        await pilot.press("o")
        await settle(pilot)
        assert message(app) == "Step 1 is not done, so there is nothing to reopen."


async def test_a_granted_approval_makes_its_steps_read_only_until_reopened(db, db_path, account):
    run = run_id(account)
    services.set_field(run, 4, "satisfaction", "Neutral")
    for step in (1, 2, 3, 4):
        services.complete_step(run, step)
    services.approve(run, 5)
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account, step=1)
        form = app.screen.query_one(StepForm)
        refusal = str(form.query_one("#form-refusal").render())
        assert "covered by the granted “Approval: Account Status” (step 5)" in refusal
        assert form.query_one("#field-notes", TextArea).read_only
        assert form.query_one("#field-due", Input).disabled
        await pilot.press("o")
        await settle(pilot)
        assert "covered by the granted" in message(app)
        assert queries.run_view(account).step(1).status == "done"

        await pilot.press("down", "down", "down", "down", "o")  # step 5: take the approval back
        await settle(pilot)
        assert queries.run_view(account).step(5).status == "pending"
        assert "back in the approval queue" in message(app)
        await pilot.press("home")
        await settle(pilot)
        form = app.screen.query_one(StepForm)
        assert not form.query_one("#field-notes", TextArea).read_only
        assert not form.query_one("#field-due", Input).disabled


async def test_toggles_save_at_once_and_text_saves_when_focus_leaves(db, db_path, account, monkeypatch):
    # Typed text also saves after a pause in typing; on a busy machine the pilot's keys can be that slow.
    monkeypatch.setattr(checklist, "SAVE_DELAY", 60)
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account, step=2)
        await pilot.press("enter", "space", "down", "down", "space")
        await settle(pilot)
        assert stored(account, 2, "records") == ("Financial statements", "Contracts")
        await pilot.press("space")  # untick again
        await settle(pilot)
        assert stored(account, 2, "records") == ("Financial statements",)
        await pilot.press("tab")
        await type_text(pilot, "Ask finance")
        assert stored(account, 2, "notes") == ""  # not on every key...
        await pilot.press("tab")  # ...but when the user moves on
        await settle(pilot)
        assert stored(account, 2, "notes") == "Ask finance"
        await type_text(pilot, "+7")
        await pilot.press("enter")
        await settle(pilot)
        assert stored(account, 2, "due") is not None
        assert app.screen.query_one("#field-due", Input).value == stored(account, 2, "due").isoformat()


async def test_typing_saves_after_a_short_pause(db, db_path, account, monkeypatch):
    monkeypatch.setattr(checklist, "SAVE_DELAY", 0.01)
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        await pilot.press("enter")
        await type_text(pilot, "draft")
        for _ in range(50):
            await settle(pilot)
            if stored(account, 1, "notes") == "draft":
                break
        assert stored(account, 1, "notes") == "draft"
        assert app.screen.query_one("#field-notes", TextArea).has_focus


async def test_a_bad_date_is_explained_and_kept_for_fixing(db, db_path, account):
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        await pilot.press("enter", "tab")
        await type_text(pilot, "31/12")
        await pilot.press("enter")
        await settle(pilot)
        assert "Due date “31/12” is not a date" in message(app)
        assert app.screen.query_one("#field-due", Input).value == "31/12"
        assert stored(account, 1, "due") is None
        await pilot.press("ctrl+u")
        await type_text(pilot, "2030-01-15")
        await pilot.press("enter")
        await settle(pilot)
        assert stored(account, 1, "due") == date(2030, 1, 15)


async def test_a_change_from_another_session_is_never_overwritten_silently(db, db_path, account):
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        await type_mine_after_bob_saved_theirs(pilot, account)
        await pilot.press("tab")
        await settle(pilot)
        notes = app.screen.query_one("#field-notes", TextArea)
        assert notes.text == "Mine"
        assert stored(account, 1, "notes") == "Theirs"
        assert "It now reads: Theirs." in message(app)
        assert "changed by bob in another session" in message(app)
        assert "It now reads: Theirs" in str(app.screen.query_one("#note-notes").render())

        await pilot.press("tab")  # leaving the field again does not apply the user's text by itself
        await settle(pilot)
        assert stored(account, 1, "notes") == "Theirs"

        await pilot.press("shift+tab", "shift+tab", "end", "exclamation_mark", "tab")  # an edit confirms: it is applied
        await settle(pilot)
        assert stored(account, 1, "notes") == "Mine!"
        assert message(app) == "Saved Notes."
        assert "It now reads" not in str(app.screen.query_one("#note-notes").render())
        assert len(app.held) == 0  # the text typed over the held one was saved: nothing is left held


async def test_ctrl_s_applies_the_users_text_over_a_conflict(db, db_path, account):
    run = run_id(account)
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        services.set_field(run, 1, "assignee", "bob", actor="bob")
        await pilot.press("enter", "tab", "tab")
        await type_text(pilot, "ana")
        await pilot.press("enter")
        await settle(pilot)
        assert stored(account, 1, "assignee") == "bob"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert stored(account, 1, "assignee") == "ana"
        assert message(app) == "Everything is saved."


async def test_another_sessions_change_shows_up_without_touching_unsaved_text(db, db_path, account):
    run = run_id(account)
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        await pilot.press("enter")
        await type_text(pilot, "typing")
        # Another process writes (its own connection), then the app's watcher signals the change.
        writer = threading.Thread(target=lambda: services.set_field(run, 1, "assignee", "bob", actor="bob"))
        writer.start()
        writer.join()
        app.screen.post_message(DataChanged())
        await settle(pilot)
        assert app.screen.query_one("#field-assignee", Input).value == "bob"
        assert app.screen.query_one("#field-notes", TextArea).text == "typing"
        await pilot.press("ctrl+q")
    assert stored(account, 1, "notes") == "typing"
    assert AuditEvent.select().where(AuditEvent.action == "field.set", AuditEvent.actor == "tester").count() == 1


async def test_every_checklist_action_is_in_the_command_palette(db, db_path, account):
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        await pilot.press("ctrl+p")
        await type_text(pilot, "Done")
        await pilot.press("enter")
        await settle(pilot)
        assert queries.run_view(account).step(1).status == "done"


async def test_text_held_back_by_a_conflict_survives_a_change_of_step(db, db_path, account):
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        await type_mine_after_bob_saved_theirs(pilot, account)
        await pilot.press("escape", "down")  # leave the form, then the step
        await settle(pilot)
        assert "Step 1 not saved" in message(app) and "Your text is held" in message(app)
        assert stored(account, 1, "notes") == "Theirs"
        await pilot.press("up")
        await settle(pilot)
        notes = app.screen.query_one("#field-notes", TextArea)
        assert notes.text == "Mine"
        assert "It now reads: Theirs" in str(app.screen.query_one("#note-notes").render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert stored(account, 1, "notes") == "Mine"


async def test_text_held_back_by_a_conflict_is_asked_about_at_quit_and_offered_at_the_next_start(db, db_path, account):
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        await type_mine_after_bob_saved_theirs(pilot, account)
        await pilot.press("tab")
        await settle(pilot)
        assert "It now reads: Theirs." in message(app)
        await pilot.press("ctrl+q")
        await settle(pilot)
        await shows(pilot, "1 edit is held and not saved")
        await pilot.press("n")  # stay
        await settle(pilot)
        assert app.is_running
        await pilot.press("ctrl+q", "y")
    assert stored(account, 1, "notes") == "Theirs"  # never applied over the other session's value
    (held,) = HeldStore(held_path(db_path)).edits()
    assert (held.step, held.key, held.value) == (1, "notes", "Mine")
    assert "changed by bob in another session" in held.reason

    again = AcctApp(db_path)
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await shows(pilot, "1 unsaved edit held: review with H.")
        await open_checklist(pilot, account)
        assert again.screen.query_one("#field-notes", TextArea).text == "Mine"
        assert "It now reads: Theirs" in str(again.screen.query_one("#note-notes").render())


async def test_moving_between_steps_and_accounts_refills_the_same_editors_as_a_new_form_would(db, db_path, account):
    run = run_id(account)
    services.set_field(run, 1, "notes", "First step's notes")
    services.set_field(run, 2, "notes", "Second step's notes")
    services.set_field(run, 2, "due", "2027-01-15")
    other = services.create_account("Contoso", owner="bob")
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account, step=1)
        form = app.screen.query_one(StepForm)
        notes = form.query_one("#field-notes", TextArea)
        assert notes.text == "First step's notes" and form.query_one("#field-due", Input).value == ""
        events_before = AuditEvent.select().count()
        await pilot.press("down")
        await settle(pilot)
        assert app.screen.query_one(StepForm) is form and form.query_one("#field-notes") is notes  # kept
        assert [label.id for label in form.query(".field-label")] == [
            "label-records", "label-notes", "label-due", "label-assignee"]  # step 2's own field comes first
        assert notes.text == "Second step's notes" and form.query_one("#field-due", Input).value == "2027-01-15"
        assert form.query_one("#field-records").value == ()
        await pilot.press("enter", "tab", "ctrl+z")  # into the notes: undo has nothing of step 1 to bring back
        await settle(pilot)
        assert notes.text == "Second step's notes"
        await pilot.press("escape", "down", "down", "down")  # step 5, an approval: no form
        await settle(pilot)
        assert not form.display and app.screen.query("#field-notes").first() is notes
        assert "Step 5: Approval: Account Status" in screen_text(app)
        app.open_account(other)
        await settle(pilot)
        await pilot.press("home")
        await settle(pilot)
        assert form.display and notes.text == "" and "Contoso" in screen_text(app)
        assert AuditEvent.select().count() == events_before  # refilling saved nothing
        assert not form.has_drafts


async def test_a_theme_changed_while_the_checklist_was_away_restyles_it_on_return(db, db_path, account):
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        steps = app.screen.query_one(StepList)
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("2")  # back with nothing changed: the styles stay as they were
        await settle(pilot)
        before = steps.styles.background
        await pilot.press("1")
        await settle(pilot)
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert steps.styles.background != before
        assert steps.styles.background == Color.parse(app.current_theme.surface)


async def test_an_account_opened_from_the_list_is_drawn_whole_in_the_first_frame(db, db_path, account, monkeypatch):
    """Textual draws nothing for a moment after a mode switch, so that the screen is not seen half updated; the
    checklist ends that wait as soon as the account is loaded, the lists of its step's editors included. The
    wait is made long here: a frame at all proves the checklist ended it, and the first frame the terminal
    gets is the finished screen."""
    finish_steps(run_id(account), 4)  # it opens on step 6, whose objectives editor reads a list of its own
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        wait = AcctApp.delay_update
        monkeypatch.setattr(AcctApp, "delay_update", lambda app, delay=0.05: wait(app, 60))
        drawn = []
        display = app._display

        def note_frame(screen, update) -> None:  # what the terminal is sent (nothing while updates are held)
            if not app._batch_count and app.current_mode == "checklist":
                drawn.append(screen_text(app))
            display(screen, update)

        monkeypatch.setattr(app, "_display", note_frame)
        await pilot.press("enter")
        await settle(pilot)
        assert drawn, "nothing was drawn: the wait after the switch did not end"
        assert "Northwind" in drawn[0] and "Step 6: Define account management objectives" in drawn[0]
        assert "d Done" in drawn[0]
        assert drawn[0] == screen_text(app)


async def test_the_editors_shown_for_some_steps_bring_no_new_css_when_first_shown(db, db_path, account):
    """Their CSS is loaded with the screen: shown first later, each made Textual parse the whole stylesheet again
    and restyle the next screen switched to (a slow open now and then)."""
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        sources = set(app.stylesheet.source)
        for step in (6, 10, 20):  # objectives, KPI values, results: each with a dropdown
            app.screen.query_one(StepList).highlighted = step - 1
            await settle(pilot)
            assert app.screen.query("ObjectivesEditor, KpiEditor") and app.screen.query("Select")
            await pilot.press("enter")  # into the step: the dropdown opens on enter too
            await settle(pilot)
            await pilot.press("escape")
            await settle(pilot)
        assert set(app.stylesheet.source) == sources


async def test_a_long_note_saved_many_times_keeps_the_history_to_a_short_line_each(db, db_path, account):
    note = "Call notes. " * 500  # 6,000 characters, pasted from an email
    for saved in range(1, 11):  # saved as it is typed: every save is in the history
        services.set_field(run_id(account), 1, "notes", note[:len(note) * saved // 10])
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        history = app.screen.query_one("#step-history")
        lines = [line for line in str(history.render()).splitlines() if "set notes:" in line]
        assert len(lines) == 10
        assert all(len(line) < 200 and line.endswith("…") for line in lines)
        assert history.size.height < 60  # not the 800 lines the whole notes wrapped to
    assert stored(account, 1, "notes") == note  # the note itself is kept whole
