"""Read queries behind the reports (steps 13-15 and 20): the portfolio at a glance and one account in full.

Both return plain frozen data that renderers (`acct_tui.reports`) and the Reports screen turn into text.
The portfolio report aggregates in SQL (grouped counts, averages, JSON option counts) and makes one pass
over the accounts, so its cost grows with the portfolio only through a handful of flat queries: no query
per account. Archived accounts are left out of every number but their count.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from acct_tui.store.kpis import KpiView, ObjectiveView, kpi_entries, objectives
from acct_tui.store.models import database, utcnow
from acct_tui.store.queries import DecisionView, RunView, run_view
from acct_tui.template import ASSIGNEE_KEY, CHECKLIST, MULTI, Template, packaged_template
from acct_tui.workflow import OPEN, PENDING, REJECT
from acct_tui.workflow.fields import SEGMENTS, STAGES
from acct_tui.workflow.kpi import METRIC_KEYS, METRICS, meets_target, to_places

SATISFACTION = (4, "satisfaction")
HISTORY_ISSUES = (3, "history_issues")
ISSUE_CATEGORIES = (17, "issue_categories")
NOT_ASSESSED = "Not assessed"
UNASSIGNED = "(no owner)"
# Progress buckets by share of steps finished: (label, lowest percent included).
PROGRESS_BUCKETS = (("0 %", 0), ("1-24 %", 1), ("25-49 %", 25), ("50-74 %", 50), ("75-99 %", 75), ("100 %", 100))


class Tally(NamedTuple):
    label: str
    count: int


class PendingApproval(NamedTuple):
    account_id: uuid.UUID
    account: str
    owner: str
    step: int
    title: str
    submitted_at: datetime | None
    age_days: int | None


class GateStats(NamedTuple):
    step: int
    title: str
    pending: int
    decisions: int
    approved: int
    rejected: int
    timed: int  # decisions whose submission time is known: the turnaround figures are over these
    average_hours: float | None
    shortest_hours: float | None
    longest_hours: float | None

    @property
    def rejection_rate(self) -> float | None:
        return self.rejected / self.decisions if self.decisions else None


class OwnerOverdue(NamedTuple):
    owner: str
    tasks: int
    accounts: int


class KpiSummary(NamedTuple):
    """Each account's most recent value of one metric, summarised across the portfolio."""

    metric: str
    accounts: int
    average: float | None
    lowest: float | None
    highest: float | None


class ObjectiveTotals(NamedTuple):
    total: int
    achieved: int
    missed: int
    open: int
    overdue: int  # open (not judged) and past the due date


class AccountLine(NamedTuple):
    """One active account, for the portfolio table and the CSV export (one row per account)."""

    id: uuid.UUID
    name: str
    owner: str
    segment: str
    stage: str
    industry: str
    annual_revenue: Decimal | None
    done: int
    total: int
    current_step: int | None
    current_title: str
    next_approval: int | None
    pending_since: datetime | None
    overdue: int
    satisfaction: str | None
    latest: tuple[Decimal | None, ...]  # the latest value of each metric, in `METRICS` order
    objectives: int
    objectives_achieved: int
    last_activity: datetime


@dataclass(frozen=True, slots=True)
class PortfolioReport:
    generated_at: datetime
    as_of: date
    active_accounts: int
    archived_accounts: int
    by_stage: tuple[Tally, ...]
    by_segment: tuple[Tally, ...]
    progress: tuple[Tally, ...]
    average_progress: float | None  # percent of steps finished, averaged over accounts with a run
    finished: int
    pending: tuple[PendingApproval, ...]
    gates: tuple[GateStats, ...]
    overdue_by_owner: tuple[OwnerOverdue, ...]
    satisfaction: tuple[Tally, ...]
    kpis: tuple[KpiSummary, ...]
    objectives: ObjectiveTotals
    history_issues: tuple[Tally, ...]
    issue_categories: tuple[Tally, ...]
    accounts: tuple[AccountLine, ...]

    @property
    def overdue_tasks(self) -> int:
        return sum(owner.tasks for owner in self.overdue_by_owner)


@dataclass(frozen=True, slots=True)
class KpiSeries:
    metric: str
    points: tuple[tuple[date, Decimal], ...]  # oldest first

    @property
    def latest(self) -> tuple[date, Decimal] | None:
        return self.points[-1] if self.points else None

    @property
    def change(self) -> Decimal | None:
        """Latest minus first value, when there are at least two."""
        return self.points[-1][1] - self.points[0][1] if len(self.points) > 1 else None


@dataclass(frozen=True, slots=True)
class ObjectiveOutcome:
    objective: ObjectiveView
    measured: Decimal | None  # with a metric: its latest value on or before the due date
    measured_on: date | None
    meets_target: bool | None
    overdue: bool  # not judged yet and past its due date


@dataclass(frozen=True, slots=True)
class AccountReport:
    generated_at: datetime
    as_of: date
    run: RunView
    kpis: tuple[KpiSeries, ...]  # one per metric with at least one value, in `METRICS` order
    objectives: tuple[ObjectiveOutcome, ...]


def turnaround_hours(submitted_at: datetime | None, decided_at: datetime) -> float | None:
    """Hours from submission to decision, when the submission time is known."""
    if submitted_at is None:
        return None
    return (decided_at - submitted_at).total_seconds() / 3600


def decision_turnaround(decision: DecisionView) -> float | None:
    return turnaround_hours(decision.submitted_at, decision.decided_at)


# Portfolio -----------------------------------------------------------------------------------------------
#
# Every number is aggregated by SQLite (grouped counts, sums, averages): Python only sorts out a few hundred
# groups. The line per account (the CSV rows) is a separate, optional set of flat per-account queries, so
# the screen, which does not show them, does not pay for them. Raw SQL on purpose: at 100,000 accounts,
# turning rows into Peewee field objects (UUIDs, timestamps) costs more than SQLite's own work.
# `CROSS JOIN` fixes the join order where the planner would otherwise start from every account.

# `INDEXED BY`: statistics gathered while nothing was archived make the planner scan every account here.
ARCHIVED_RUNS = ("(SELECT run.id FROM account INDEXED BY account_archived JOIN run ON run.account_id = account.id "
                 "WHERE account.archived = 1)")
ARCHIVED_ACCOUNTS = "(SELECT id FROM account INDEXED BY account_archived WHERE archived = 1)"


def _rows(sql: str, params: tuple = ()) -> list[tuple]:
    return database.execute_sql(sql, params).fetchall()


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _tallies(labels: tuple[str, ...], counts: Counter) -> tuple[Tally, ...]:
    """Every known label in its fixed order (zeros included), then any stray stored label by count."""
    known = [Tally(label, counts.get(label, 0)) for label in labels]
    extra = sorted(((label, count) for label, count in counts.items() if label not in labels),
                   key=lambda item: (-item[1], str(item[0])))
    return tuple(known + [Tally(str(label), count) for label, count in extra])


def _ranked(options: tuple[str, ...], counts: dict[str, int]) -> tuple[Tally, ...]:
    """Options most frequent first (template order among equals); options nobody chose are kept, at 0."""
    order = {option: index for index, option in enumerate(options)}
    return tuple(sorted((Tally(option, counts.get(option, 0)) for option in options),
                        key=lambda tally: (-tally.count, order[tally.label])))


def _progress_bucket(done: int, total: int) -> str:
    percent = 100 * done // total if total else 0
    if percent == 0 and done:
        percent = 1
    return next(label for label, low in reversed(PROGRESS_BUCKETS) if percent >= low)


class _Shape(NamedTuple):
    """The portfolio's shape: counts by stage, segment and progress, from one grouped query."""

    active: int
    by_stage: Counter
    by_segment: Counter
    progress: Counter
    average_progress: float | None
    finished: int


def _shape() -> _Shape:
    stages: Counter = Counter()
    segments: Counter = Counter()
    progress: Counter = Counter()
    active = with_run = finished = 0
    percent_sum = 0.0
    for stage, segment, done, total, complete, count in _rows(
        "SELECT account.stage, account.segment, run.done_count, run.step_count, run.current_step IS NULL, COUNT(*) "
        "FROM account LEFT JOIN run ON run.account_id = account.id WHERE account.archived = 0 "
        "GROUP BY 1, 2, 3, 4, 5"
    ):
        active += count
        stages[stage] += count
        segments[segment] += count
        if total is not None:
            with_run += count
            percent_sum += count * (100 * done / total if total else 0)
            progress[_progress_bucket(done, total)] += count
            finished += count if complete else 0
    return _Shape(active, stages, segments, progress, percent_sum / with_run if with_run else None, finished)


def _option_counts(step: int, key: str, template: Template) -> Counter:
    """How many active accounts chose each option of a choice field. SQLite groups the stored values (a few
    dozen distinct ones: a label, or a JSON list of labels) and Python counts their options: much quicker
    than `json_each`, which pulls the planner off the (key, value) index."""
    is_list = template.step(step).field(key).type in (CHECKLIST, MULTI)
    counts: Counter = Counter()
    for stored, accounts in _rows(
        f"SELECT value, COUNT(*) FROM field_value WHERE key = ? AND step = ? AND value != '' "
        f"AND +run_id NOT IN {ARCHIVED_RUNS} GROUP BY value",
        (key, step),
    ):
        try:
            chosen = json.loads(stored) if is_list else [stored]
        except ValueError:
            continue
        for option in set(chosen) if isinstance(chosen, list) else ():
            counts[str(option)] += accounts
    return counts


def _pending(today: date, template: Template) -> tuple[PendingApproval, ...]:
    rows = _rows(
        "SELECT account.id, account.name, account.owner, state.number, state.submitted_at FROM step_state AS state "
        "CROSS JOIN run ON run.id = state.run_id CROSS JOIN account ON account.id = run.account_id "
        "WHERE state.status = ? AND account.archived = 0 ORDER BY state.submitted_at, account.name_key",
        (PENDING,),
    )
    pending = []
    for account_id, name, owner, number, submitted in rows:
        submitted_at = _time(submitted)
        pending.append(PendingApproval(uuid.UUID(account_id), name, owner, number, template.step(number).title,
                                       submitted_at, (today - submitted_at.date()).days if submitted_at else None))
    return tuple(pending)


def _gate_stats(template: Template, pending: tuple[PendingApproval, ...]) -> tuple[GateStats, ...]:
    hours = "(julianday(decided_at) - julianday(submitted_at)) * 24"
    rows = {row[0]: row[1:] for row in _rows(
        f"SELECT step, COUNT(*), SUM(decision = ?), COUNT(submitted_at), AVG({hours}), MIN({hours}), MAX({hours}) "
        f"FROM approval_decision WHERE +run_id NOT IN {ARCHIVED_RUNS} GROUP BY step",
        (REJECT,),
    )}
    waiting = Counter(item.step for item in pending)
    stats = []
    for gate in template.approvals:
        decisions, rejected, timed, average, shortest, longest = rows.get(gate.number, (0, 0, 0, None, None, None))
        stats.append(GateStats(gate.number, gate.title, waiting[gate.number], decisions, decisions - rejected,
                               rejected, timed, average, shortest, longest))
    return tuple(stats)


def _overdue_by_owner(today: date) -> tuple[OwnerOverdue, ...]:
    """Open tasks past their due date (one range of the step states' (status, due_on) index), by who has
    them: the step's assignee, else the account owner."""
    tasks: Counter = Counter()
    accounts: dict[str, set[str]] = {}
    for holder, account_id, count in _rows(
        "SELECT COALESCE(NULLIF(TRIM(who.value), ''), NULLIF(account.owner, ''), ?), account.id, COUNT(*) "
        "FROM step_state AS state CROSS JOIN run ON run.id = state.run_id "
        "CROSS JOIN account ON account.id = run.account_id "
        "LEFT JOIN field_value AS who ON who.run_id = state.run_id AND who.step = state.number AND who.key = ? "
        "WHERE state.status = ? AND state.due_on < ? AND account.archived = 0 GROUP BY 1, 2",
        (UNASSIGNED, ASSIGNEE_KEY, OPEN, today.isoformat()),
    ):
        tasks[holder] += count
        accounts.setdefault(holder, set()).add(account_id)
    return tuple(OwnerOverdue(holder, tasks[holder], len(accounts[holder]))
                 for holder in sorted(tasks, key=lambda holder: (-tasks[holder], holder)))


# The latest value of each metric per account. SQLite takes the bare `value` column from the row holding
# MAX(measured_on) (documented behaviour); the covering (account, metric, date, value) index makes it a walk.
LATEST_KPIS = "SELECT account_id, metric, value, MAX(measured_on) FROM kpi_entry GROUP BY account_id, metric"


def _kpi_summaries() -> tuple[KpiSummary, ...]:
    rows = {metric: rest for metric, *rest in _rows(
        f"SELECT metric, COUNT(*), AVG(value), MIN(value), MAX(value) FROM ({LATEST_KPIS}) "
        f"WHERE account_id NOT IN {ARCHIVED_ACCOUNTS} GROUP BY metric"
    )}
    return tuple(KpiSummary(key, *rows.get(key, (0, None, None, None))) for key in METRIC_KEYS)


def _objective_totals(today: date) -> ObjectiveTotals:
    # CASE, not a bare comparison: achieved and due_on may be NULL, and a SUM of nothing but NULLs is NULL.
    total, achieved, missed, overdue = _rows(
        "SELECT COUNT(*), TOTAL(CASE WHEN achieved = 1 THEN 1 END), TOTAL(CASE WHEN achieved = 0 THEN 1 END), "
        "TOTAL(CASE WHEN achieved IS NULL AND due_on < ? THEN 1 END) "
        f"FROM objective WHERE +run_id NOT IN {ARCHIVED_RUNS}",
        (today.isoformat(),),
    )[0]
    return ObjectiveTotals(total, int(achieved), int(missed), total - int(achieved) - int(missed), int(overdue))


def _account_lines(today: date, template: Template, pending: tuple[PendingApproval, ...]) -> tuple[AccountLine, ...]:
    """One line per active account, by name: a handful of flat queries joined by id in one pass."""
    accounts = _rows(
        "SELECT account.id, account.name, account.owner, account.segment, account.stage, account.industry, "
        "account.annual_revenue, account.last_activity_at, run.id, run.done_count, run.step_count, "
        "run.current_step, run.next_approval FROM account LEFT JOIN run ON run.account_id = account.id "
        "WHERE account.archived = 0 ORDER BY account.name_key"
    )
    ratings = dict(_rows("SELECT run_id, value FROM field_value WHERE key = ? AND step = ? AND value != ''",
                         (SATISFACTION[1], SATISFACTION[0])))
    overdue = dict(_rows("SELECT run_id, COUNT(*) FROM step_state WHERE status = ? AND due_on < ? GROUP BY run_id",
                         (OPEN, today.isoformat())))
    objective_counts = {run_id: (count, achieved) for run_id, count, achieved in _rows(
        "SELECT run_id, COUNT(*), TOTAL(CASE WHEN achieved = 1 THEN 1 END) FROM objective GROUP BY run_id"
    )}
    metrics = {metric.key: metric for metric in METRICS}
    latest: dict[str, dict[str, Decimal]] = {}
    for account_id, key, value, _ in _rows(LATEST_KPIS):
        if key in metrics:
            latest.setdefault(account_id, {})[key] = to_places(metrics[key], value)
    waiting_since: dict[uuid.UUID, datetime | None] = {}
    for item in pending:  # oldest first: the first one of an account is what it waits on longest
        waiting_since.setdefault(item.account_id, item.submitted_at)
    titles = {step.number: step.title for step in template.steps}
    no_values = (None,) * len(METRIC_KEYS)
    lines = []
    for (account_id, name, owner, segment, stage, industry, revenue, activity, run_id, done, total, current,
         next_gate) in accounts:
        values = latest.get(account_id)
        account_uuid = uuid.UUID(account_id)
        count, achieved = objective_counts.get(run_id, (0, 0))
        lines.append(AccountLine(
            account_uuid, name, owner, segment, stage, industry,
            None if revenue is None else Decimal(str(revenue)), done or 0, total or 0, current,
            titles[current] if current else "", next_gate, waiting_since.get(account_uuid),
            overdue.get(run_id, 0), ratings.get(run_id),
            tuple(values.get(key) for key in METRIC_KEYS) if values else no_values, count, int(achieved),
            _time(activity),
        ))
    return tuple(lines)


def portfolio_report(today: date | None = None, template: Template | None = None, *,
                     account_lines: bool = True) -> PortfolioReport:
    """Every number of the portfolio report, as of `today`. `account_lines=False` leaves out the line per
    account (the CSV rows), which the Reports screen does not show: about half the work at 100,000 accounts."""
    template = template or packaged_template()
    today = today or date.today()
    with database.atomic():  # one snapshot: every number describes the same moment
        archived = _rows("SELECT COUNT(*) FROM account WHERE archived = 1")[0][0]
        shape = _shape()
        pending = _pending(today, template)
        gates = _gate_stats(template, pending)
        owners = _overdue_by_owner(today)
        ratings = _option_counts(*SATISFACTION, template)
        kpi_summaries = _kpi_summaries()
        objective_totals = _objective_totals(today)
        history = _option_counts(*HISTORY_ISSUES, template)
        categories = _option_counts(*ISSUE_CATEGORIES, template)
        lines = _account_lines(today, template, pending) if account_lines else ()
    ratings[NOT_ASSESSED] = shape.active - sum(ratings.values())
    satisfaction_options = template.step(SATISFACTION[0]).field(SATISFACTION[1]).options
    return PortfolioReport(
        generated_at=utcnow(),
        as_of=today,
        active_accounts=shape.active,
        archived_accounts=archived,
        by_stage=_tallies(STAGES, shape.by_stage),
        by_segment=_tallies(SEGMENTS, shape.by_segment),
        progress=tuple(Tally(label, shape.progress.get(label, 0)) for label, _ in PROGRESS_BUCKETS),
        average_progress=shape.average_progress,
        finished=shape.finished,
        pending=pending,
        gates=gates,
        overdue_by_owner=owners,
        satisfaction=_tallies((*satisfaction_options, NOT_ASSESSED), ratings),
        kpis=kpi_summaries,
        objectives=objective_totals,
        history_issues=_ranked(template.step(HISTORY_ISSUES[0]).field(HISTORY_ISSUES[1]).options, history),
        issue_categories=_ranked(template.step(ISSUE_CATEGORIES[0]).field(ISSUE_CATEGORIES[1]).options, categories),
        accounts=lines,
    )


# One account ---------------------------------------------------------------------------------------------

def _series(entries: tuple[KpiView, ...]) -> tuple[KpiSeries, ...]:
    points: dict[str, list[tuple[date, Decimal]]] = {}
    for entry in entries:
        points.setdefault(entry.metric, []).append((entry.measured_on, entry.value))
    return tuple(KpiSeries(metric.key, tuple(points[metric.key])) for metric in METRICS if metric.key in points)


def _outcome(objective: ObjectiveView, series: dict[str, KpiSeries], today: date) -> ObjectiveOutcome:
    measured = measured_on = meets = None
    if objective.metric and objective.metric in series:
        due = objective.due_on
        candidates = [point for point in series[objective.metric].points if due is None or point[0] <= due]
        if candidates:
            measured_on, measured = candidates[-1]
            meets = meets_target(measured, objective.target_value)
    overdue = objective.achieved is None and objective.due_on is not None and objective.due_on < today
    return ObjectiveOutcome(objective, measured, measured_on, meets, overdue)


def account_report(account_id: uuid.UUID | str, today: date | None = None,
                   template: Template | None = None) -> AccountReport:
    """One account: its run of the steps with every answer, decisions, history, KPI trends and objectives."""
    template = template or packaged_template()
    today = today or date.today()
    with database.atomic():
        run = run_view(account_id, today, template)
        series = _series(kpi_entries(run.account.id))
        listed = objectives(run.run_id)
    by_metric = {item.metric: item for item in series}
    return AccountReport(utcnow(), today, run, series, tuple(_outcome(item, by_metric, today) for item in listed))


__all__ = [
    "AccountLine",
    "AccountReport",
    "GateStats",
    "KpiSeries",
    "KpiSummary",
    "ObjectiveOutcome",
    "ObjectiveTotals",
    "OwnerOverdue",
    "PendingApproval",
    "PortfolioReport",
    "Tally",
    "account_report",
    "decision_turnaround",
    "portfolio_report",
    "turnaround_hours",
]
