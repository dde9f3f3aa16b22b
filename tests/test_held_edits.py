"""Nothing a user types is lost: every save that is refused or fails leaves the text held (in `<db>-held.json`)
with the reason, offered back in its step and in the Held edits screen (H), until the user applies or
discards it. And the screen never waits for the database: every change goes through one writer thread."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_crash import Terminal
from textual import events
from textual.widgets import TextArea

from acct_tui.app import AcctApp
from acct_tui.errors import DomainError, StoreUnavailable
from acct_tui.screens import account_form
from acct_tui.store import kpis, queries, services
from acct_tui.store.db import EXIT_DISK_FULL, EXIT_NOT_WRITABLE, close_database, open_database
from acct_tui.store.held import COMMENT, FIELD, INTERRUPTED, WAITING, HeldStore, held_path, new_held_edit
from acct_tui.store.models import AuditEvent
from acct_tui.store.writer import Writer
from acct_tui.template import packaged_template
from acct_tui.workflow.field_kinds import normalize_field_value
from acct_tui.workflow.fields import MAX_COMMENT, MAX_NOTES
from tests.test_approvals_screen import open_queue, queue_message, submit_status_approval
from tests.test_checklist_screen import message, open_checklist, run_id, stored
from tests.ui_support import screen_text, settle, shows, type_text, wait_for

# The change watcher stays out of the way: each test says itself when another session's change shows.
QUIET = 3600


@pytest.fixture
def account(db) -> uuid.UUID:
    return services.create_account("Northwind", owner="ana")


def held_on_disk(db_path) -> list:
    return HeldStore(held_path(db_path)).edits()


def write_lock(db_path) -> sqlite3.Connection:
    """Another program holding the database's write lock (until `rollback()`)."""
    connection = sqlite3.connect(db_path, isolation_level=None, timeout=10)
    connection.execute("BEGIN IMMEDIATE")
    return connection


async def test_notes_typed_while_another_session_grants_the_gate_are_held_and_offered_back(db, db_path, account):
    run = run_id(account)
    services.set_field(run, 4, "satisfaction", "Neutral")
    for step in (1, 2, 3, 4):
        services.complete_step(run, step)
    app = AcctApp(db_path, watch_interval=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account, step=3)
        app.screen.query_one("#field-notes", TextArea).focus()
        services.approve(run, 5, actor="bob")  # meanwhile, in another session
        await type_text(pilot, "late idea")
        await pilot.press("tab")
        await settle(pilot)
        assert "covered by the granted" in message(app) and "Your text is held" in message(app)
        assert app.screen.query_one("#field-notes", TextArea).text == "late idea"
        await pilot.press("escape", "down", "up")  # leave the step and come back
        await settle(pilot)
        assert app.screen.query_one("#field-notes", TextArea).text == "late idea"
        assert "Not saved" in str(app.screen.query_one("#note-notes").render())
        await shows(pilot, "1 unsaved edit held: review with H.")
        await pilot.press("H")  # from the step list: that step's held text first
        await settle(pilot)
        assert app.screen.query_one("#held-text", TextArea).text == "late idea"
        await shows(pilot, "Not saved: Step 3 is covered by the granted")
    assert stored(account, 3, "notes") == ""
    (held,) = held_on_disk(db_path)
    assert (held.kind, held.step, held.key, held.value) == (FIELD, 3, "notes", "late idea")
    assert "covered by the granted" in held.reason


async def test_a_paste_over_the_limit_stays_in_full_in_the_editor_and_is_held(db, db_path, account):
    pasted = "x" * (MAX_NOTES + 1)
    app = AcctApp(db_path, watch_interval=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.focused is app.screen.query_one("#field-notes"))
        app.post_message(events.Paste(pasted))  # as the terminal driver delivers a bracketed paste
        await pilot.pause()
        await pilot.press("tab")
        await settle(pilot)
        assert "20,000" in message(app)
        await pilot.press("escape", "down", "up")
        await settle(pilot)
        assert app.screen.query_one("#field-notes", TextArea).text == pasted
    assert stored(account, 1, "notes") == ""
    (held,) = held_on_disk(db_path)
    assert held.value == pasted


async def test_while_another_program_holds_the_write_lock_keys_still_work_and_the_save_lands_after(
        db, db_path, account):
    app = AcctApp(db_path, watch_interval=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        lock = write_lock(db_path)
        try:
            await pilot.press("enter")
            await type_text(pilot, "typed while locked")
            await pilot.press("escape", "d")  # leave the form (saves), then mark the step done
            await shows(pilot, "Waiting for the database: another program is writing")
            assert app.writer.waiting
            (held,) = app.held.edits()  # held at once: nothing depends on this process surviving
            assert (held.value, held.reason) == ("typed while locked", WAITING)
            assert [edit.value for edit in held_on_disk(db_path)] == ["typed while locked"]
            await pilot.press("down", "down")  # the UI answers while the writer waits
            await wait_for(pilot, lambda: "Step 3:" in str(app.screen.query_one("#step-heading").render()))
            assert app.writer.waiting
        finally:
            lock.rollback()
            lock.close()
        await settle(pilot)
        await wait_for(pilot, lambda: "Waiting for the database" not in screen_text(app))
        assert "Step 1 done." in message(app)
    assert stored(account, 1, "notes") == "typed while locked"
    assert queries.run_view(account).step(1).status == "done"
    assert held_on_disk(db_path) == []


async def test_a_full_disk_holds_the_text_and_the_held_edits_screen_applies_it_later(
        db, db_path, account, monkeypatch):
    def disk_full(*args, **kwargs):
        raise StoreUnavailable(f"The disk holding {db_path} is full or failing (database or disk is full). "
                               "The change was not saved and the file was left as it was; free some space and "
                               "try again.", exit_code=EXIT_DISK_FULL)

    set_field = services.set_field
    monkeypatch.setattr(services, "set_field", disk_full)
    app = AcctApp(db_path, watch_interval=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        await pilot.press("enter")
        await type_text(pilot, "kept through a full disk")
        await pilot.press("tab")
        await settle(pilot)
        assert "is full" in message(app) and "Your text is held" in message(app)
        monkeypatch.setattr(services, "set_field", set_field)  # there is room again

        await pilot.press("escape", "H")
        await settle(pilot)
        await shows(pilot, "Unsaved edits held: 1")
        await shows(pilot, "Northwind · step 1, Notes")
        await shows(pilot, "Not saved: The disk holding")
        await pilot.press("a")
        await settle(pilot)
        await shows(pilot, "Applied and saved: step 1, Notes.")
        await shows(pilot, "No edits are held")
    assert stored(account, 1, "notes") == "kept through a full disk"
    assert held_on_disk(db_path) == []
    assert AuditEvent.get(AuditEvent.action == "held.apply").step == 1


async def test_a_rejection_comment_typed_while_another_session_approved_is_held_then_discarded(db, db_path):
    beta = submit_status_approval("Beta", "bob")
    app = AcctApp(db_path, watch_interval=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("n")
        await settle(pilot)
        services.approve(run_id(beta), 5, actor="carol")  # meanwhile, in another session
        await type_text(pilot, "Redo the plan")
        await pilot.press("enter")
        await settle(pilot)
        assert "Your comment is held" in queue_message(app)
        (held,) = app.held.edits()
        assert (held.kind, held.step, held.value) == (COMMENT, 5, "Redo the plan")

        await pilot.press("H")
        await settle(pilot)
        await shows(pilot, "rejection comment on approval step 5")
        await pilot.press("c")  # copy: also shown selected in a read-only text area
        await settle(pilot)
        assert app.screen.query_one("#held-text", TextArea).selected_text == "Redo the plan"
        app.screen.query_one("#held-list").focus()
        await pilot.press("x")
        await settle(pilot)
        await shows(pilot, "Discard the held text")
        await pilot.press("y")
        await settle(pilot)
        await shows(pilot, "No edits are held")
    assert held_on_disk(db_path) == []
    discarded = AuditEvent.get(AuditEvent.action == "held.discard")
    assert discarded.step == 5 and "Redo the plan" in discarded.after


async def test_an_account_form_that_could_not_be_saved_is_held_and_applied_later(db, db_path, monkeypatch):
    def read_only(**values):
        raise StoreUnavailable(f"Cannot write the database {db_path} (attempt to write a readonly database).",
                               exit_code=EXIT_NOT_WRITABLE)

    monkeypatch.setattr(account_form, "create_account", read_only)
    app = AcctApp(db_path, watch_interval=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "name")
        await type_text(pilot, "Acme Ltd")
        await pilot.press("tab")
        await type_text(pilot, "alice")
        await pilot.press("ctrl+s")
        await settle(pilot)
        problem = str(app.screen.query_one("#form-error").render())
        assert "Cannot write the database" in problem and "Your entries are held" in problem
        await pilot.press("escape")  # give up on the form: the entries stay held
        await settle(pilot)
        await shows(pilot, "1 unsaved edit held: review with H.")
        await pilot.press("H")
        await settle(pilot)
        await shows(pilot, "Acme Ltd · new account form")
        assert "owner: alice" in app.screen.query_one("#held-text", TextArea).text
        await pilot.press("a")  # the disk is writable again (the service was never patched)
        await settle(pilot)
        await shows(pilot, "No edits are held")
    [row] = queries.account_rows()
    assert (row.name, row.owner) == ("Acme Ltd", "alice")
    assert held_on_disk(db_path) == []


async def test_a_kpi_value_that_could_not_be_saved_is_held(db, db_path, account, monkeypatch):
    def disk_full(*args, **kwargs):
        raise StoreUnavailable("The disk is full.", exit_code=EXIT_DISK_FULL)

    monkeypatch.setattr(kpis, "add_kpi", disk_full)
    app = AcctApp(db_path, watch_interval=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account, step=10)
        app.screen.query_one("#kpi-value").focus()
        await type_text(pilot, "1250000")
        await pilot.press("enter")
        await settle(pilot)
        assert "The disk is full. Your entry stays here and is held" in str(
            app.screen.query_one("#kpi-message").render())
        assert app.screen.query_one("#kpi-value").value == "1250000"
    (held,) = held_on_disk(db_path)
    assert (held.kind, held.step, held.value["value"], held.value["metric"]) == ("kpi", 10, "1250000", "revenue")


async def test_held_edits_are_in_the_command_palette(db, db_path, account):
    app = AcctApp(db_path, watch_interval=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await type_text(pilot, "Held edits")
        await pilot.press("enter")
        await settle(pilot)
        await shows(pilot, "No edits are held")


async def test_quitting_while_the_database_is_busy_asks_and_keeps_the_text_for_next_time(db, db_path, account):
    app = AcctApp(db_path, watch_interval=QUIET)
    lock = None
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await open_checklist(pilot, account)
            lock = write_lock(db_path)
            await pilot.press("enter")
            await type_text(pilot, "not yet written")
            await pilot.press("ctrl+q")
            await shows(pilot, "held and not saved")
            await shows(pilot, "the database is busy")
            await pilot.press("y")
    finally:
        # The process would end here, and the writer thread with it: here it lives on in the test's process,
        # and its last attempt (it gives up within the lock wait) must not meet the lock released.
        if app.writer is not None:
            app.writer._thread.join(5)
        if lock is not None:
            lock.rollback()
            lock.close()
    assert stored(account, 1, "notes") == ""
    (held,) = held_on_disk(db_path)
    assert (held.value, held.reason) == ("not yet written", INTERRUPTED)


def test_text_held_while_waiting_survives_a_kill(db_path):
    open_database(db_path)
    services.create_account("Northwind")
    close_database()
    lock = write_lock(db_path)
    terminal = Terminal(db_path)
    try:
        terminal.read_until(b"Northwind")
        os.write(terminal.fd, b"\r")  # open the checklist
        terminal.read_until(b"Identify")
        os.write(terminal.fd, b"\r")  # into step 1's first field (its notes)
        time.sleep(0.5)  # the form takes focus
        os.write(terminal.fd, "saved by the held file".encode() + b"\t")
        deadline = time.monotonic() + 30
        while "saved by the held file" not in (held_path(db_path).read_text() if held_path(db_path).exists() else ""):
            assert time.monotonic() < deadline, "the text was never held"
            terminal.read_until(b"", timeout=1)
            time.sleep(0.05)
        os.kill(terminal.pid, signal.SIGKILL)
        terminal.wait_for_exit()
    finally:
        terminal.close()
        lock.rollback()
        lock.close()
    (held,) = held_on_disk(db_path)
    assert (held.kind, held.step, held.key, held.value) == (FIELD, 1, "notes", "saved by the held file")
    assert held.reason == INTERRUPTED
    assert oct(held_path(db_path).stat().st_mode & 0o777) == "0o600"


def test_a_held_file_that_cannot_be_written_stays_in_memory_and_is_written_later(tmp_path, monkeypatch):
    store = HeldStore(tmp_path / "acct.db-held.json")
    write = HeldStore._write

    def disk_full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(HeldStore, "_write", disk_full)
    store.hold(new_held_edit(FIELD, account_id=None, account_name="A", value="x", reason="r", step=1, key="notes"))
    assert not store.durable and "in memory only" in store.problem
    assert [edit.value for edit in store.edits()] == ["x"]
    assert not store.path.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind either

    monkeypatch.setattr(HeldStore, "_write", write)  # room again: the app's timer calls flush()
    assert store.flush() and store.durable
    assert [edit.value for edit in HeldStore(tmp_path / "acct.db-held.json").edits()] == ["x"]


def test_the_held_file_is_replaced_atomically_and_private(tmp_path):
    store = HeldStore(tmp_path / "acct.db-held.json")
    first = store.hold(new_held_edit(FIELD, account_id=None, account_name="A", value="one", reason="r", step=1,
                                     key="notes"))
    again = store.hold(new_held_edit(FIELD, account_id=None, account_name="A", value="one more", reason="r",
                                     step=1, key="notes"))
    assert again.id == first.id  # typed on from the held text: it replaces it
    assert [path.name for path in tmp_path.iterdir()] == ["acct.db-held.json"]
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    assert [edit.value for edit in HeldStore(store.path).edits()] == ["one more"]


# Random sessions: edits, refusals, another program's lock and restarts, and no typed text is ever lost ---------

PLACES = {"notes": st.one_of(st.text(max_size=12), st.just("n" * (MAX_NOTES + 1))),  # over the limit: refused
          "due": st.one_of(st.just(""), st.just("2030-01-31"), st.just("+2w"), st.just("31/31/31")),  # a bad date
          "assignee": st.text(max_size=12)}
OPERATIONS = st.lists(st.one_of(
    st.sampled_from(sorted(PLACES)).flatmap(lambda key: PLACES[key].map(lambda value: ("type", key, value))),
    st.just(("lock",)), st.just(("unlock",)), st.just(("restart",)),
), max_size=14)


class Session:
    """What the app does with typed text, without the screen: hand it to a writer with its draft."""

    def __init__(self, db_path) -> None:
        self.held = HeldStore(held_path(db_path))
        self.writer = Writer(self.held, lambda callback: callback(), lambda waiting: None)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_no_typed_text_is_ever_lost(tmp_path_factory, operations):
    db_path = tmp_path_factory.mktemp("held") / "acct.db"
    open_database(db_path)
    account = services.create_account("Northwind")
    run = queries.run_view(account).run_id
    session, lock, last_typed = Session(db_path), None, {}
    try:
        for operation in operations:
            if operation[0] == "type":
                _, key, value = operation
                last_typed[key] = value
                draft = new_held_edit(FIELD, account_id=account, account_name="Northwind", value=value, reason="",
                                      step=1, key=key, run_id=run)
                session.writer.submit(lambda key=key, value=value: services.set_field(run, 1, key, value),
                                      draft=draft)
            elif operation[0] == "lock" and lock is None:
                lock = sqlite3.connect(db_path, isolation_level=None, timeout=30)
                lock.execute("BEGIN IMMEDIATE")
            elif operation[0] == "unlock" and lock is not None:
                lock.rollback()
                lock.close()
                lock = None
            elif operation[0] == "restart":  # quit (or be killed) and start again
                session.writer.finish(0.05 if lock is not None else 30)
                session = Session(db_path)
    finally:
        if lock is not None:
            lock.rollback()
            lock.close()
    session.writer.wait_until_idle()
    on_disk = HeldStore(held_path(db_path)).edits()
    assert [(edit.key, edit.value) for edit in on_disk] == [(edit.key, edit.value) for edit in session.held.edits()]
    step = queries.run_view(account).step(1)
    for key, value in last_typed.items():
        try:
            as_stored = normalize_field_value(packaged_template().step(1).field(key), value)
        except DomainError:
            as_stored = object()  # refused: it can only be held
        held = [edit.value for edit in on_disk if edit.key == key]
        assert value in held or step.field(key).value == as_stored, (
            f"{key}: {value[:30]!r} is neither stored ({str(step.field(key).value)[:30]!r}) nor held")
    session.writer.finish(30)
    close_database()


async def test_a_rejection_comment_pasted_over_the_limit_stays_whole(db, db_path):
    submit_status_approval("Beta", "bob")
    pasted = "c" * (MAX_COMMENT + 1)
    app = AcctApp(db_path, watch_interval=QUIET)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("n")
        await settle(pilot)
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "comment-input")
        app.post_message(events.Paste(pasted))
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        await shows(pilot, "4,000")
        assert app.screen.query_one("#comment-input").value == pasted  # not cut at the limit


async def test_the_app_starts_and_shows_the_accounts_while_another_program_holds_the_write_lock(db, db_path, account):
    close_database()
    lock = write_lock(db_path)
    try:
        open_database(db_path)  # reads the schema version; migrates (and locks) only a schema that is behind
        app = AcctApp(db_path, watch_interval=QUIET)
        async with app.run_test(size=(80, 24)) as pilot:
            await shows(pilot, "Northwind")
    finally:
        lock.rollback()
        lock.close()


def test_two_sessions_on_one_database_keep_each_others_held_edits(tmp_path):
    path = tmp_path / "acct.db-held.json"
    left, right = HeldStore(path), HeldStore(path)
    mine = left.hold(new_held_edit(FIELD, account_id=None, account_name="A", value="left", reason="r", step=1,
                                   key="notes"))
    right.hold(new_held_edit(FIELD, account_id=None, account_name="A", value="right", reason="r", step=2,
                             key="notes"))
    assert sorted(edit.value for edit in HeldStore(path).edits()) == ["left", "right"]
    left.remove([mine.id])  # applied in the left session
    right.flush()  # the right session writes again: what the left one removed does not come back
    assert [edit.value for edit in HeldStore(path).edits()] == ["right"]
    assert [edit.value for edit in right.edits()] == ["right"]
