"""Undo and redo built from the audit log: each kind of change undone and redone through the services,
refusals after another connection changed the same thing, and a property: any sequence of changes, then
undoing them all, leaves the account as it was (as the account report JSON shows it)."""

from __future__ import annotations

import json
import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acct_tui.errors import DomainError
from acct_tui.reports import render_account
from acct_tui.store import kpis, services
from acct_tui.store.db import close_database, open_database
from acct_tui.store.models import AuditEvent, UndoMark
from acct_tui.store.queries import account_detail, run_view
from acct_tui.store.reports import account_report
from acct_tui.store.undo import carry_out, history, next_plan
from tests.portfolio_builder import finish_steps
from tests.sync_support import Replica, sync_in_process

TODAY = date(2026, 6, 30)

pytestmark = pytest.mark.both_backends  # the store tests run on SQLite and on PostgreSQL


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


def statuses(account, *numbers) -> list[str]:
    view = run_view(account)
    return [view.step(number).status for number in numbers]


def test_a_rejection_is_taken_back_and_made_again(db):
    account = services.create_account("Contoso")
    run = run_of(account)
    finish_steps(run, 4)
    services.reject(run, 5, "Add the 2024 payments")
    plan = next_plan("undo")
    assert plan.summary == "Undo: step 5 rejected on Contoso → in the queue"
    assert plan.needs_confirmation  # the steps it sent back are done again
    assert plan.reaches[:4] == tuple(f"step {n}: open → done" for n in (1, 2, 3, 4))
    carry_out(plan.change, "undo")
    assert statuses(account, 1, 2, 3, 4, 5) == ["done"] * 4 + ["pending"]
    assert AuditEvent.select().where(AuditEvent.action == "approval.withdraw").count() == 1
    plan = next_plan("redo")
    assert plan.summary == "Redo: step 5 in the queue on Contoso → rejected"
    assert "records a new decision: step 5 rejected by tester" in plan.reaches
    carry_out(plan.change, "redo")
    assert statuses(account, 1, 5) == ["open", "rejected"]
    assert [(d.decision, d.comment) for d in run_view(account).decisions][-1] == ("rejected", "Add the 2024 payments")


def test_undoing_a_rejection_is_refused_once_a_step_it_sent_back_was_redone(db):
    account = services.create_account("Contoso")
    run = run_of(account)
    finish_steps(run, 4)
    services.reject(run, 5, "Add the 2024 payments")
    in_other_connection(services.complete_step, run, 2, actor="bob")
    assert next_plan("undo").refusal == "Step 2 is done now, not open: bob changed it since."


def test_kpi_values_are_undone_and_redone_as_the_same_entry(db):
    account = services.create_account("Contoso")
    entry = kpis.add_kpi(account, "csat", "4.5", date(2026, 3, 1), step=10, today=TODAY)
    kpis.edit_kpi(entry, value="4.7")
    assert undo() == "Undo: CSAT on Contoso: value “4.7/5” → “4.5/5”"
    assert [e.value for e in kpis.kpi_entries(account)] == [Decimal("4.50")]
    assert undo() == "Undo: CSAT 4.5/5 of 2026-03-01 on Contoso: entered → removed"
    assert kpis.kpi_entries(account) == ()
    undo("redo")
    undo("redo")
    assert [(e.id, e.value, e.step) for e in kpis.kpi_entries(account)] == [(entry, Decimal("4.70"), 10)]
    kpis.delete_kpi(entry)
    assert undo() == "Undo: CSAT 4.7/5 of 2026-03-01 on Contoso: removed → entered"
    assert [e.id for e in kpis.kpi_entries(account)] == [entry]


def test_undoing_a_kpi_value_is_refused_after_another_session_changed_it(db):
    account = services.create_account("Contoso")
    entry = kpis.add_kpi(account, "csat", "4.5", date(2026, 3, 1), today=TODAY)
    in_other_connection(kpis.edit_kpi, entry, value="3", actor="bob")
    assert next_plan("undo").refusal == (
        "CSAT 4.5/5 of 2026-03-01 on Contoso reads differently now: bob changed it since.")


def test_objectives_are_undone_and_redone_in_their_place(db):
    account = services.create_account("Contoso")
    run = run_of(account)
    first = kpis.add_objective(run, "Raise satisfaction", "4.5", metric="csat")
    second = kpis.add_objective(run, "Expand to a second site", "Signed by Q3", "2026-09-30")
    kpis.edit_objective(first, target="4.8")
    kpis.remove_objective(first)
    assert undo() == "Undo: objective “Raise satisfaction” on Contoso: removed → set"
    assert undo() == "Undo: objective “Raise satisfaction” on Contoso: target “4.8/5” → “4.5/5”"
    listed = kpis.objectives(run)
    assert [(o.id, o.position, o.target, o.target_value) for o in listed] == [
        (first, 1, "4.5/5", Decimal("4.50")), (second, 2, "Signed by Q3", None)]
    undo("redo")
    undo("redo")
    assert [o.id for o in kpis.objectives(run)] == [second]
    undo()
    assert [o.id for o in kpis.objectives(run)] == [first, second]  # back in its place, first


def test_an_objective_result_is_undone(db):
    account = services.create_account("Contoso")
    run = run_of(account)
    objective = kpis.add_objective(run, "Expand to a second site", "Signed by Q3")
    kpis.record_result(objective, "Signed in May", True)
    assert undo() == ("Undo: objective “Expand to a second site” on Contoso: achieved “yes” → “not judged”; "
                      "result “Signed in May” → “—”")
    [listed] = kpis.objectives(run)
    assert (listed.result, listed.achieved) == ("", None)


def test_undoing_an_objective_is_refused_while_a_granted_approval_covers_it(db):
    account = services.create_account("Contoso")
    run = run_of(account)
    finish_steps(run, 7)
    kpis.add_objective(run, "Expand to a second site", "Signed by Q3")
    in_other_connection(services.approve, run, 8, actor="manager")
    plan = next_plan("undo")
    assert "reopen that approval to change it" in plan.refusal


def test_undoing_the_creation_archives_the_account_and_redo_restores_it(db):
    account = services.create_account("Contoso")
    assert undo() == "Undo: Contoso added → archived"
    assert account_detail(account).archived
    undo("redo")
    assert not account_detail(account).archived


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


@pytest.mark.sqlite_only
def test_undo_is_refused_after_a_sync_brought_someone_elses_change_and_works_on_the_other_side(tmp_path):
    laptop, host = Replica(tmp_path / "laptop" / "acct.db"), Replica(tmp_path / "host" / "acct.db")
    host.use()
    laptop.use()
    account = services.create_account("Contoso")
    entry = kpis.add_kpi(account, "csat", "4.5", date(2026, 3, 1), today=TODAY)
    kpis.edit_kpi(entry, value="4.7")
    services.set_field(run_of(account), 1, "notes", "mine")
    sync_in_process(laptop, host)
    host.use()  # the change log carries values: the laptop's changes can be undone here
    assert undo() == "Undo: Notes in step 1 on Contoso: “mine” → “—”"
    assert undo() == "Undo: CSAT on Contoso: value “4.7/5” → “4.5/5”"  # the same entry, under another row id
    assert [e.value for e in kpis.kpi_entries(account)] == [Decimal("4.50")]
    undo("redo")
    undo("redo")
    services.set_field(run_of(account), 1, "notes", "theirs", actor="ana")
    sync_in_process(laptop, host)
    laptop.use()
    assert next_plan("undo").refusal == "Notes reads “theirs” now: ana changed it since."
    close_database()


def test_the_history_survives_reopening_the_database(db, db_target):
    account = services.create_account("Contoso")
    services.edit_account(account, owner="ana")
    undo()
    close_database()
    open_database(db_target)
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
    st.tuples(st.just("strengths"), st.just(4), st.lists(st.sampled_from(
        ["Strong market presence", "Diverse product portfolio", "Competitive pricing"]), unique=True)),
    st.tuples(st.just("monitoring"), st.just(10), st.lists(st.sampled_from(
        ["Review account performance", "Analyze data and metrics"]), unique=True)),
    st.tuples(st.just("due"), st.integers(1, 4), st.sampled_from([None, "2026-01-15", "2026-02-01"])),
    st.tuples(st.just("satisfaction"), st.just(4), st.sampled_from([None, "Satisfied", "Neutral"])),
    st.tuples(st.just("complete"), st.integers(1, 4), st.none()),
    st.tuples(st.just("reopen"), st.integers(1, 5), st.none()),
    st.tuples(st.just("decide"), st.just(5), st.sampled_from(["approve", "reject"])),
    st.tuples(st.just("owner"), st.none(), st.sampled_from(["", "ana", "bob"])),
    st.tuples(st.just("archive"), st.none(), st.booleans()),
    st.tuples(st.just("kpi"), st.sampled_from([1, 2]), st.sampled_from(["4.5", "3"])),
    st.tuples(st.just("kpi_delete"), st.sampled_from([1, 2]), st.none()),
    st.tuples(st.just("objective"), st.none(), st.sampled_from(["Grow", "Keep"])),
    st.tuples(st.just("objective_target"), st.none(), st.sampled_from(["4.5", "3"])),
    st.tuples(st.just("objective_remove"), st.none(), st.none()),
    st.tuples(st.just("result"), st.none(), st.sampled_from([True, False, None])),
), max_size=8)


@pytest.fixture(scope="module")
def property_db(tmp_path_factory):
    database = open_database(tmp_path_factory.mktemp("undo") / "acct.db")
    yield database
    close_database()


def apply_operation(account, run, kind: str, number, value) -> None:
    """One change of `kind` (a DomainError when the rules refuse it: then nothing changed)."""
    first_objective = next(iter(kpis.objectives(run)), None)
    measured = date(2026, 3, number or 1)
    entry = next((e for e in kpis.kpi_entries(account) if e.measured_on == measured), None)
    if kind in ("notes", "strengths", "monitoring", "due", "satisfaction"):
        services.set_field(run, number, kind, value)
    elif kind == "complete":
        services.complete_step(run, number)
    elif kind == "reopen":
        services.reopen_step(run, number)
    elif kind == "decide":
        services.approve(run, number) if value == "approve" else services.reject(run, number, "Redo it")
    elif kind == "owner":
        services.edit_account(account, owner=value)
    elif kind == "archive":
        services.archive_account(account, archived=value)
    elif kind == "kpi" and entry is None:
        kpis.add_kpi(account, "csat", value, measured, step=10, today=TODAY)
    elif kind == "kpi":
        kpis.edit_kpi(entry.id, value=value)
    elif kind == "kpi_delete" and entry is not None:
        kpis.delete_kpi(entry.id)
    elif kind == "objective":
        kpis.add_objective(run, value, "Signed by Q3", "2026-09-30")
    elif kind == "objective_target" and first_objective is not None:
        kpis.edit_objective(first_objective.id, metric="csat", target=value)
    elif kind == "objective_remove" and first_objective is not None:
        kpis.remove_objective(first_objective.id)
    elif kind == "result" and first_objective is not None:
        kpis.record_result(first_objective.id, "Done" if value else "", value)


def report_without_decisions(account_id) -> dict[str, Any]:
    """The report without its list of decisions: a decision taken back stays on record (as the audit log
    keeps every change); the state it made is what an undo takes back."""
    report = report_state(account_id)
    report.pop("decisions")
    return report


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_undoing_every_change_returns_the_account_to_its_first_state(property_db, operations):
    account = services.create_account(f"Property {len(history().done)}-{id(operations)}")
    run = run_of(account)
    finish_steps(run, 3)  # step 4 finishes the first approval's steps: decisions are a change away
    first = report_without_decisions(account)
    last_before = history().done[-1].id
    for kind, number, value in operations:
        try:
            apply_operation(account, run, kind, number, value)
        except DomainError:
            pass  # refused by the rules: no change
    while history().done[-1].id != last_before:
        undo()
    assert report_without_decisions(account) == first
