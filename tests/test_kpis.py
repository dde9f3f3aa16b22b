"""KPI entries and objectives: the pure rules, and the services (validation, locks, versions, audit)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from acct_tui.errors import DomainError, StaleEdit
from acct_tui.store import kpis, services
from acct_tui.store.models import AuditEvent, KpiEntry, Objective
from acct_tui.workflow import WorkflowError
from acct_tui.workflow.fields import MAX_REVENUE
from acct_tui.workflow.kpi import (
    METRICS,
    format_metric_value,
    get_metric,
    parse_metric_value,
    validate_objective,
)
from tests.portfolio_builder import finish_steps, run_of

TODAY = date(2026, 6, 30)

pytestmark = pytest.mark.both_backends  # the store tests run on SQLite and on PostgreSQL


# The rules ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("metric", "accepted", "refused"),
    [
        ("csat", ["1", "5", "4.25", 3], ["0.99", "5.01", "0", "-1"]),
        ("nps", ["-100", "100", "0", "35.5"], ["-100.1", "101"]),
        ("retention", ["0", "100", "92.5 %", "92.5%"], ["-0.01", "100.5"]),
        ("market_share", ["0", "100", "12.5"], ["-1", "101"]),
        ("revenue", ["0", "1,250,000.50", str(MAX_REVENUE - 1)], ["-0.01", str(MAX_REVENUE), "1e20"]),
        ("pipeline", ["0", "3_000_000"], ["-5", str(MAX_REVENUE * 2)]),
    ],
)
def test_each_metric_accepts_its_range_and_refuses_the_rest(metric, accepted, refused):
    chosen = get_metric(metric)
    for value in accepted:
        assert chosen.in_range(parse_metric_value(chosen, value))
    for value in refused:
        with pytest.raises(DomainError, match="out of range: use a number from"):
            parse_metric_value(chosen, value)


@pytest.mark.parametrize("value", ["abc", "", "   ", None, True, "nan", "inf", [4]])
def test_non_numbers_are_refused_with_the_range_in_the_message(value):
    with pytest.raises(DomainError) as refused:
        parse_metric_value(get_metric("csat"), value)
    assert "Customer satisfaction" in str(refused.value)


def test_values_are_rounded_to_the_metric_decimals_and_formatted_for_reading():
    assert parse_metric_value(get_metric("csat"), "4.256") == Decimal("4.26")
    assert parse_metric_value(get_metric("nps"), "35.44") == Decimal("35.4")
    assert format_metric_value(get_metric("revenue"), Decimal("1250000.50")) == "1,250,000.50"
    assert format_metric_value(get_metric("revenue"), Decimal("1250000.00")) == "1,250,000"
    assert format_metric_value(get_metric("csat"), Decimal("4.50")) == "4.5/5"
    assert format_metric_value(get_metric("nps"), Decimal("35")) == "+35"
    assert format_metric_value(get_metric("nps"), Decimal("-10")) == "-10"
    assert format_metric_value(get_metric("retention"), 92.5) == "92.5 %"
    assert format_metric_value(get_metric("csat"), None) == "—"


def test_metrics_are_found_by_key_label_or_short_name_and_unknown_ones_are_listed():
    assert {get_metric(name).key for name in ("CSAT", "customer satisfaction", " nps ", "Market share")} == {
        "csat", "nps", "market_share"}
    assert [metric.key for metric in METRICS] == ["revenue", "csat", "nps", "retention", "pipeline", "market_share"]
    with pytest.raises(DomainError, match="KPI must be one of: Revenue, CSAT, NPS"):
        get_metric("profit")


def test_an_objective_target_is_text_or_a_value_of_its_metric():
    assert validate_objective(" Win the renewal ", "Signed by March").target == "Signed by March"
    with_metric = validate_objective("Raise satisfaction", "4.5", "CSAT")
    assert (with_metric.metric, with_metric.target, with_metric.target_value) == ("csat", "4.5/5", Decimal("4.50"))
    with pytest.raises(DomainError, match="Objective cannot be empty"):
        validate_objective("  ", "x")
    with pytest.raises(DomainError, match="Target cannot be empty"):
        validate_objective("Grow", "")
    with pytest.raises(DomainError, match="out of range"):
        validate_objective("Raise satisfaction", "7", "csat")


# KPI entries ----------------------------------------------------------------------------------------------

def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.at))


def test_add_kpi_stores_the_value_and_audits_it(db):
    account_id = services.create_account("Acme")
    entry_id = kpis.add_kpi(account_id, "CSAT", "4.2", "2026-03-01", step=10, actor="alice", today=TODAY)
    [entry] = kpis.kpi_entries(account_id)
    assert (entry.id, entry.metric, entry.value, entry.measured_on, entry.step, entry.version) == (
        entry_id, "csat", Decimal("4.20"), date(2026, 3, 1), 10, 1)
    assert entry.text == "4.2/5" and entry.updated_by == "alice"
    [event] = events("kpi.add")
    assert (event.actor, event.entity, event.entity_id, event.account_id, event.step) == (
        "alice", "kpi", entry_id, account_id, 10)
    assert json.loads(event.after) == {"measured_on": "2026-03-01", "metric": "csat", "value": "4.20"}


def test_kpi_entries_come_metric_by_metric_oldest_first(db):
    account_id = services.create_account("Acme")
    kpis.add_kpi(account_id, "nps", "10", "2026-02-01", today=TODAY)
    kpis.add_kpi(account_id, "revenue", "200", "2026-02-01", today=TODAY)
    kpis.add_kpi(account_id, "revenue", "100", "2026-01-01", today=TODAY)
    assert [(entry.metric, entry.measured_on.month) for entry in kpis.kpi_entries(account_id)] == [
        ("revenue", 1), ("revenue", 2), ("nps", 2)]


def test_invalid_kpi_input_writes_nothing(db):
    account_id = services.create_account("Acme")
    before = AuditEvent.select().count()
    for metric, value, when, message in [
        ("csat", "9", "2026-01-01", "out of range"),
        ("csat", "4", "", "needs the date"),
        ("csat", "4", "2026-13-01", "is not a date"),
        ("csat", "4", "2026-07-01", "in the future"),
        ("profit", "4", "2026-01-01", "KPI must be one of"),
    ]:
        with pytest.raises(DomainError, match=message):
            kpis.add_kpi(account_id, metric, value, when, today=TODAY)
    with pytest.raises(DomainError, match="steps 10 and 13, not step 7"):
        kpis.add_kpi(account_id, "csat", "4", "2026-01-01", step=7, today=TODAY)
    assert KpiEntry.select().count() == 0
    assert AuditEvent.select().count() == before


def test_one_value_per_metric_and_date(db):
    account_id = services.create_account("Acme")
    kpis.add_kpi(account_id, "csat", "4", "2026-01-01", today=TODAY)
    kpis.add_kpi(account_id, "nps", "4", "2026-01-01", today=TODAY)
    with pytest.raises(DomainError, match=r"CSAT already has a value for 2026-01-01 \(4/5\); edit that entry"):
        kpis.add_kpi(account_id, "csat", "5", "2026-01-01", today=TODAY)
    assert KpiEntry.select().count() == 2


def test_edit_kpi_bumps_the_version_and_refuses_stale_edits_and_taken_dates(db):
    account_id = services.create_account("Acme")
    first = kpis.add_kpi(account_id, "csat", "4", "2026-01-01", today=TODAY)
    kpis.add_kpi(account_id, "csat", "3", "2026-02-01", today=TODAY)
    assert kpis.edit_kpi(first, value="4.5", expected_version=1, actor="bob", today=TODAY) == 2
    assert kpis.edit_kpi(first, value="4.5", expected_version=2, today=TODAY) == 2  # no change: no new version
    with pytest.raises(StaleEdit) as stale:
        kpis.edit_kpi(first, value="1", expected_version=1, today=TODAY)
    assert stale.value.current_version == 2
    assert stale.value.current_value == (Decimal("4.50"), date(2026, 1, 1))
    assert "bob" in str(stale.value)
    with pytest.raises(DomainError, match="already has a value for 2026-02-01"):
        kpis.edit_kpi(first, measured_on="2026-02-01", today=TODAY)
    [edit] = events("kpi.edit")
    # What the entry is (metric and date) on both sides, and the value that changed.
    assert json.loads(edit.before) == {"metric": "csat", "measured_on": "2026-01-01", "value": "4.00"}
    assert json.loads(edit.after) == {"metric": "csat", "measured_on": "2026-01-01", "value": "4.50"}
    assert KpiEntry.get_by_id(first).value == Decimal("4.5")


def test_delete_kpi_keeps_what_it_said_in_the_audit(db):
    account_id = services.create_account("Acme")
    entry_id = kpis.add_kpi(account_id, "retention", "91.5 %", "2026-01-01", today=TODAY)
    kpis.delete_kpi(entry_id, expected_version=1)
    assert kpis.kpi_entries(account_id) == ()
    [deleted] = events("kpi.delete")
    assert json.loads(deleted.before) == {"measured_on": "2026-01-01", "metric": "retention", "value": "91.50"}
    with pytest.raises(DomainError, match="no longer exists"):
        kpis.delete_kpi(entry_id)
    with pytest.raises(DomainError, match="not a valid KPI entry id"):
        kpis.edit_kpi("not-an-id", value="1")


def test_step_13_values_are_frozen_by_the_granted_reports_approval_but_monitoring_goes_on(db):
    account_id = services.create_account("Acme")
    run_id = run_of(account_id)
    reported = kpis.add_kpi(account_id, "revenue", "1000", "2026-01-01", step=13, today=TODAY)
    monitored = kpis.add_kpi(account_id, "revenue", "1100", "2026-02-01", step=10, today=TODAY)
    finish_steps(run_id, 15)
    with pytest.raises(WorkflowError, match="reopen that approval"):
        kpis.edit_kpi(reported, value="2000", today=TODAY)
    with pytest.raises(WorkflowError, match="reopen that approval"):
        kpis.delete_kpi(reported)
    with pytest.raises(WorkflowError, match="reopen that approval"):
        kpis.add_kpi(account_id, "revenue", "1", "2026-03-01", step=13, today=TODAY)
    assert kpis.edit_kpi(monitored, value="1200", today=TODAY) == 2
    kpis.add_kpi(account_id, "revenue", "1300", "2026-03-01", step=10, today=TODAY)
    services.reopen_approval(run_id, 15)
    assert kpis.edit_kpi(reported, value="2000", today=TODAY) == 2


# Objectives -----------------------------------------------------------------------------------------------

def test_objectives_are_added_in_order_edited_and_removed_with_audit(db):
    run_id = run_of(services.create_account("Acme"))
    first = kpis.add_objective(run_id, "Raise satisfaction", "4.5", "2026-09-30", metric="csat", actor="alice")
    second = kpis.add_objective(run_id, "Renew the contract", "Signed by Q3")
    listed = kpis.objectives(run_id)
    assert [(item.id, item.position, item.title) for item in listed] == [
        (first, 1, "Raise satisfaction"), (second, 2, "Renew the contract")]
    assert (listed[0].metric, listed[0].target, listed[0].target_value, listed[0].due_on) == (
        "csat", "4.5/5", Decimal("4.50"), date(2026, 9, 30))
    assert listed[1].metric is None and listed[1].achieved is None

    assert kpis.edit_objective(first, expected_version=1, metric="nps") == 2  # same number, new metric
    assert kpis.objectives(run_id)[0].target == "+4.5"
    assert kpis.edit_objective(first, target="40", due="") == 3
    assert (kpis.objectives(run_id)[0].target_value, kpis.objectives(run_id)[0].due_on) == (Decimal("40"), None)
    with pytest.raises(StaleEdit):
        kpis.edit_objective(first, expected_version=1, title="Other")
    with pytest.raises(DomainError, match="Unknown objective field: colour"):
        kpis.edit_objective(first, colour="red")

    kpis.remove_objective(second)
    assert [item.id for item in kpis.objectives(run_id)] == [first]
    [removed] = events("objective.remove")
    assert json.loads(removed.before)["title"] == "Renew the contract"
    assert [event.step for event in events("objective.add")] == [6, 6]
    assert len(events("objective.edit")) == 2


def test_an_account_has_a_short_list_of_objectives(db):
    run_id = run_of(services.create_account("Acme"))
    for number in range(20):
        kpis.add_objective(run_id, f"Objective {number}", "done")
    with pytest.raises(DomainError, match="at most 20 objectives"):
        kpis.add_objective(run_id, "One too many", "done")
    assert Objective.select().count() == 20


def test_objectives_freeze_with_approval_8_but_results_are_recorded_in_step_20(db):
    run_id = run_of(services.create_account("Acme"))
    objective_id = kpis.add_objective(run_id, "Raise satisfaction", "4.5", metric="csat")
    finish_steps(run_id, 8)
    with pytest.raises(WorkflowError, match="reopen that approval"):
        kpis.add_objective(run_id, "Late idea", "x")
    with pytest.raises(WorkflowError, match="reopen that approval"):
        kpis.edit_objective(objective_id, title="Changed")
    with pytest.raises(WorkflowError, match="reopen that approval"):
        kpis.remove_objective(objective_id)
    assert kpis.record_result(objective_id, "CSAT reached 4.6 in May.", True, expected_version=1, actor="eve") == 2
    item = kpis.objectives(run_id)[0]
    assert (item.result, item.achieved, item.updated_by) == ("CSAT reached 4.6 in May.", True, "eve")
    assert kpis.record_result(objective_id, "CSAT reached 4.6 in May.", True) == 2  # unchanged
    with pytest.raises(StaleEdit):
        kpis.record_result(objective_id, "No", False, expected_version=1)
    with pytest.raises(DomainError, match="control characters"):
        kpis.record_result(objective_id, "bad \x1b[2J", False)
    [result] = events("objective.result")
    assert json.loads(result.after) == {"achieved": True, "result": "CSAT reached 4.6 in May.",
                                        "title": "Raise satisfaction"}


@pytest.mark.parametrize("value", ["1e999999999", "1e100000", "-1e999999999", "9" * 5000])
@pytest.mark.parametrize("metric", ["revenue", "csat", "nps", "retention", "pipeline", "market_share"])
def test_huge_values_are_refused_in_a_short_message_that_does_not_echo_them(metric, value):
    chosen = get_metric(metric)
    with pytest.raises(DomainError) as refused:
        parse_metric_value(chosen, value)
    assert str(refused.value) == f"{chosen.label.split(' (')[0]} is out of range: use {chosen.range_text}."


def test_values_are_rounded_before_the_range_is_checked():
    with pytest.raises(DomainError, match="Revenue 10,000,000,000,000 is out of range"):
        parse_metric_value(get_metric("revenue"), "9999999999999.995")
    assert parse_metric_value(get_metric("csat"), "5.004") == Decimal("5.00")
    with pytest.raises(DomainError, match="out of range"):
        parse_metric_value(get_metric("csat"), "1e-999999999")  # rounds to 0.00, below 1


def test_an_objective_titled_with_invisible_characters_only_is_refused():
    with pytest.raises(DomainError, match="Objective cannot be empty"):
        validate_objective("\u200b\u3164", "more")
    with pytest.raises(DomainError, match="Target cannot be empty"):
        validate_objective("Grow", "\ufeff")
