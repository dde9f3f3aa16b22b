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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from peewee import JOIN, Case, Expression, Function, ModelSelect, Node, fn

from acct_tui.store.kpis import KpiView, ObjectiveView, kpi_entries, objectives
from acct_tui.store.models import (
    Account,
    ApprovalDecision,
    FieldValue,
    KpiEntry,
    Objective,
    Run,
    StepState,
    database,
    utcnow,
)
from acct_tui.store.queries import DecisionView, RunView, run_view
from acct_tui.store.templates import TemplateCache, current_template, template_versions
from acct_tui.template import ASSIGNEE_KEY, Step, Template
from acct_tui.workflow import OPEN, PENDING, REJECT
from acct_tui.workflow.field_kinds import field_kind
from acct_tui.workflow.fields import SEGMENTS, STAGES
from acct_tui.workflow.kpi import METRIC_KEYS, METRICS, meets_target, to_places

# Fields the portfolio tallies, known by key: in whichever step of a template version asks for them.
SATISFACTION = "satisfaction"
HISTORY_ISSUES = "history_issues"
ISSUE_CATEGORIES = "issue_categories"
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
    step: int  # its number in the template version the account's run follows
    title: str
    submitted_at: datetime | None
    age_days: int | None
    step_key: str = ""


class GateStats(NamedTuple):
    """One gate across the portfolio, known by its key whatever version each run follows; `step` and
    `title` are the gate's in the current version (or in the last version that had it)."""

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
    key: str = ""

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
    template_version: int | None = None  # the version of the template its run follows


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
    template: Template  # the version new runs start on: gates and answers are named and ordered as it has them
    runs_by_version: tuple[tuple[str, int, int], ...] = ()  # (template key, version, active accounts)

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


def _hours(span: timedelta) -> float:
    return span.total_seconds() / 3600


def turnaround_hours(submitted_at: datetime | None, decided_at: datetime) -> float | None:
    """Hours from submission to decision, when the submission time is known."""
    if submitted_at is None:
        return None
    return _hours(decided_at - submitted_at)


def decision_turnaround(decision: DecisionView) -> float | None:
    return turnaround_hours(decision.submitted_at, decision.decided_at)


# Portfolio -----------------------------------------------------------------------------------------------
#
# Every number is aggregated in SQL (grouped counts, averages) wherever standard SQL can say it, so Python only
# sorts out a few hundred groups; turnaround hours, which SQLite and PostgreSQL spell differently, are worked
# out here from the two timestamps. The line per account (the CSV rows) is a separate, optional query, so the
# screen, which does not show them, does not pay for them.
#
# Portable by rule: every query is built with Peewee's query builder from standard SQL (joins, subqueries,
# COUNT/AVG/MIN/MAX, CASE, COALESCE, NULLIF, TRIM) and runs unchanged on SQLite and PostgreSQL: no planner
# hints, no date functions, no bare column beside an aggregate. Each query has a builder of its own
# (`*_query`), so a test compiles every one of them for PostgreSQL.


def _active() -> Expression:
    return Account.archived == False  # noqa: E712 (Peewee expression)


def _archived() -> Expression:
    return Account.archived == True  # noqa: E712 (Peewee expression)


def archived_accounts_query() -> ModelSelect:
    return Account.select(Account.id).where(_archived())


def archived_runs_query() -> ModelSelect:
    """The runs of archived accounts, which every number but the archived count leaves out."""
    return Run.select(Run.id).where(Run.account.in_(archived_accounts_query()))


def _count_where(condition: Expression) -> Function:
    """How many rows meet `condition`: 0, not NULL, when none do."""
    return fn.COUNT(Case(None, ((condition, 1),)))


def archived_count_query() -> ModelSelect:
    return Account.select(fn.COUNT(Account.id)).where(_archived())


def shape_query() -> ModelSelect:
    """Active accounts grouped by stage, segment and progress: a few thousand groups whatever the size."""
    finished = Run.current_step.is_null()
    return (
        Account.select(Account.stage, Account.segment, Run.done_count, Run.step_count, finished,
                       fn.COUNT(Account.id))
        .join(Run, JOIN.LEFT_OUTER, on=(Run.account == Account.id))
        .where(_active())
        .group_by(Account.stage, Account.segment, Run.done_count, Run.step_count, finished)
    )


def template_versions_query() -> ModelSelect:
    """Active accounts by the template version their run follows."""
    return (
        Run.select(Run.template_name, Run.template_version, fn.COUNT(Run.id))
        .join(Account, on=(Run.account == Account.id))
        .where(_active())
        .group_by(Run.template_name, Run.template_version)
        .order_by(Run.template_name, Run.template_version)
    )


def option_values_query(step_key: str, key: str) -> ModelSelect:
    """The stored values of a choice field across active accounts, each with how many chose it."""
    return (
        # COUNT(run), not COUNT(id): an index on (key, step_key, value, run) then answers it without the table.
        FieldValue.select(FieldValue.value, fn.COUNT(FieldValue.run))
        .where((FieldValue.key == key) & (FieldValue.step_key == step_key) & (FieldValue.value != "")
               & FieldValue.run.not_in(archived_runs_query()))
        .group_by(FieldValue.value)
    )


def pending_query() -> ModelSelect:
    """Approvals waiting for a decision, oldest first: `queries.approval_queue` without the run ids, step
    coverage and submitters the report does not show (a UUID per row is most of that query's time)."""
    return (
        StepState.select(Account.id, Account.name, Account.owner, StepState.step_key, StepState.submitted_at,
                         Run.template_name, Run.template_version)
        .join(Run, on=(StepState.run == Run.id))
        .join(Account, on=(Run.account == Account.id))
        .where((StepState.status == PENDING) & _active())
        .order_by(StepState.submitted_at, Account.name_key)
    )


def decisions_query() -> ModelSelect:
    """Per gate, over the decisions of active accounts: how many, how many rejected, and the turnaround
    (seconds from submission to decision, kept on each decision) counted, averaged, shortest and longest."""
    seconds = ApprovalDecision.turnaround_seconds
    return (
        ApprovalDecision.select(
            ApprovalDecision.step_key, fn.COUNT(ApprovalDecision.id),
            _count_where(ApprovalDecision.decision == REJECT),
            fn.COUNT(seconds), fn.AVG(seconds), fn.MIN(seconds), fn.MAX(seconds),
        )
        .where(ApprovalDecision.run.not_in(archived_runs_query()))
        .group_by(ApprovalDecision.step_key)
    )


def overdue_by_holder_query(today: date) -> ModelSelect:
    """Open tasks past their due date (one range of the step states' (status, due_on) index), counted by who
    has them: the step's assignee, else the account owner."""
    who = FieldValue.alias("who")
    # Grouped by its alias: written out again, the expression would bind its parameters again, and PostgreSQL
    # with server-side parameters does not take `COALESCE(.., $1)` and `COALESCE(.., $4)` for the same group.
    holder = fn.COALESCE(fn.NULLIF(fn.TRIM(who.value), ""), fn.NULLIF(Account.owner, ""), UNASSIGNED)
    holder = holder.alias("holder")
    return (
        StepState.select(holder, fn.COUNT(StepState.id), fn.COUNT(Account.id.distinct()))
        .join(Run, on=(StepState.run == Run.id))
        .join(Account, on=(Run.account == Account.id))
        .join(who, JOIN.LEFT_OUTER, on=((who.run == StepState.run) & (who.step_key == StepState.step_key)
                                        & (who.key == ASSIGNEE_KEY)))
        .where((StepState.status == OPEN) & (StepState.due_on < today) & _active())
        .group_by(holder)
    )


def _latest_kpis(*columns: Node) -> ModelSelect:
    """`columns` of each account's latest entry per metric: the entry dated MAX(measured_on) of its account
    and metric: one walk of the (account, metric, date) index for the dates, then one look-up per pair."""
    last = (KpiEntry.select(KpiEntry.account, KpiEntry.metric, fn.MAX(KpiEntry.measured_on).alias("measured_on"))
            .group_by(KpiEntry.account, KpiEntry.metric)
            .alias("last"))
    return KpiEntry.select(*columns).join(last, on=(
        (KpiEntry.account == last.c.account_id) & (KpiEntry.metric == last.c.metric)
        & (KpiEntry.measured_on == last.c.measured_on)))


def kpi_summary_query() -> ModelSelect:
    return (
        _latest_kpis(KpiEntry.metric, fn.COUNT(KpiEntry.id), fn.AVG(KpiEntry.value), fn.MIN(KpiEntry.value),
                     fn.MAX(KpiEntry.value))
        .where(KpiEntry.account.not_in(archived_accounts_query()))
        .group_by(KpiEntry.metric)
    )


def objective_totals_query(today: date) -> ModelSelect:
    return (
        Objective.select(fn.COUNT(Objective.id), _count_where(Objective.achieved == True),  # noqa: E712
                         _count_where(Objective.achieved == False),  # noqa: E712
                         _count_where(Objective.achieved.is_null() & (Objective.due_on < today)))
        .where(Objective.run.not_in(archived_runs_query()))
    )


def account_lines_query(today: date, satisfaction_step: str | None) -> ModelSelect:
    """One row per active account, by name, with everything its line shows: the per-run and per-account
    figures are grouped subqueries, left-joined, so nothing is matched up row by row in Python.
    `satisfaction_step` is the key of the step that asks for the satisfaction rating."""
    rating = FieldValue.alias("rating")
    # COUNT(run): the (status, due_on, run) index holds it, so the table itself is not read.
    overdue = (StepState.select(StepState.run, fn.COUNT(StepState.run).alias("tasks"))
               .where((StepState.status == OPEN) & (StepState.due_on < today))
               .group_by(StepState.run)
               .alias("overdue"))
    goals = (Objective.select(Objective.run, fn.COUNT(Objective.id).alias("total"),
                              _count_where(Objective.achieved == True).alias("achieved"))  # noqa: E712
             .group_by(Objective.run)
             .alias("goals"))
    # One column per metric: each account has at most one latest entry per metric, so MAX picks it.
    latest = (_latest_kpis(KpiEntry.account, *(
        fn.MAX(Case(KpiEntry.metric, ((metric, KpiEntry.value),))).alias(metric) for metric in METRIC_KEYS))
              .group_by(KpiEntry.account)
              .alias("latest"))
    return (
        Account.select(Account.id, Account.name, Account.owner, Account.segment, Account.stage, Account.industry,
                       Account.annual_revenue, Account.last_activity_at, Run.done_count, Run.step_count,
                       Run.current_step, Run.next_approval, rating.value, overdue.c.tasks, goals.c.total,
                       goals.c.achieved, Run.template_name, Run.template_version,
                       *(getattr(latest.c, metric) for metric in METRIC_KEYS))
        .join(Run, JOIN.LEFT_OUTER, on=(Run.account == Account.id))
        .join(rating, JOIN.LEFT_OUTER, on=((rating.run == Run.id) & (rating.step_key == satisfaction_step)
                                           & (rating.key == SATISFACTION) & (rating.value != "")))
        .join(overdue, JOIN.LEFT_OUTER, on=(overdue.c.run_id == Run.id))
        .join(goals, JOIN.LEFT_OUTER, on=(goals.c.run_id == Run.id))
        .join(latest, JOIN.LEFT_OUTER, on=(latest.c.account_id == Account.id))
        .where(_active())
        .order_by(Account.name_key)
    )


def _rows(query: ModelSelect) -> list[tuple]:
    return list(query.tuples())


def _driver_rows(query: ModelSelect) -> Iterable[tuple]:
    """The rows as the database driver returns them, for the two queries with a row per account or per
    decision: the few columns that need it go through their field's own converter (`python_value`), the work
    `.tuples()` does on every column of every row, which would cost more than the query at 100,000 accounts."""
    return database.execute(query)


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
    for stage, segment, done, total, complete, count in _rows(shape_query()):
        active += count
        stages[stage] += count
        segments[segment] += count
        if total is not None:
            with_run += count
            percent_sum += count * (100 * done / total if total else 0)
            progress[_progress_bucket(done, total)] += count
            finished += count if complete else 0
    return _Shape(active, stages, segments, progress, percent_sum / with_run if with_run else None, finished)


def _choice_field(template: Template, key: str) -> tuple[str | None, tuple[str, ...], bool]:
    """The key of the step asking for the choice field `key`, its options, and whether it holds a list; a
    template version without that field has no step and no options."""
    found = template.find_field(key)
    if found is None:
        return None, (), False
    step, field = found
    return step.key, field.options, field_kind(field).holds_list


def _option_counts(key: str, template: Template) -> Counter:
    """How many active accounts chose each option of a choice field. SQL groups the stored values (a few
    dozen distinct ones: a label, or a JSON list of labels) and Python counts their options: portable, and
    quicker than unpacking the JSON lists in SQL."""
    step_key, _, is_list = _choice_field(template, key)
    counts: Counter = Counter()
    if step_key is None:
        return counts
    for stored, accounts in _rows(option_values_query(step_key, key)):
        try:
            chosen = json.loads(stored) if is_list else [stored]
        except ValueError:
            continue
        for option in set(chosen) if isinstance(chosen, list) else ():
            counts[str(option)] += accounts
    return counts


def _pending(today: date, templates: TemplateCache) -> tuple[PendingApproval, ...]:
    pending = []
    for account_id, name, owner, step_key, submitted_at, template_name, version in _rows(pending_query()):
        gate = templates.get(template_name, version).step_by_key(step_key)
        if gate is not None:
            pending.append(PendingApproval(account_id, name, owner, gate.number, gate.title, submitted_at,
                                           (today - submitted_at.date()).days if submitted_at else None, gate.key))
    return tuple(pending)


def _gates_by_key(template: Template, templates: TemplateCache) -> dict[str, Step]:
    """Every gate by key: the current version's in its order, then gates only older versions have."""
    gates = {gate.key: gate for gate in template.approvals}
    for row in reversed(template_versions()):
        for gate in templates.get(row.name, row.version).approvals:
            gates.setdefault(gate.key, gate)
    return gates


def _gate_stats(template: Template, templates: TemplateCache,
                pending: tuple[PendingApproval, ...]) -> tuple[GateStats, ...]:
    """Decisions and waiting approvals per gate, a gate being the same gate in every version by its key."""
    per_gate = {step_key: rest for step_key, *rest in _rows(decisions_query())}
    waiting = Counter(item.step_key for item in pending)
    current = {gate.key for gate in template.approvals}
    stats = []
    for key, gate in _gates_by_key(template, templates).items():
        if key not in current and key not in per_gate and not waiting[key]:
            continue  # a gate of an older version that no active run has reached
        decided, rejected, timed, average, shortest, longest = per_gate.get(key, (0, 0, 0, None, None, None))
        hours = tuple(None if seconds is None else float(seconds) / 3600 for seconds in (average, shortest, longest))
        stats.append(GateStats(gate.number, gate.title, waiting[key], decided, decided - int(rejected),
                               int(rejected), timed, *hours, key))
    return tuple(stats)


def _overdue_by_owner(today: date) -> tuple[OwnerOverdue, ...]:
    owners = [OwnerOverdue(*row) for row in _rows(overdue_by_holder_query(today))]
    return tuple(sorted(owners, key=lambda owner: (-owner.tasks, owner.owner)))


def _number(value: object) -> float | None:
    return None if value is None else float(value)


def _kpi_summaries() -> tuple[KpiSummary, ...]:
    rows = {metric: (count, _number(average), _number(lowest), _number(highest))
            for metric, count, average, lowest, highest in _rows(kpi_summary_query())}
    return tuple(KpiSummary(key, *rows.get(key, (0, None, None, None))) for key in METRIC_KEYS)


def _objective_totals(today: date) -> ObjectiveTotals:
    total, achieved, missed, overdue = _rows(objective_totals_query(today))[0]
    return ObjectiveTotals(total, achieved, missed, total - achieved - missed, overdue)


NO_VALUES = (None,) * len(METRICS)


def _latest_values(values: list) -> tuple[Decimal | None, ...]:
    """Each metric's latest value, with the metric's decimals; most accounts have none yet."""
    if values.count(None) == len(values):
        return NO_VALUES
    return tuple(None if value is None else to_places(metric, value) for metric, value in zip(METRICS, values))


def _account_lines(today: date, template: Template, templates: TemplateCache,
                   pending: tuple[PendingApproval, ...]) -> tuple[AccountLine, ...]:
    """One line per active account, by name, from one query; each step named as its run's version names it."""
    waiting_since: dict[uuid.UUID, datetime | None] = {}
    for item in pending:  # oldest first: the first one of an account is what it waits on longest
        waiting_since.setdefault(item.account_id, item.submitted_at)
    to_uuid, to_decimal, to_time = (field.python_value
                                    for field in (Account.id, Account.annual_revenue, Account.last_activity_at))
    lines = []
    query = account_lines_query(today, _choice_field(template, SATISFACTION)[0])
    for (account_id, name, owner, segment, stage, industry, revenue, activity, done, total, current, next_gate,
         rating, overdue, objectives_set, achieved, template_name, version, *latest) in _driver_rows(query):
        account_id = to_uuid(account_id)
        title = templates.get(template_name, version).step(current).title if current else ""
        lines.append(AccountLine(
            account_id, name, owner, segment, stage, industry, to_decimal(revenue), done or 0, total or 0, current,
            title, next_gate, waiting_since.get(account_id), overdue or 0, rating,
            _latest_values(latest),
            objectives_set or 0, achieved or 0, to_time(activity), version,
        ))
    return tuple(lines)


def portfolio_report(today: date | None = None, *, account_lines: bool = True) -> PortfolioReport:
    """Every number of the portfolio report, as of `today`. `account_lines=False` leaves out the line per
    account (the CSV rows), which the Reports screen does not show: about half the work at 100,000 accounts.

    Runs may follow different versions of the template: gates and tallied fields are matched by key, and
    labelled and ordered as the current version has them."""
    today = today or date.today()
    templates = TemplateCache()
    with database.atomic():  # one snapshot: every number describes the same moment
        template = current_template()
        archived = archived_count_query().scalar()
        shape = _shape()
        pending = _pending(today, templates)
        gates = _gate_stats(template, templates, pending)
        owners = _overdue_by_owner(today)
        ratings = _option_counts(SATISFACTION, template)
        kpi_summaries = _kpi_summaries()
        objective_totals = _objective_totals(today)
        history = _option_counts(HISTORY_ISSUES, template)
        categories = _option_counts(ISSUE_CATEGORIES, template)
        lines = _account_lines(today, template, templates, pending) if account_lines else ()
        runs_by_version = tuple(_rows(template_versions_query()))
    ratings[NOT_ASSESSED] = shape.active - sum(ratings.values())
    satisfaction_options = _choice_field(template, SATISFACTION)[1]
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
        history_issues=_ranked(_choice_field(template, HISTORY_ISSUES)[1], history),
        issue_categories=_ranked(_choice_field(template, ISSUE_CATEGORIES)[1], categories),
        accounts=lines,
        template=template,
        runs_by_version=runs_by_version,
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


def account_report(account_id: uuid.UUID | str, today: date | None = None) -> AccountReport:
    """One account: its run of the steps with every answer, decisions, history, KPI trends and objectives,
    read with the template version the run follows (`report.run.template`)."""
    today = today or date.today()
    with database.atomic():
        run = run_view(account_id, today)
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
