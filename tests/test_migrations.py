"""A database of the first release (schema 1) upgrades to the latest schema when opened: 2 adds KPI entries and
objectives, 3 copies each task's due date onto its step state (for overdue counts), 4 keeps each decision's
turnaround."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from acct_tui.store import kpis
from acct_tui.store.db import FIRST_SCHEMA, MIGRATIONS, close_database, latest_schema_version, open_database
from acct_tui.store.models import ApprovalDecision, SchemaVersion, StepState
from acct_tui.store.queries import account_rows, find_account, run_view

FIXTURE = Path(__file__).parent / "fixtures" / "schema_v1.db"
NEW_TABLES = ("kpi_entry", "objective", "saved_view", "undo_mark")


def _schema(path: Path, table: str) -> tuple[list, list]:
    """Columns and indexes of `table` as SQLite describes them, to compare two databases."""
    with sqlite3.connect(path) as connection:
        columns = connection.execute(f'PRAGMA table_info("{table}")').fetchall()
        indexes = sorted(
            (name, unique, connection.execute(f'PRAGMA index_info("{name}")').fetchall())
            for _, name, unique, *_ in connection.execute(f'PRAGMA index_list("{table}")').fetchall()
        )
        foreign_keys = connection.execute(f'PRAGMA foreign_key_list("{table}")').fetchall()
    return columns, indexes + foreign_keys


@pytest.fixture
def upgraded(tmp_path: Path):
    path = tmp_path / "old" / "acct.db"
    path.parent.mkdir(mode=0o700)
    shutil.copyfile(FIXTURE, path)
    path.chmod(0o600)
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT MAX(version) FROM schema_version").fetchone() == (1,)
        accounts_before = connection.execute("SELECT id, name, version FROM account ORDER BY id").fetchall()
        events_before = connection.execute("SELECT COUNT(*) FROM audit_event").fetchone()[0]
    open_database(path)
    yield path, accounts_before, events_before
    close_database()


def test_a_schema_1_database_upgrades_to_2_and_keeps_its_data(upgraded):
    path, accounts_before, events_before = upgraded
    assert latest_schema_version() >= 2  # later versions build on 2
    versions = [row.version for row in SchemaVersion.select().order_by(SchemaVersion.version)]
    assert versions == [FIRST_SCHEMA[0], *(version for version, _, _ in MIGRATIONS)]
    with sqlite3.connect(path) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert set(NEW_TABLES) <= tables
        assert connection.execute("SELECT id, name, version FROM account ORDER BY id").fetchall() == accounts_before
        assert connection.execute("SELECT COUNT(*) FROM audit_event").fetchone()[0] == events_before
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    northwind = find_account("Northwind Traders")
    view = run_view(northwind.id)
    assert view.step(5).status == "approved"
    assert [decision.decision for decision in run_view(find_account("Fabrikam Robotics").id).decisions] == ["rejected"]
    assert {row.name for row in account_rows()} >= {"Northwind Traders", "Fabrikam Robotics", "[bold]Markup Test[/bold]"}


def test_the_upgraded_tables_work_with_the_services(upgraded):
    northwind = find_account("Northwind Traders")
    entry_id = kpis.add_kpi(northwind.id, "csat", "4.2", date(2026, 3, 1), step=10)
    objective_id = kpis.add_objective(northwind.run_id, "Raise satisfaction", "4.5", metric="csat")
    assert [entry.id for entry in kpis.kpi_entries(northwind.id)] == [entry_id]
    assert [objective.id for objective in kpis.objectives(northwind.run_id)] == [objective_id]


def test_opening_the_upgraded_database_again_changes_nothing(upgraded):
    path, *_ = upgraded
    close_database()
    open_database(path)
    versions = [row.version for row in SchemaVersion.select().order_by(SchemaVersion.version)]
    assert versions == [FIRST_SCHEMA[0], *(version for version, _, _ in MIGRATIONS)]


def test_upgraded_and_new_databases_have_the_same_schema(upgraded, tmp_path: Path):
    path, *_ = upgraded
    close_database()
    fresh = tmp_path / "fresh" / "acct.db"
    open_database(fresh)
    with sqlite3.connect(fresh) as connection:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert set(NEW_TABLES) <= set(tables)
    for table in tables:
        columns, indexes = _schema(path, table)
        fresh_columns, fresh_indexes = _schema(fresh, table)
        # ALTER TABLE appends a column where the model declares it last: compare columns by name.
        assert sorted(column[1:] for column in columns) == sorted(column[1:] for column in fresh_columns), table
        assert indexes == fresh_indexes, table


def test_schema_3_copies_the_due_dates_onto_the_step_states(upgraded):
    northwind = find_account("Northwind Traders")
    due = dict(StepState.select(StepState.number, StepState.due_on).where(StepState.run == northwind.run_id).tuples())
    assert due[4] == date(2026, 1, 15)
    assert [number for number, value in due.items() if value is not None] == [4]
    with sqlite3.connect(upgraded[0]) as connection:
        indexes = {name for _, name, *_ in connection.execute('PRAGMA index_list("step_state")')}
    assert "step_state_status_due_on_run_id" in indexes


def test_schema_4_works_out_the_turnaround_of_every_old_decision(upgraded):
    decisions = list(ApprovalDecision.select())
    assert len(decisions) == 2
    for decision in decisions:
        expected = (decision.decided_at - decision.submitted_at).total_seconds()
        assert decision.turnaround_seconds is not None
        assert abs(decision.turnaround_seconds - expected) <= 1


# Schema 5: steps known by key, runs pinned to a template version ------------------------------------------

REPORTS_BEFORE = Path(__file__).parent / "fixtures" / "schema_v1_reports.json"
ADDED_IN_5 = {"step_key", "template", "template_version", "templates"}


def _without_added_keys(data: object) -> object:
    """A report as the release before schema 5 wrote it: the keys schema 5 added taken out."""
    if isinstance(data, dict):
        return {key: _without_added_keys(value) for key, value in data.items() if key not in ADDED_IN_5}
    if isinstance(data, list):
        return [_without_added_keys(item) for item in data]
    return data


def test_schema_5_changes_no_answer_and_no_report(upgraded):
    """The reports of the fixture, written by the release before schema 5 from the same file
    (fixtures/schema_v1_reports.json), are what the upgraded database reports, key for key."""
    import json

    from acct_tui.reports import render_account, render_portfolio
    from acct_tui.store.reports import account_report, portfolio_report

    today = date(2026, 6, 30)
    expected = json.loads(REPORTS_BEFORE.read_text(encoding="utf-8"))

    def now(text: str) -> object:
        data = json.loads(text)
        data.pop("generated_at")
        return data

    portfolio = now(render_portfolio(portfolio_report(today), "json"))
    assert _without_added_keys(portfolio) == expected["portfolio"]
    accounts = {row.name: now(render_account(account_report(row.id, today), "json"))
                for row in account_rows(include_archived=True)}
    assert {name: _without_added_keys(data) for name, data in accounts.items()} == expected["accounts"]
    northwind = accounts["Northwind Traders"]
    assert northwind["template"] == {"key": "account-management", "name": "Account Management Template",
                                     "version": 1, "latest_version": 1}
    assert [step["step_key"] for step in northwind["steps"]][:5] == [
        "identify-account", "gather-records", "review-history", "analyse-status", "approve-status"]


def test_schema_5_gives_every_row_its_step_key_and_every_run_version_1(upgraded):
    path, *_ = upgraded
    with sqlite3.connect(path) as connection:
        for table, column in (("step_state", "number"), ("field_value", "step"), ("approval_decision", "step")):
            rows = connection.execute(f'SELECT "{column}", step_key FROM "{table}"').fetchall()
            assert rows and all(key is not None for _, key in rows), table
            assert len({(number, key) for number, key in rows}) == len({number for number, _ in rows}), table
        assert connection.execute("SELECT DISTINCT template_name, template_version FROM run").fetchall() == [
            ("account-management", 1)]
        assert connection.execute("SELECT name, version FROM template_version").fetchall() == [
            ("account-management", 1)]


def test_the_command_line_says_it_upgrades_before_it_does(tmp_path: Path):
    """A large portfolio takes a while to upgrade: one line says so, rather than a blank terminal."""
    from tests.cli_support import run_cli

    path = tmp_path / "old" / "acct.db"
    path.parent.mkdir(mode=0o700)
    shutil.copyfile(FIXTURE, path)
    path.chmod(0o600)
    first = run_cli("--db", str(path), "accounts", "list")
    again = run_cli("--db", str(path), "accounts", "list")
    assert first.returncode == 0 and again.returncode == 0
    assert first.stderr.splitlines() == [
        f"acct-tui: upgrading the database from schema 1 to {latest_schema_version()}; a large portfolio takes "
        "a minute or more…"]
    assert again.stderr == ""  # upgraded once
    assert first.stdout == again.stdout
