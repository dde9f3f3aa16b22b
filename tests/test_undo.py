"""Undo and redo built from the audit log: each kind of change undone and redone through the services,
refusals after another connection changed the same thing, and a property: any sequence of changes, then
undoing them all, leaves the account as it was (as the account report JSON shows it)."""

from __future__ import annotations

import json
import threading
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acct_tui.errors import DomainError
from acct_tui.reports import render_account
from acct_tui.store import services
from acct_tui.store.db import close_database, open_database
from acct_tui.store.models import AuditEvent, UndoMark
from acct_tui.store.queries import account_detail, run_view
from acct_tui.store.reports import account_report
from acct_tui.store.audit_values import value_from_display
from acct_tui.store.undo import carry_out, history, next_plan
from acct_tui.store.values import display_value
from acct_tui.template import CHECKLIST, NOTES, Field
from tests.portfolio_builder import finish_steps

TODAY = date(2026, 6, 30)


def run_of(account_id):
    return account_detail(account_id).run_id


def undo(direction: str = "undo") -> str:
    plan = next_plan(direction)
    assert plan is not None and plan.refusal is None, plan
    carry_out(plan.change, direction)
    return plan.summary


def in_other_connection(call, *args, **kwargs) -> None:
    """Run a service on another thread: Peewee gives it its own connection, as another session has."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            call(*args, **kwargs)
        except BaseException as error:  # handed to the test thread
            errors.append(error)
        finally:
            from acct_tui.store.models import database

            database.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def test_a_burst_of_saves_of_one_field_is_one_change(db):
    account = services.create_account("Contoso")
    run = run_of(account)
    for text in ("h", "he", "hello"):
        services.set_field(run, 1, "notes", text)
    assert [change.action for change in history().done] == ["account.create", "field.set"]
    assert undo() == "Undo: Notes in step 1 on Contoso: “hello” → “—”"
    assert run_view(account).step(1).field("notes").value == ""
    assert undo("redo") == "Redo: Notes in step 1 on Contoso: “—” → “hello”"
    assert run_view(account).step(1).field("notes").value == "hello"


def test_each_kind_of_change_is_undone_and_redone(db):
    account = services.create_account("Contoso", owner="ana")
    run = run_of(account)
    finish_steps(run, 4)  # steps 1-4 done, approval 5 pending
    services.approve(run, 5, "fine")
    services.edit_account(account, owner="bob", stage="Onboarding")
    services.archive_account(account)

    assert undo() == "Undo: Contoso archived → in the list"
    assert not account_detail(account).archived
    assert undo().startswith("Undo: Contoso: owner “bob” → “ana”")
    assert account_detail(account).owner == "ana"
    plan = next_plan("undo")
    assert plan.summary == "Undo: step 5 granted on Contoso → in the queue"
    assert plan.needs_confirmation  # a decision: the steps after it lock again
    carry_out(plan.change, "undo")
    assert run_view(account).step(5).status == "pending"
    plan = next_plan("undo")
    assert plan.summary == "Undo: step 4 done on Contoso → open"
    assert plan.reaches == ("step 5: in the queue → waiting",)  # it takes the approval out of the queue
    carry_out(plan.change, "undo")
    assert [run_view(account).step(n).status for n in (4, 5)] == ["open", "waiting"]
    # Redo, newest undone first.
    undo("redo")
    assert [run_view(account).step(n).status for n in (4, 5)] == ["done", "pending"]
    plan = next_plan("redo")
    assert plan.summary == "Redo: step 5 in the queue on Contoso → granted"
    assert "records a new decision: step 5 granted by tester" in plan.reaches
    carry_out(plan.change, "redo")
    assert run_view(account).step(5).status == "approved"
    undo("redo")
    assert account_detail(account).owner == "bob"
    undo("redo")
    assert account_detail(account).archived
    assert next_plan("redo") is None
    # Every undo and redo was one change with its own audit event.
    assert UndoMark.select().count() == 8


def test_undoing_the_creation_archives_the_account_and_redo_restores_it(db):
    account = services.create_account("Contoso")
    assert undo() == "Undo: Contoso added → archived"
    assert account_detail(account).archived
    undo("redo")
    assert not account_detail(account).archived


def test_values_come_back_from_the_history_form_exactly():
    checklist = Field("k", "K", CHECKLIST, ("Paid, late", "Paid", "Open"))
    assert value_from_display(checklist, display_value(checklist, ("Paid, late", "Open"))) == ("Paid, late", "Open")
    assert value_from_display(checklist, "—") == ()
    notes = Field("n", "N", NOTES)
    assert value_from_display(notes, "two\nlines") == "two\nlines"
    assert value_from_display(notes, None) == ""


def test_a_new_change_ends_what_can_be_redone(db):
    account = services.create_account("Contoso")
    run = run_of(account)
    services.set_field(run, 1, "notes", "one")
    undo()
    assert len(history().undone) == 1
    services.set_field(run, 1, "assignee", "ana")
    assert history().undone == ()
    assert next_plan("redo") is None


def test_undo_is_refused_when_someone_else_changed_the_same_thing(db):
    account = services.create_account("Contoso")
    run = run_of(account)
    services.set_field(run, 1, "notes", "mine")
    in_other_connection(services.set_field, run, 1, "notes", "theirs", actor="bob")
    plan = next_plan("undo")
    assert plan.refusal == "Notes reads “theirs” now: bob changed it since."
    events = AuditEvent.select().count()
    with pytest.raises(DomainError, match="bob changed it since"):
        carry_out(plan.change, "undo")
    assert AuditEvent.select().count() == events  # nothing written
    assert run_view(account).step(1).field("notes").value == "theirs"


def test_undo_of_a_step_is_refused_when_another_session_reopened_it(db):
    account = services.create_account("Contoso")
    run = run_of(account)
    services.complete_step(run, 1)
    in_other_connection(services.reopen_step, run, 1, actor="bob")
    plan = next_plan("undo")
    assert plan.refusal == "Step 1 is open now, not done: bob changed it since."


def test_the_history_survives_reopening_the_database(db, db_path):
    account = services.create_account("Contoso")
    services.edit_account(account, owner="ana")
    undo()
    close_database()
    open_database(db_path)
    state = history()
    assert [change.action for change in state.done] == ["account.create"]
    assert [change.action for change in state.undone] == ["account.edit"]


def report_state(account_id) -> dict[str, Any]:
    """The account report as JSON without what differs by time or by who did it."""
    report = json.loads(render_account(account_report(account_id, TODAY), "json"))
    report.pop("generated_at")
    for step in report["steps"]:
        step.pop("finished_at")
        step.pop("finished_by")
    return report


OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("notes"), st.integers(1, 4), st.sampled_from(["", "a", "b", "c d"])),
    st.tuples(st.just("strengths"), st.just(4), st.lists(st.sampled_from(["Price", "Quality", "Service"]),
                                                           unique=True)),
    st.tuples(st.just("satisfaction"), st.just(4), st.sampled_from([None, "Satisfied", "Neutral"])),
    st.tuples(st.just("complete"), st.integers(1, 4), st.none()),
    st.tuples(st.just("reopen"), st.integers(1, 4), st.none()),
    st.tuples(st.just("owner"), st.none(), st.sampled_from(["", "ana", "bob"])),
    st.tuples(st.just("archive"), st.none(), st.booleans()),
), max_size=8)


@pytest.fixture(scope="module")
def property_db(tmp_path_factory):
    database = open_database(tmp_path_factory.mktemp("undo") / "acct.db")
    yield database
    close_database()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_undoing_every_change_returns_the_account_to_its_first_state(property_db, operations):
    account = services.create_account(f"Property {len(history().done)}-{id(operations)}")
    run = run_of(account)
    first = report_state(account)
    changes_before = len(history().done)
    for kind, step, value in operations:
        try:
            if kind in ("notes", "strengths", "satisfaction"):
                services.set_field(run, step, kind, value)
            elif kind == "complete":
                services.complete_step(run, step)
            elif kind == "reopen":
                services.reopen_step(run, step)
            elif kind == "owner":
                services.edit_account(account, owner=value)
            else:
                services.archive_account(account, archived=value)
        except DomainError:
            pass  # refused by the rules: no change
    while len(history().done) > changes_before:
        undo()
    assert report_state(account) == first
