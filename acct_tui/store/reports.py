"""Read queries behind the reports (steps 13-15 and 20): the portfolio at a glance and one account in full.

Both return plain frozen data that renderers (`acct_tui.reports`) and the Reports screen turn into text.
The portfolio report aggregates in SQL (grouped counts, averages, JSON option counts) and makes one pass
over the accounts, so its cost grows with the portfolio only through a handful of flat queries: no query
per account. Archived accounts are left out of every number but their count.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from peewee import JOIN, Case, fn

from acct_tui.store.kpis import KpiView, ObjectiveView, kpi_entries, objectives
from acct_tui.store.models import Account, ApprovalDecision, FieldValue, KpiEntry, Objective, Run, StepState, database, utcnow
from acct_tui.store.queries import DecisionView, RunView, overdue_counts, run_view
from acct_tui.template import ASSIGNEE_KEY, DUE_KEY, Template, packaged_template
from acct_tui.workflow import OPEN, PENDING, REJECT
from acct_tui.workflow.fields import SEGMENTS, STAGES
from acct_tui.workflow.kpi import METRIC_KEYS, METRICS, get_metric, meets_target, to_places

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

def _active(query):
    return query.where(Account.archived == False)  # noqa: E712 (Peewee expression)


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


def _option_counts(step: int, key: str) -> dict[str, int]:
    """How many active accounts chose each option of a multiple-choice field (stored as a JSON list)."""
    cursor = database.execute_sql(
        "SELECT chosen.value, COUNT(*) FROM field_value AS fv "
        "JOIN run ON run.id = fv.run_id JOIN account ON account.id = run.account_id "
        "JOIN json_each(CASE WHEN json_valid(fv.value) THEN fv.value ELSE '[]' END) AS chosen "
        "WHERE fv.step = ? AND fv.key = ? AND account.archived = 0 GROUP BY chosen.value",
        (step, key),
    )
    return {str(option): count for option, count in cursor.fetchall()}


def _gate_stats(template: Template, pending: tuple[PendingApproval, ...]) -> tuple[GateStats, ...]:
    hours = (fn.julianday(ApprovalDecision.decided_at) - fn.julianday(ApprovalDecision.submitted_at)) * 24
    query = _active(
        ApprovalDecision.select(
            ApprovalDecision.step,
            fn.COUNT(ApprovalDecision.id),
            fn.SUM(Case(None, [(ApprovalDecision.decision == REJECT, 1)], 0)),
            fn.COUNT(ApprovalDecision.submitted_at),
            fn.AVG(hours), fn.MIN(hours), fn.MAX(hours),
        )
        .join(Run, on=(ApprovalDecision.run == Run.id))
        .join(Account, on=(Run.account == Account.id))
    ).group_by(ApprovalDecision.step).tuples()
    rows = {row[0]: row[1:] for row in query}
    waiting = Counter(item.step for item in pending)
    stats = []
    for gate in template.approvals:
        decisions, rejected, timed, average, shortest, longest = rows.get(gate.number, (0, 0, 0, None, None, None))
        stats.append(GateStats(gate.number, gate.title, waiting[gate.number], decisions, decisions - rejected,
                               rejected, timed, average, shortest, longest))
    return tuple(stats)


def _pending(today: date, template: Template) -> tuple[PendingApproval, ...]:
    query = _active(
        StepState.select(Account.id, Account.name, Account.owner, StepState.number, StepState.submitted_at)
        .join(Run, on=(StepState.run == Run.id))
        .join(Account, on=(Run.account == Account.id))
        .where(StepState.status == PENDING)
    ).order_by(StepState.submitted_at, Account.name_key).tuples()
    return tuple(
        PendingApproval(account_id, name, owner, number, template.step(number).title, submitted,
                        (today - submitted.date()).days if submitted else None)
        for account_id, name, owner, number, submitted in query
    )


def _overdue_by_owner(today: date) -> tuple[OwnerOverdue, ...]:
    """Open tasks past their due date, grouped by who has them: the step's assignee, else the account owner."""
    cursor = database.execute_sql(
        "SELECT COALESCE(NULLIF(TRIM(who.value), ''), NULLIF(account.owner, ''), ?) AS owner, "
        "COUNT(*), COUNT(DISTINCT account.id) "
        "FROM field_value AS due "
        "JOIN step_state AS state ON state.run_id = due.run_id AND state.number = due.step AND state.status = ? "
        "JOIN run ON run.id = due.run_id JOIN account ON account.id = run.account_id AND account.archived = 0 "
        "LEFT JOIN field_value AS who ON who.run_id = due.run_id AND who.step = due.step AND who.key = ? "
        "WHERE due.key = ? AND due.value != '' AND due.value < ? "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        (UNASSIGNED, OPEN, ASSIGNEE_KEY, DUE_KEY, today.isoformat()),
    )
    return tuple(OwnerOverdue(*row) for row in cursor.fetchall())


def _latest_kpis() -> dict[uuid.UUID, dict[str, Decimal]]:
    """Each account's most recent value of each metric. SQLite takes the bare `value` column from the row
    that holds MAX(measured_on) (documented behaviour), and the (account, metric, date) index makes it a walk."""
    query = KpiEntry.select(KpiEntry.account, KpiEntry.metric, KpiEntry.value, fn.MAX(KpiEntry.measured_on)).group_by(
        KpiEntry.account, KpiEntry.metric
    ).tuples()
    latest: dict[uuid.UUID, dict[str, Decimal]] = {}
    for account_id, metric, value, _ in query:
        if metric in METRIC_KEYS:
            latest.setdefault(uuid.UUID(str(account_id)), {})[metric] = to_places(get_metric(metric), value)
    return latest


def _objective_counts(today: date) -> tuple[dict[uuid.UUID, tuple[int, int]], ObjectiveTotals]:
    query = _active(
        Objective.select(Objective.run, Objective.achieved, Objective.due_on < today, fn.COUNT(Objective.id))
        .join(Run, on=(Objective.run == Run.id))
        .join(Account, on=(Run.account == Account.id))
    ).group_by(Objective.run, Objective.achieved, Objective.due_on < today).tuples()
    per_run: dict[uuid.UUID, list[int]] = {}
    achieved = missed = still_open = overdue = 0
    for run_id, judged, past_due, count in query:
        entry = per_run.setdefault(run_id, [0, 0])
        entry[0] += count
        if judged is None:
            still_open += count
            overdue += count if past_due else 0
        elif judged:
            achieved += count
            entry[1] += count
        else:
            missed += count
    totals = ObjectiveTotals(achieved + missed + still_open, achieved, missed, still_open, overdue)
    return {run_id: (total, done) for run_id, (total, done) in per_run.items()}, totals


def portfolio_report(today: date | None = None, template: Template | None = None) -> PortfolioReport:
    """Every number of the portfolio report, as of `today`."""
    template = template or packaged_template()
    today = today or date.today()
    with database.atomic():  # one snapshot: every number describes the same moment
        archived = Account.select().where(Account.archived == True).count()  # noqa: E712
        base = _active(
            Account.select(
                Account.id, Account.name, Account.owner, Account.segment, Account.stage, Account.industry,
                Account.annual_revenue, Run.id, Run.done_count, Run.step_count, Run.current_step,
                Run.next_approval, Account.last_activity_at,
            ).join(Run, JOIN.LEFT_OUTER, on=(Run.account == Account.id))
        ).order_by(Account.name_key).tuples()
        rows = list(base)
        satisfaction = dict(
            FieldValue.select(FieldValue.run, FieldValue.value)
            .where((FieldValue.step == SATISFACTION[0]) & (FieldValue.key == SATISFACTION[1]) & (FieldValue.value != ""))
            .tuples()
        )
        overdue = overdue_counts(today)
        pending = _pending(today, template)
        gates = _gate_stats(template, pending)
        owners = _overdue_by_owner(today)
        latest = _latest_kpis()
        objective_counts, objective_totals = _objective_counts(today)
        history = _option_counts(*HISTORY_ISSUES)
        categories = _option_counts(*ISSUE_CATEGORIES)

    pending_by_account: dict[uuid.UUID, PendingApproval] = {}
    for item in pending:
        pending_by_account.setdefault(item.account_id, item)
    stages: Counter = Counter()
    segments: Counter = Counter()
    progress: Counter = Counter()
    ratings: Counter = Counter()
    metric_values: dict[str, list[Decimal]] = {key: [] for key in METRIC_KEYS}
    percent_sum = 0.0
    with_run = finished = 0
    lines = []
    for (account_id, name, owner, segment, stage, industry, revenue, run_id, done, total, current, next_gate,
         activity) in rows:
        stages[stage] += 1
        segments[segment] += 1
        if run_id is not None:
            with_run += 1
            percent_sum += 100 * done / total if total else 0
            progress[_progress_bucket(done, total)] += 1
            finished += current is None
        rating = satisfaction.get(run_id)
        ratings[rating or NOT_ASSESSED] += 1
        values = latest.get(account_id, {})
        for key, value in values.items():
            metric_values[key].append(value)
        waiting = pending_by_account.get(account_id)
        counted, achieved = objective_counts.get(run_id, (0, 0))
        lines.append(AccountLine(
            account_id, name, owner, segment, stage, industry, revenue, done or 0, total or 0, current,
            template.step(current).title if current else "", next_gate, waiting.submitted_at if waiting else None,
            overdue.get(run_id, 0), rating, tuple(values.get(key) for key in METRIC_KEYS), counted, achieved,
            activity,
        ))
    satisfaction_options = template.step(SATISFACTION[0]).field(SATISFACTION[1]).options
    return PortfolioReport(
        generated_at=utcnow(),
        as_of=today,
        active_accounts=len(rows),
        archived_accounts=archived,
        by_stage=_tallies(STAGES, stages),
        by_segment=_tallies(SEGMENTS, segments),
        progress=tuple(Tally(label, progress.get(label, 0)) for label, _ in PROGRESS_BUCKETS),
        average_progress=percent_sum / with_run if with_run else None,
        finished=finished,
        pending=pending,
        gates=gates,
        overdue_by_owner=owners,
        satisfaction=_tallies((*satisfaction_options, NOT_ASSESSED), ratings),
        kpis=tuple(
            KpiSummary(key, len(found), float(sum(found) / len(found)) if found else None,
                       float(min(found)) if found else None, float(max(found)) if found else None)
            for key, found in metric_values.items()
        ),
        objectives=objective_totals,
        history_issues=_ranked(template.step(HISTORY_ISSUES[0]).field(HISTORY_ISSUES[1]).options, history),
        issue_categories=_ranked(template.step(ISSUE_CATEGORIES[0]).field(ISSUE_CATEGORIES[1]).options, categories),
        accounts=tuple(lines),
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
