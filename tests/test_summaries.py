"""The report summaries stay exact: after any sequence of changes through the services (saves, done and
reopened steps, decisions, archive and restore, KPI values, objectives and their results, undo and redo),
the summaries the changes kept equal a recomputation from scratch; `db check` says when they do not, and
`--repair` rebuilds them."""

from __future__ import annotations

import dataclasses
import sqlite3
import sys
import uuid
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portfolio_builder import finish_steps, run_of

from acct_tui.errors import DomainError
from acct_tui.store import kpis, queries, services, summaries, undo
from acct_tui.store.db import write_transaction
from acct_tui.store.maintenance import check_database
from acct_tui.store.models import Objective, SummaryPart, SummaryTotal
from acct_tui.store.reports import portfolio_report
from acct_tui.template import packaged_template
from acct_tui.workflow import WorkflowError

pytestmark = pytest.mark.both_backends  # kept by the same code on SQLite and PostgreSQL

TEMPLATE = packaged_template()
GATES = [step.number for step in TEMPLATE.approvals]
TASKS = [step.number for step in TEMPLATE.steps if not step.is_approval]
ACCOUNTS = 3
PEOPLE = ("", "ana", " ana ", "bob")


def _options(key: str) -> list[str]:
    return list(TEMPLATE.find_field(key)[1].options)


field_saves = st.one_of(
    st.tuples(st.just("due"), st.sampled_from(TASKS), st.sampled_from(["", "2020-01-02", "2026-01-01", "2999-12-31"])),
    st.tuples(st.just("assignee"), st.sampled_from(TASKS), st.sampled_from(PEOPLE)),
    st.tuples(st.just(summaries.SATISFACTION), st.just(4), st.sampled_from(["", *_options(summaries.SATISFACTION)])),
    st.tuples(st.just(summaries.HISTORY_ISSUES), st.just(3),
              st.lists(st.sampled_from(_options(summaries.HISTORY_ISSUES)), max_size=3, unique=True)),
    st.tuples(st.just(summaries.ISSUE_CATEGORIES), st.just(17),
              st.lists(st.sampled_from(_options(summaries.ISSUE_CATEGORIES)), max_size=2, unique=True)),
)
changes = st.lists(st.one_of(
    st.tuples(st.just("save"), st.integers(0, ACCOUNTS - 1), field_saves),
    st.tuples(st.just("finish"), st.integers(0, ACCOUNTS - 1), st.sampled_from([4, 5, 8, 12, 15, 20])),
    st.tuples(st.just("complete"), st.integers(0, ACCOUNTS - 1), st.sampled_from(TASKS)),
    st.tuples(st.just("reopen"), st.integers(0, ACCOUNTS - 1), st.sampled_from(TEMPLATE.steps).map(lambda s: s.number)),
    st.tuples(st.just("reject"), st.integers(0, ACCOUNTS - 1), st.sampled_from(GATES)),
    st.tuples(st.just("archive"), st.integers(0, ACCOUNTS - 1), st.booleans()),
    st.tuples(st.just("edit"), st.integers(0, ACCOUNTS - 1), st.tuples(st.sampled_from(PEOPLE),
                                                                       st.sampled_from(["Prospect", "Onboarding"]))),
    st.tuples(st.just("kpi"), st.integers(0, ACCOUNTS - 1), st.tuples(
        st.sampled_from(["nps", "csat", "revenue"]), st.sampled_from(["12", "-3", "4.5", "1250000.55"]),
        st.sampled_from([date(2026, 1, 1), date(2026, 3, 1), date(2026, 2, 1)]))),
    st.tuples(st.just("objective"), st.integers(0, ACCOUNTS - 1), st.sampled_from([None, "2020-01-01", "2999-01-01"])),
    st.tuples(st.just("result"), st.integers(0, ACCOUNTS - 1), st.sampled_from([True, False, None, "remove"])),
    st.tuples(st.just("undo"), st.integers(0, ACCOUNTS - 1), st.sampled_from(["undo", "redo"])),
), min_size=1, max_size=12)


def _apply(kind: str, account, argument) -> None:
    run = run_of(account)
    if kind == "save":
        key, step, value = argument
        services.set_field(run, step, key, value)
    elif kind == "finish":
        finish_steps(run, argument)
    elif kind == "complete":
        services.complete_step(run, argument)
    elif kind == "reopen":
        services.reopen_step(run, argument)
    elif kind == "reject":
        services.reject(run, argument, "Not yet.", actor="manager")
    elif kind == "archive":
        services.archive_account(account, argument)
    elif kind == "edit":
        owner, stage = argument
        services.edit_account(account, owner=owner, stage=stage)
    elif kind == "kpi":
        metric, value, measured_on = argument
        kpis.add_kpi(account, metric, value, measured_on, today=date(2026, 6, 1))
    elif kind == "objective":
        kpis.add_objective(run, "Raise NPS", "+10", argument)
    elif kind == "result":
        objective = Objective.select().where(Objective.run == run).order_by(Objective.position).first()
        if objective is None:
            return
        if argument == "remove":
            kpis.remove_objective(objective.id)
        else:
            kpis.record_result(objective.id, "Measured.", argument)
    else:
        plan = undo.next_plan(argument)
        if plan is not None:
            undo.carry_out(plan.change, argument)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(steps=changes)
def test_the_summaries_equal_a_recomputation_after_any_changes(db, steps):
    batch = uuid.uuid4().hex[:8]  # each example adds accounts to the same database
    accounts = [services.create_account(f"Account {index} {batch}", owner="carla") for index in range(ACCOUNTS)]
    for kind, index, argument in steps:
        try:
            _apply(kind, accounts[index], argument)
        except (DomainError, WorkflowError):
            pass  # refused: nothing was written, so the summaries must still be exact
        assert summaries.differences() == [], (kind, argument)
        assert queries.approval_queue_count() == len(queries.approval_queue()), (kind, argument)


def test_a_transaction_of_many_changes_refreshes_each_account_once_and_a_rolled_back_one_not_at_all(db, monkeypatch):
    refreshed: list[set] = []
    refresh = summaries.refresh
    monkeypatch.setattr(summaries, "refresh", lambda accounts: refreshed.append(set(accounts)) or refresh(accounts))
    with write_transaction():  # as the demo load makes its changes: many services in one transaction
        first = services.create_account("First", owner="ana")
        second = services.create_account("Second")
        services.edit_account(first, segment="Key")
        services.archive_account(second)
    assert refreshed == [{first, second}]
    assert summaries.differences() == []

    with pytest.raises(DomainError), write_transaction():
        services.edit_account(first, owner="bob")
        raise DomainError("the user changed their mind")
    services.archive_account(second, archived=False)
    assert refreshed[1:] == [{second}]  # nothing left over from the transaction that rolled back
    assert summaries.differences() == []


def test_the_report_reads_the_same_numbers_after_a_rebuild(db):
    account = services.create_account("Contoso", owner="ana")
    run = run_of(account)
    finish_steps(run, 8)
    services.set_field(run, 9, "due", "2020-01-01")
    kpis.add_kpi(account, "nps", "42", "2026-01-01")
    kept = portfolio_report(date(2026, 6, 1))
    with write_transaction():
        summaries.rebuild()
    rebuilt = portfolio_report(date(2026, 6, 1))
    assert kept.overdue_tasks == 1 and [kpi.accounts for kpi in kept.kpis if kpi.metric == "nps"] == [1]
    assert kept.__class__(**{**vars_of(kept), "generated_at": rebuilt.generated_at}) == rebuilt


def vars_of(report) -> dict:
    return {name: getattr(report, name) for name in report.__dataclass_fields__}


@pytest.mark.sqlite_only
def test_db_check_finds_summaries_that_differ_and_repair_rebuilds_them(db, db_path):
    account = services.create_account("Contoso", owner="ana")
    services.set_field(run_of(account), 1, "due", "2020-01-01")
    assert check_database(db_path).healthy
    with write_transaction():
        SummaryPart.delete().where(SummaryPart.topic == summaries.OVERDUE_TASK).execute()
        SummaryTotal.update(count=SummaryTotal.count + 1).where(SummaryTotal.topic == summaries.STAGE).execute()
    health = check_database(db_path)
    assert [problem for problem in health.problems if "summaries" in problem and "--repair" in problem]
    assert [problem for problem in health.problems if "totals" in problem]
    from acct_tui.store.maintenance import repair_summaries

    repair_summaries()
    assert check_database(db_path).healthy
    connection = sqlite3.connect(db_path)
    assert connection.execute("SELECT COUNT(*) FROM summary_part WHERE topic = 'task'").fetchone() == (1,)
    connection.close()


def _generate(path, accounts: int) -> None:
    """The benchmark's generator (bench/generate.py), which writes rows without the services."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("bench_generate",
                                                  Path(__file__).resolve().parents[1] / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses and worker processes look the module up by name
    try:
        spec.loader.exec_module(module)
        module.generate(path, accounts, today=date(2026, 6, 1))
    finally:
        del sys.modules[spec.name]


def _exports(today: date) -> dict[str, str]:
    from acct_tui.reports import render_portfolio

    report = dataclasses.replace(portfolio_report(today), generated_at=datetime(2026, 6, 1, 12, 0))
    return {fmt: render_portfolio(report, fmt) for fmt in ("json", "csv", "md", "html")}


@pytest.mark.sqlite_only
def test_a_generated_portfolio_has_exact_summaries_and_the_same_exports_after_changes_and_a_rebuild(tmp_path):
    from acct_tui.store.db import close_database, open_database
    from acct_tui.store.models import Account, Run

    path = tmp_path / "generated.db"
    _generate(path, 300)
    open_database(path)
    try:
        assert summaries.differences() == []
        before = _exports(date(2026, 6, 1))
        accounts = [account for (account,) in Account.select(Account.id).order_by(Account.name_key).limit(6).tuples()]
        services.archive_account(accounts[0])
        services.edit_account(accounts[1], owner="", stage="Onboarding")
        run = Run.get(Run.account == accounts[2]).id
        for change in (lambda: services.set_field(run, 20, "due", "2020-01-01"),
                       lambda: kpis.add_kpi(accounts[3], "nps", "77", "2026-05-01", today=date(2026, 6, 1))):
            try:
                change()
            except DomainError:
                pass
        kept = _exports(date(2026, 6, 1))
        assert kept != before
        assert summaries.differences() == []
        with write_transaction():
            summaries.rebuild()
        assert _exports(date(2026, 6, 1)) == kept
    finally:
        close_database()
