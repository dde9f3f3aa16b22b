"""The store: opening the database, and every service function with its transaction and audit event."""

from __future__ import annotations

import json
import os
import stat
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from acct_tui.errors import DomainError, StaleEdit
from acct_tui.store import queries, services
from acct_tui.store.db import (
    close_database,
    default_database_path,
    latest_schema_version,
    open_database,
    resolve_database_path,
)
from acct_tui.store.models import (
    Account,
    ApprovalDecision,
    AuditEvent,
    FieldValue,
    SchemaVersion,
    StepState,
)
from acct_tui.workflow import APPROVED, DONE, OPEN, PENDING, REJECTED, WorkflowError


pytestmark = pytest.mark.both_backends  # the store tests run on SQLite and on PostgreSQL


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_of(account_id: uuid.UUID) -> uuid.UUID:
    return queries.account_detail(account_id).run_id


def finish(run_id: uuid.UUID, *steps: int, actor: str = "tester") -> None:
    for step in steps:
        if step == 4:
            services.set_field(run_id, 4, "satisfaction", "Satisfied", actor=actor)
        services.complete_step(run_id, step, actor=actor)


# Opening the database -------------------------------------------------------------------------------------

def test_path_order_is_flag_then_environment_then_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCT_TUI_DB", str(tmp_path / "env.db"))
    assert resolve_database_path(tmp_path / "flag.db") == tmp_path / "flag.db"
    assert resolve_database_path(None) == tmp_path / "env.db"
    monkeypatch.delenv("ACCT_TUI_DB")
    assert resolve_database_path(None) == default_database_path()
    assert default_database_path().name == "acct.db"
    assert "acct-tui" in default_database_path().parts


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_new_database_is_private_whatever_the_umask(tmp_path, umask):
    path = tmp_path / "private" / "nested" / "acct.db"
    previous = os.umask(umask)
    try:
        open_database(path)
        services.create_account("Acme")
    finally:
        os.umask(previous)
        close_database()
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    for sidecar in path.parent.glob("acct.db-*"):
        assert mode(sidecar) & 0o077 == 0


@pytest.mark.sqlite_only
def test_pragmas_and_schema_version(db):
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert SchemaVersion.select().order_by(SchemaVersion.version.desc()).first().version == latest_schema_version()


def test_reopening_keeps_data_and_does_not_migrate_again(db_path):
    open_database(db_path)
    services.create_account("Acme")
    versions = SchemaVersion.select().count()
    close_database()
    open_database(db_path)
    assert [row.name for row in queries.account_rows()] == ["Acme"]
    assert SchemaVersion.select().count() == versions
    close_database()


# Accounts ---------------------------------------------------------------------------------------------------

def test_create_account_starts_a_run_and_audits_both(db):
    account_id = services.create_account(
        "Northwind", owner="alice", segment="key", stage="retention", industry="Retail", annual_revenue="1,000.5"
    )
    detail = queries.account_detail(account_id)
    assert (detail.name, detail.owner, detail.segment, detail.stage) == ("Northwind", "alice", "Key", "Retention")
    assert detail.annual_revenue == Decimal("1000.50")
    assert isinstance(detail.id, uuid.UUID) and detail.run_id is not None
    assert StepState.select().where(StepState.run == detail.run_id).count() == 20
    events = list(AuditEvent.select().where(AuditEvent.account_id == account_id).order_by(AuditEvent.at))
    assert [event.action for event in events] == ["account.create", "run.start"]
    assert {event.actor for event in events} == {"tester"}
    assert json.loads(events[0].after)["name"] == "Northwind"


def test_account_names_are_unique_ignoring_case(db):
    services.create_account("Northwind")
    with pytest.raises(DomainError, match="already exists"):
        services.create_account("  NORTHWIND ")
    assert Account.select().count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Account name cannot be empty"),
        ({"segment": "Gold"}, "Segment must be one of"),
        ({"stage": "Growth"}, "Lifecycle stage must be one of"),
        ({"annual_revenue": "a lot"}, "not a number"),
    ],
)
def test_invalid_account_input_writes_nothing(db, changes, message):
    arguments = {"name": "Acme", **changes}
    with pytest.raises(DomainError, match=message):
        services.create_account(**arguments)
    assert Account.select().count() == 0
    assert AuditEvent.select().count() == 0


def test_edit_account_records_before_and_after_and_bumps_the_version(db):
    account_id = services.create_account("Acme", owner="alice")
    version = services.edit_account(account_id, owner="bob", expected_version=1)
    assert version == 2
    event = AuditEvent.select().where(AuditEvent.action == "account.edit").get()
    assert json.loads(event.before) == {"owner": "alice"}
    assert json.loads(event.after) == {"owner": "bob"}
    assert services.edit_account(account_id, owner="bob") == 2  # no change, no new version, no event
    assert AuditEvent.select().where(AuditEvent.action == "account.edit").count() == 1


def test_edit_account_refuses_a_stale_version_and_duplicate_names(db):
    account_id = services.create_account("Acme")
    services.create_account("Globex")
    services.edit_account(account_id, owner="bob")
    with pytest.raises(StaleEdit) as stale:
        services.edit_account(account_id, owner="carol", expected_version=1)
    assert stale.value.current_value["owner"] == "bob"
    with pytest.raises(DomainError, match="already exists"):
        services.edit_account(account_id, name="GLOBEX")
    with pytest.raises(DomainError, match="Unknown account field"):
        services.edit_account(account_id, colour="red")
    assert queries.account_detail(account_id).owner == "bob"
    services.edit_account(account_id, name="ACME")  # its own name in another case is fine
    assert queries.account_detail(account_id).name == "ACME"


def test_archive_hides_from_the_list_and_restore_brings_back(db):
    account_id = services.create_account("Acme")
    services.archive_account(account_id)
    assert queries.account_rows() == []
    assert [row.archived for row in queries.account_rows(include_archived=True)] == [True]
    services.archive_account(account_id, archived=False)
    assert [row.name for row in queries.account_rows()] == ["Acme"]
    actions = [e.action for e in AuditEvent.select().order_by(AuditEvent.at)]
    assert actions[-2:] == ["account.archive", "account.restore"]


def test_unknown_ids_are_domain_errors(db):
    with pytest.raises(DomainError, match="no longer exists"):
        services.archive_account(uuid.uuid4())
    with pytest.raises(DomainError, match="not a valid account id"):
        services.archive_account("nope")
    with pytest.raises(DomainError, match="no longer exists"):
        services.complete_step(uuid.uuid4(), 1)


def test_start_run_is_refused_when_the_account_has_one(db):
    account_id = services.create_account("Acme")
    with pytest.raises(DomainError, match="already has a run"):
        services.start_run(account_id)


# Fields ------------------------------------------------------------------------------------------------------

def test_set_field_stores_normal_form_and_versions(db):
    run_id = run_of(services.create_account("Acme"))
    assert services.set_field(run_id, 2, "records", ["contracts", "Financial statements"], expected_version=0) == 1
    assert services.set_field(run_id, 1, "due", "2026-12-01") == 1
    assert services.set_field(run_id, 1, "notes", "line 1\nline 2 [bold]x[/bold]") == 1
    assert services.set_field(run_id, 1, "notes", "line 1\nline 2 [bold]x[/bold]") == 1  # unchanged: no new version
    view = queries.run_view(queries.find_account("acme").id)
    assert view.step(2).field("records").value == ("Financial statements", "Contracts")
    assert view.step(1).field("due").value == date(2026, 12, 1)
    assert view.step(1).field("notes").value == "line 1\nline 2 [bold]x[/bold]"
    assert AuditEvent.select().where(AuditEvent.action == "field.set").count() == 3


def test_set_field_refuses_unknown_fields_and_bad_values(db):
    run_id = run_of(services.create_account("Acme"))
    with pytest.raises(DomainError, match="has no field"):
        services.set_field(run_id, 1, "colour", "red")
    with pytest.raises(DomainError, match="YYYY-MM-DD"):
        services.set_field(run_id, 1, "due", "31/12/2026")
    with pytest.raises(DomainError, match="Step 5 has no field"):
        services.set_field(run_id, 5, "notes", "x")
    assert FieldValue.select().count() == 0


def test_a_stale_save_is_refused_with_the_current_value(db):
    run_id = run_of(services.create_account("Acme"))
    services.set_field(run_id, 1, "notes", "first", actor="alice", expected_version=0)
    services.set_field(run_id, 1, "notes", "alice's second", actor="alice", expected_version=1)
    with pytest.raises(StaleEdit) as stale:
        services.set_field(run_id, 1, "notes", "bob's text", actor="bob", expected_version=1)
    assert stale.value.current_value == "alice's second"
    assert stale.value.current_version == 2
    assert "by alice" in str(stale.value)
    assert services.set_field(run_id, 1, "notes", "bob's text", actor="bob", expected_version=2) == 3


def test_fields_under_a_granted_approval_are_frozen_until_it_is_reopened(db):
    run_id = run_of(services.create_account("Acme"))
    finish(run_id, 1, 2, 3, 4)
    services.approve(run_id, 5, actor="manager")
    with pytest.raises(WorkflowError, match="reopen that approval"):
        services.set_field(run_id, 2, "notes", "late change")
    services.reopen_approval(run_id, 5)
    services.set_field(run_id, 2, "notes", "late change")
    assert [item.step for item in queries.approval_queue()] == [5]


# Steps and approvals -----------------------------------------------------------------------------------------

def statuses(run_id: uuid.UUID) -> dict[int, str]:
    return dict(StepState.select(StepState.number, StepState.status).where(StepState.run == run_id).tuples())


def test_completing_the_covered_steps_puts_the_approval_in_the_queue(db):
    account_id = services.create_account("Acme", owner="alice")
    run_id = run_of(account_id)
    finish(run_id, 1, 2, 3, 4, actor="alice")
    assert statuses(run_id)[5] == PENDING
    [item] = queries.approval_queue()
    assert (item.account_name, item.step, item.covers, item.submitted_by) == ("Acme", 5, (1, 2, 3, 4), "alice")
    assert item.submitted_at is not None
    row = queries.account_rows()[0]
    assert (row.done, row.current_step, row.next_approval) == (4, 5, 5)


def test_refused_completion_changes_nothing(db):
    run_id = run_of(services.create_account("Acme"))
    before = AuditEvent.select().count()
    with pytest.raises(WorkflowError, match="Customer satisfaction"):
        services.complete_step(run_id, 4)
    with pytest.raises(WorkflowError, match="locked until"):
        services.complete_step(run_id, 6)
    assert statuses(run_id)[4] == OPEN and statuses(run_id)[6] == OPEN
    assert AuditEvent.select().count() == before


def test_reject_then_redo_then_approve_unlocks_the_next_step(db):
    run_id = run_of(services.create_account("Acme"))
    finish(run_id, 1, 2, 3, 4)
    with pytest.raises(WorkflowError, match="needs a comment"):
        services.reject(run_id, 5, "  ", actor="manager")
    services.reject(run_id, 5, "Contracts are missing", actor="manager")
    state = statuses(run_id)
    assert [state[n] for n in (1, 2, 3, 4, 5)] == [OPEN, OPEN, OPEN, OPEN, REJECTED]
    assert queries.approval_queue() == []
    finish(run_id, 1, 2, 3, 4)
    assert statuses(run_id)[5] == PENDING
    services.approve(run_id, 5, actor="manager")
    services.complete_step(run_id, 6)
    assert statuses(run_id)[6] == DONE
    decisions = list(ApprovalDecision.select().order_by(ApprovalDecision.decided_at))
    assert [(d.decision, d.approver, d.comment) for d in decisions] == [
        ("rejected", "manager", "Contracts are missing"),
        ("approved", "manager", ""),
    ]
    assert all(d.submitted_at is not None and d.submitted_at <= d.decided_at for d in decisions)
    view = queries.run_view(queries.find_account("Acme").id)
    assert view.step(5).mark == APPROVED
    assert view.progress.done == 6
    assert any("Contracts are missing" in entry.summary for entry in view.step_history(5))


def test_reopen_step_withdraws_the_pending_approval(db):
    run_id = run_of(services.create_account("Acme"))
    finish(run_id, 1, 2, 3, 4)
    services.reopen_step(run_id, 3)
    assert statuses(run_id)[3] == OPEN and statuses(run_id)[5] == "waiting"
    assert queries.approval_queue() == []


def test_overdue_counts_only_open_tasks_past_due(db):
    run_id = run_of(services.create_account("Acme"))
    services.set_field(run_id, 1, "due", "2026-11-01")
    services.set_field(run_id, 2, "due", "2026-11-20")
    services.set_field(run_id, 3, "due", "2026-12-20")
    services.complete_step(run_id, 1)
    row = queries.account_rows(today=date(2026, 11, 23))[0]
    assert row.overdue == 1
    assert queries.run_view(row.id, today=date(2026, 11, 23)).progress.overdue == (2,)


def test_archived_accounts_leave_the_approval_queue(db):
    account_id = services.create_account("Acme")
    finish(run_of(account_id), 1, 2, 3, 4)
    services.archive_account(account_id)
    assert queries.approval_queue() == []


def test_the_queue_reads_a_page_at_a_time_with_a_count_and_knows_where_an_approval_stands(db):
    runs = {}
    for name in ("Echo", "Delta", "Charlie", "Bravo", "Alpha", "Zulu"):
        account = services.create_account(name)
        runs[name] = run_of(account)
        finish(runs[name], 1, 2, 3, 4)
    services.archive_account(queries.find_account("Zulu").id)
    whole = queries.approval_queue()
    assert [item.account_name for item in whole] == ["Echo", "Delta", "Charlie", "Bravo", "Alpha"]  # oldest first
    assert queries.approval_queue_count() == 5
    assert queries.approval_queue(1, 2) == whole[1:3]
    assert queries.approval_queue(4, 10) == whole[4:]
    assert [queries.approval_queue_position(item.run_id, item.step) for item in whole] == [0, 1, 2, 3, 4]
    assert queries.approval_queue_position(runs["Zulu"], 5) is None  # archived
    services.approve(runs["Delta"], 5)
    assert queries.approval_queue_position(runs["Delta"], 5) is None
    assert queries.approval_queue_position(runs["Bravo"], 5) == 2
    # Submitted at the same moment: by name, in the whole queue, in a page and in a position alike.
    StepState.update(submitted_at=whole[0].submitted_at).where(StepState.status == PENDING).execute()
    names = [item.account_name for item in queries.approval_queue()]
    assert names == ["Alpha", "Bravo", "Charlie", "Echo"]
    assert [item.account_name for item in queries.approval_queue(2, 2)] == names[2:]
    assert [queries.approval_queue_position(runs[name], 5) for name in names] == [0, 1, 2, 3]


def test_covered_steps_show_what_the_approver_judges(db):
    account_id = services.create_account("Acme")
    run_id = run_of(account_id)
    services.set_field(run_id, 3, "notes", "Two late payments in 2025")
    finish(run_id, 1, 2, 3, 4)
    detail = queries.approval_detail(run_id, 5)
    covered = detail.steps
    assert [view.number for view in covered] == [1, 2, 3, 4]
    assert covered[2].field("notes").value == "Two late payments in 2025"
    assert covered[3].field("satisfaction").value == "Satisfied"
    assert (detail.last_decision, detail.changes, detail.objectives, detail.kpis) == (None, (), (), ())

    services.reject(run_id, 5, "Add the 2024 payments", actor="carol")
    services.set_field(run_id, 3, "notes", "Two late payments in 2025, one in 2024", actor="ana")
    services.set_field(run_id, 1, "assignee", "ana", actor="ana")
    finish(run_id, 1, 2, 3, 4)
    detail = queries.approval_detail(run_id, 5)
    assert (detail.last_decision.decision, detail.last_decision.approver) == ("rejected", "carol")
    assert [(change.step, change.actor) for change in detail.changes] == [(3, "ana"), (1, "ana")]
    assert detail.field_changed(3, "notes") and not detail.field_changed(4, "satisfaction")
    assert queries.run_view(account_id).step(2).reopened_by == "carol"


@pytest.mark.parametrize(
    ("action", "before", "after", "expected"),
    [
        ("field.set", {"notes": None}, {"notes": "Call back"}, "set notes: Call back"),
        ("field.kept", {}, {"notes": "Mine"}, "kept, not applied (changed in another session): notes: Mine"),
        ("approval.reject", {"states": {"5": "pending"}}, {"states": {"5": "rejected"}, "comment": "Redo"},
         "rejected (5→rejected): Redo"),
        ("kpi.add", {}, {"metric": "csat", "value": "4.5"}, "KPI added: metric: csat; value: 4.5"),
        ("objective.remove", {"title": "Grow"}, {}, "objective removed: title: Grow"),
        ("account.archive", {"archived": False}, {"archived": True}, "archived"),
        ("something.new", {}, {}, "something new"),
    ],
)
def test_history_lines_say_what_happened_in_words(action, before, after, expected):
    assert queries.describe_event(action, before, after) == expected


def test_discarded_held_text_is_kept_in_the_history_without_touching_the_field(db):
    account_id = services.create_account("Acme")
    services.set_field(run_of(account_id), 1, "notes", "Theirs", actor="bob")
    services.record_held_outcome(account_id, 1, "step 1, Notes", "Mine\nsecond line", applied=False, actor="ana")
    view = queries.run_view(account_id)
    assert view.step(1).field("notes").value == "Theirs"
    assert view.step_history(1)[0].summary == "discarded held text: step 1, Notes: Mine\nsecond line"
    assert view.step_history(1)[0].actor == "ana"
