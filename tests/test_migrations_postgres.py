"""Migrations 2-6 run on PostgreSQL too: a team database of schema 1 (made here by taking the later schema
back out of a new one) upgrades to the latest, keeps its data, and ends with the schema of a new database."""

from __future__ import annotations

from datetime import date

import pytest

from acct_tui.store import queries, services
from acct_tui.store.db import close_database, latest_schema_version, open_database
from acct_tui.store.models import ApprovalDecision, SchemaVersion, StepState, database
from acct_tui.template import DUE_KEY

pytestmark = pytest.mark.postgres_only

SCHEMA_1 = (
    "DROP TABLE summary_part",  # schema 8
    "DROP TABLE summary_total",
    "DROP INDEX step_state_status_submitted_at",
    "DROP TABLE saved_view",  # schema 6
    "DROP TABLE undo_mark",
    "DROP TABLE template_version",  # schema 5; dropping step_key drops the indexes on it
    'ALTER TABLE "run" DROP COLUMN template_version',
    "ALTER TABLE step_state DROP COLUMN step_key",
    "ALTER TABLE field_value DROP COLUMN step_key",
    "ALTER TABLE approval_decision DROP COLUMN step_key",
    "DROP TABLE kpi_entry",
    "DROP TABLE objective",
    "ALTER TABLE step_state DROP COLUMN due_on",
    'CREATE INDEX field_value_key_value ON field_value ("key", "value")',
    "ALTER TABLE approval_decision DROP COLUMN turnaround_seconds",
    "DELETE FROM schema_version",
    "INSERT INTO schema_version (version, description, applied_at) VALUES (1, 'first release', now())",
)


def columns_and_indexes() -> tuple[list, list]:
    columns = database.execute_sql(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY 1, 2").fetchall()
    indexes = database.execute_sql(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2").fetchall()
    return columns, indexes


def test_a_schema_1_team_database_upgrades_to_the_latest(backend, postgres_url):
    open_database(postgres_url)
    new_schema = columns_and_indexes()
    run_id = queries.account_detail(services.create_account("Northwind Traders")).run_id
    services.set_field(run_id, 4, DUE_KEY, "2026-01-15")
    services.set_field(run_id, 4, "satisfaction", "Satisfied")
    for step in (1, 2, 3, 4):
        services.complete_step(run_id, step)
    services.approve(run_id, 5, actor="manager")
    for statement in SCHEMA_1:
        database.execute_sql(statement)
    close_database()

    open_database(postgres_url)
    assert [row.version for row in SchemaVersion.select().order_by(SchemaVersion.version)] == list(
        range(1, latest_schema_version() + 1))
    for upgraded, new in zip(columns_and_indexes(), new_schema):
        assert sorted(upgraded) == sorted(new)  # ADD COLUMN appends: the order of columns may differ
    due = dict(StepState.select(StepState.number, StepState.due_on).where(StepState.run == run_id).tuples())
    assert due[4] == date(2026, 1, 15) and [n for n, value in due.items() if value is not None] == [4]
    [decision] = ApprovalDecision.select()
    expected = (decision.decided_at - decision.submitted_at).total_seconds()
    assert decision.turnaround_seconds is not None and abs(decision.turnaround_seconds - expected) <= 1
