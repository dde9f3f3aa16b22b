"""The report queries: every number of the portfolio and account reports, checked against what was entered."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from decimal import Decimal

import pytest
from playhouse.test_utils import count_queries

from acct_tui.store import services
from acct_tui.store.reports import (
    KpiSummary,
    ObjectiveTotals,
    OwnerOverdue,
    Tally,
    account_report,
    portfolio_report,
)
from tests.portfolio_builder import TODAY, build_small_portfolio, run_of

pytestmark = pytest.mark.both_backends  # the same numbers from SQLite and from PostgreSQL


@pytest.fixture
def portfolio(db, monkeypatch):
    return build_small_portfolio(monkeypatch)


def test_portfolio_counts_accounts_by_stage_segment_and_progress(portfolio):
    report = portfolio_report(TODAY)
    assert (report.active_accounts, report.archived_accounts, report.as_of) == (3, 1, TODAY)
    assert report.by_stage == (
        Tally("Prospecting", 1), Tally("Onboarding", 2), Tally("Relationship building", 0),
        Tally("Account development", 0), Tally("Retention", 0), Tally("Closure", 0))
    assert dict(report.by_segment) == {"Transactional": 1, "Relationship": 0, "Strategic": 1, "Key": 1}
    # Acme 5/20 (25 %), Beta 4/20 (20 %), Gamma 0/20
    assert dict(report.progress) == {"0 %": 1, "1-24 %": 1, "25-49 %": 1, "50-74 %": 0, "75-99 %": 0, "100 %": 0}
    assert report.average_progress == pytest.approx(15.0)
    assert report.finished == 0
    assert [line.name for line in report.accounts] == ["Acme", "Beta", "Gamma"]


def test_pending_approvals_have_their_age_and_gates_their_turnaround_and_rejection_rate(portfolio):
    report = portfolio_report(TODAY)
    [pending] = report.pending
    assert (pending.account, pending.step, pending.submitted_at, pending.age_days) == (
        "Beta", 5, datetime(2026, 6, 2, 9, 0), 28)
    status_gate, *later_gates = report.gates
    assert (status_gate.step, status_gate.pending, status_gate.decisions, status_gate.approved,
            status_gate.rejected, status_gate.timed) == (5, 1, 2, 1, 1, 2)
    assert status_gate.rejection_rate == 0.5
    assert status_gate.average_hours == pytest.approx(8.0)  # rejected after 6 h, approved 10 h after resubmission
    assert status_gate.shortest_hours == pytest.approx(6.0)
    assert status_gate.longest_hours == pytest.approx(10.0)
    assert [(gate.step, gate.decisions, gate.rejection_rate, gate.average_hours) for gate in later_gates] == [
        (8, 0, None, None), (15, 0, None, None), (19, 0, None, None)]


def test_overdue_tasks_belong_to_the_assignee_else_the_account_owner(portfolio):
    report = portfolio_report(TODAY)
    assert report.overdue_by_owner == (
        OwnerOverdue("carol", 2, 1), OwnerOverdue("(no owner)", 1, 1), OwnerOverdue("alice", 1, 1))
    assert report.overdue_tasks == 4
    assert {line.name: line.overdue for line in report.accounts} == {"Acme": 1, "Beta": 2, "Gamma": 1}
    assert portfolio_report(date(2026, 6, 1)).overdue_tasks == 0  # nothing was due yet


def test_satisfaction_and_issues_are_counted_across_active_accounts(portfolio):
    report = portfolio_report(TODAY)
    assert dict(report.satisfaction) == {
        "Very Satisfied": 0, "Satisfied": 1, "Neutral": 1, "Dissatisfied": 0, "Very Dissatisfied": 0,
        "Not assessed": 1}
    assert report.history_issues == (
        Tally("Late payments", 2), Tally("Billing errors", 1), Tally("Customer complaints", 0),
        Tally("Service disruptions", 0), Tally("Quality issues", 0))
    assert all(tally.count == 0 for tally in report.issue_categories)
    assert len(report.issue_categories) == 5


def test_kpis_summarise_each_accounts_latest_value_and_objectives_are_totalled(portfolio):
    report = portfolio_report(TODAY)
    kpis = {summary.metric: summary for summary in report.kpis}
    assert kpis["csat"] == KpiSummary("csat", 2, pytest.approx(3.9), 3.0, 4.8)  # Acme's latest 4.8, Beta's 3
    assert kpis["revenue"] == KpiSummary("revenue", 1, 1000.0, 1000.0, 1000.0)
    assert kpis["nps"] == KpiSummary("nps", 0, None, None, None)
    assert report.objectives == ObjectiveTotals(total=2, achieved=0, missed=1, open=1, overdue=1)
    acme = report.accounts[0]
    assert acme.latest[:2] == (Decimal("1000.00"), Decimal("4.80"))
    assert (acme.satisfaction, acme.objectives, acme.objectives_achieved, acme.pending_since) == (
        "Satisfied", 2, 0, None)
    beta = report.accounts[1]
    assert (beta.current_step, beta.current_title, beta.next_approval, beta.pending_since) == (
        5, "Approval: Account Status", 5, datetime(2026, 6, 2, 9, 0))


def test_archiving_and_restoring_moves_an_account_in_and_out_of_every_number(portfolio):
    services.archive_account(portfolio.delta, archived=False)
    report = portfolio_report(TODAY)
    assert (report.active_accounts, report.archived_accounts) == (4, 0)
    assert dict(report.satisfaction)["Very Satisfied"] == 1
    assert {summary.metric: summary.accounts for summary in report.kpis}["csat"] == 3
    assert report.overdue_tasks == 5


def test_the_account_lines_add_up_to_the_portfolio_numbers(portfolio):
    report = portfolio_report(TODAY)
    lines = report.accounts
    assert len(lines) == report.active_accounts
    assert sum(line.overdue for line in lines) == report.overdue_tasks
    assert Counter(line.stage for line in lines) == {label: count for label, count in report.by_stage if count}
    assert Counter(line.satisfaction or "Not assessed" for line in lines) == {
        label: count for label, count in report.satisfaction if count}
    assert sum(line.objectives for line in lines) == report.objectives.total
    assert sum(line.pending_since is not None for line in lines) == len(report.pending)
    assert portfolio_report(TODAY, account_lines=False).accounts == ()


def test_the_account_lines_are_the_same_without_the_pending_list(portfolio):
    lines = portfolio_report(TODAY).accounts
    assert portfolio_report(TODAY, pending_limit=0).accounts == lines
    assert [line.id for line in lines] == [str(account) for account in (portfolio.acme, portfolio.beta,
                                                                        portfolio.gamma)]


def test_the_portfolio_report_costs_the_same_queries_whatever_its_size(db, monkeypatch):
    build_small_portfolio(monkeypatch)
    with count_queries() as small:
        portfolio_report(TODAY)
    for number in range(20):
        account = services.create_account(f"Extra {number}", owner="zed")
        services.set_field(run_of(account), 1, "due", "2026-06-01")
    with count_queries() as large:
        assert portfolio_report(TODAY).active_accounts == 23
    assert large.count == small.count


def test_an_empty_portfolio_reports_zeros_not_errors(db):
    report = portfolio_report(TODAY)
    assert (report.active_accounts, report.average_progress, report.pending, report.overdue_by_owner) == (
        0, None, (), ())
    assert all(count == 0 for _, count in report.by_stage)


def test_the_account_report_has_trends_objectives_against_results_and_decisions(portfolio):
    report = account_report(portfolio.acme, TODAY)
    assert report.run.account.name == "Acme"
    assert [(series.metric, series.points) for series in report.kpis] == [
        ("revenue", ((date(2026, 5, 1), Decimal("1000.00")),)),
        ("csat", ((date(2026, 3, 1), Decimal("4.00")), (date(2026, 5, 1), Decimal("4.50")),
                  (date(2026, 6, 20), Decimal("4.80")))),
    ]
    assert report.kpis[1].change == Decimal("0.80")
    assert report.kpis[0].change is None
    raise_csat, renew = report.objectives
    # measured on or before the due date (June 15): May's 4.5, which meets the 4.4 target
    assert (raise_csat.measured, raise_csat.measured_on, raise_csat.meets_target, raise_csat.overdue) == (
        Decimal("4.50"), date(2026, 5, 1), True, True)
    assert (renew.measured, renew.meets_target, renew.overdue, renew.objective.achieved) == (None, None, False, False)
    decisions = report.run.decisions
    assert [(decision.decision, decision.approver) for decision in decisions] == [
        ("rejected", "manager"), ("approved", "manager")]
    assert [(d.decided_at - d.submitted_at).total_seconds() / 3600 for d in decisions] == [6.0, 10.0]
    assert report.run.progress.done == 5


def test_objectives_not_judged_and_without_a_due_date_are_counted(db):
    from acct_tui.store import kpis

    run_id = run_of(services.create_account("Acme"))
    kpis.add_objective(run_id, "Grow", "more")
    kpis.add_objective(run_id, "Keep", "them", "2026-06-01")
    report = portfolio_report(TODAY)
    assert report.objectives == ObjectiveTotals(total=2, achieved=0, missed=0, open=2, overdue=1)
    assert (report.accounts[0].objectives, report.accounts[0].objectives_achieved) == (2, 0)


def test_an_objective_below_target_says_so(db):
    from acct_tui.store import kpis

    account = services.create_account("Acme")
    objective = kpis.add_objective(run_of(account), "Grow retention", "95", "2026-06-15", metric="retention")
    kpis.add_kpi(account, "retention", "90", "2026-06-01", today=TODAY)
    [outcome] = account_report(account, TODAY).objectives
    assert (outcome.objective.id, outcome.measured, outcome.meets_target) == (objective, Decimal("90.00"), False)
