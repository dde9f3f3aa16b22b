"""Read queries behind the reports (steps 13-15 and 20): the portfolio at a glance and one account in full.

Both return plain frozen data that renderers (`acct_tui.reports`) and the Reports screen turn into text.
The portfolio report reads the summaries every change keeps (`acct_tui.store.summaries`), so its figures cost
a few small reads whatever the portfolio's size; its line per account (the CSV rows) is one ordered pass over
the accounts and one pass over each figure they show, no query per account. Archived accounts are left out
of every number but their count.
"""

from __future__ import annotations

import gc
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from operator import getitem
from typing import Callable, NamedTuple, TypeVar

from peewee import JOIN, Case, Expression, ModelSelect, fn

from acct_tui.store import summaries
from acct_tui.store.kpis import KpiView, ObjectiveView, kpi_entries, objectives
from acct_tui.store.models import (
    Account,
    FieldValue,
    Run,
    StepState,
    SummaryPart,
    SummaryTotal,
    TemplateVersion,
    database,
    utcnow,
)
from acct_tui.store.queries import DecisionView, RunView, run_view
from acct_tui.store.templates import TemplateCache, current_template
from acct_tui.store.summaries import HISTORY_ISSUES, ISSUE_CATEGORIES, SATISFACTION
from acct_tui.template import Step, Template
from acct_tui.workflow import PENDING
from acct_tui.workflow.field_kinds import field_kind
from acct_tui.workflow.fields import SEGMENTS, STAGES
from acct_tui.workflow.kpi import METRIC_KEYS, METRICS, Metric, meets_target, to_places

NOT_ASSESSED = "Not assessed"
T = TypeVar("T")
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

    id: str  # the account's id as text, as `str(uuid)` writes it
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
    pending_count: int = 0  # every approval waiting, also when `pending` lists only the oldest

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
# The figures are read from the summaries every change keeps up to date (`acct_tui.store.summaries`): one
# read of the totals (a few hundred rows), an index seek for each lowest and highest value, and one range of
# the parts for what depends on the day (overdue tasks and objectives). Archived accounts have no parts, so
# no query leaves them out. The line per account (the CSV rows) comes from separate, optional queries, so
# the screen, which does not show them, does not pay for them.
#
# Portable by rule: every query is built with Peewee's query builder from standard SQL (joins, subqueries,
# COUNT/SUM/MIN/MAX, CASE) and runs unchanged on SQLite and PostgreSQL: no planner hints, no date functions,
# no bare column beside an aggregate. Each query has a builder of its own (`*_query`), so a test compiles
# every one of them for PostgreSQL.


def _active() -> Expression:
    return Account.archived == False  # noqa: E712 (Peewee expression)


def archived_count_query() -> ModelSelect:
    # COUNT(archived), not COUNT(id): the index on `archived` answers it without reading the table.
    return Account.select(fn.COUNT(Account.archived)).where(Account.archived == True)  # noqa: E712


def active_count_query() -> ModelSelect:
    return Account.select(fn.COUNT(Account.archived)).where(_active())


def totals_query() -> ModelSelect:
    """Every summary total: each label's count and exact total over the active accounts."""
    return SummaryTotal.select(SummaryTotal.topic, SummaryTotal.key, SummaryTotal.detail, SummaryTotal.count,
                               SummaryTotal.total)


def lowest_query(topic: str, key: str) -> ModelSelect:
    """The lowest value under a label, by the parts' (topic, key, low) index: a seek, whatever the size."""
    return (SummaryPart.select(SummaryPart.low)
            .where((SummaryPart.topic == topic) & (SummaryPart.key == key) & SummaryPart.low.is_null(False))
            .order_by(SummaryPart.low).limit(1))


def highest_query(topic: str, key: str) -> ModelSelect:
    return (SummaryPart.select(SummaryPart.high)
            .where((SummaryPart.topic == topic) & (SummaryPart.key == key) & SummaryPart.high.is_null(False))
            .order_by(SummaryPart.high.desc()).limit(1))


def overdue_by_holder_query(today: date) -> ModelSelect:
    """Open tasks past their due date (one range of the parts' (topic, due_on) index), counted by who has
    them: the step's assignee, else the account owner."""
    return (SummaryPart.select(SummaryPart.key, fn.SUM(SummaryPart.count), fn.COUNT(SummaryPart.account.distinct()))
            .where((SummaryPart.topic == summaries.OVERDUE_TASK) & (SummaryPart.due_on < today))
            .group_by(SummaryPart.key))


def objectives_overdue_query(today: date) -> ModelSelect:
    """Objectives not judged yet and past their due date."""
    return (SummaryPart.select(fn.SUM(SummaryPart.count))
            .where((SummaryPart.topic == summaries.OBJECTIVE_DUE) & (SummaryPart.due_on < today)))


def installed_versions_query() -> ModelSelect:
    """Every installed template version, oldest first."""
    return (TemplateVersion.select(TemplateVersion.name, TemplateVersion.version)
            .order_by(TemplateVersion.name, TemplateVersion.version))


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


def account_lines_query() -> ModelSelect:
    """Every active account with its run's figures, by name: the rows of the line per account. What else a
    line shows is read by the queries below, one pass each, and matched up by id in Python: joined here, their
    100,000 index look-ups cost SQLite more than reading them whole."""
    return (
        Account.select(Account.id, Account.name, Account.owner, Account.segment, Account.stage, Account.industry,
                       Account.annual_revenue, Account.last_activity_at, Run.id, Run.done_count, Run.step_count,
                       Run.current_step, Run.next_approval, Run.template_name, Run.template_version)
        .join(Run, JOIN.LEFT_OUTER, on=(Run.account == Account.id))
        .where(_active())
        .order_by(Account.name_key)
    )


def ratings_query(satisfaction_step: str | None) -> ModelSelect:
    """Each run's satisfaction rating, asked in the step `satisfaction_step` (by the field values' (key,
    step_key, value, run) index alone)."""
    return (FieldValue.select(FieldValue.run, FieldValue.value)
            .where((FieldValue.key == SATISFACTION) & (FieldValue.step_key == satisfaction_step)
                   & (FieldValue.value != "")))


def latest_values_query() -> ModelSelect:
    """Each account's latest value of each metric in cents, one column per metric in `METRICS` order (by the
    parts' (topic, account, key, count, low) index alone, already grouped by account in it)."""
    return (SummaryPart.select(SummaryPart.account,
                               *(fn.MAX(Case(SummaryPart.key, ((key, SummaryPart.low),))) for key in METRIC_KEYS))
            .where(SummaryPart.topic == summaries.LATEST_KPI).group_by(SummaryPart.account))


def objective_counts_query() -> ModelSelect:
    """Each account's objectives: how many are set and how many achieved (by the same index alone)."""
    return (SummaryPart.select(SummaryPart.account, fn.SUM(SummaryPart.count),
                               fn.SUM(Case(SummaryPart.key, ((summaries.ACHIEVED, SummaryPart.count),), 0)))
            .where(SummaryPart.topic == summaries.OBJECTIVE).group_by(SummaryPart.account))


def waiting_query() -> ModelSelect:
    """Every approval waiting, oldest first (by the (status, submitted_at) index), with its run: the first of
    a run is the one its account has waited on longest, as in the pending list (`pending_query`)."""
    return (StepState.select(StepState.run, StepState.submitted_at).where(StepState.status == PENDING)
            .order_by(StepState.submitted_at))


def overdue_parts_query(today: date) -> ModelSelect:
    """Open tasks past their due date, each account's by holder (one range of the (topic, due_on) index)."""
    return SummaryPart.select(SummaryPart.account, SummaryPart.count).where(
        (SummaryPart.topic == summaries.OVERDUE_TASK) & (SummaryPart.due_on < today))


def _rows(query: ModelSelect) -> list[tuple]:
    return list(query.tuples())


def _driver_rows(query: ModelSelect) -> Iterable[tuple]:
    """The rows as the database driver returns them, for the queries of many rows: the few columns that need
    it go through their field's own converter (`python_value`), the work `.tuples()` does on every column of
    every row, which would cost more than the query at 100,000 accounts."""
    return database.execute(query)


Totals = dict[str, dict[tuple[str, str], tuple[int, Decimal]]]


def _read_totals() -> Totals:
    """The summary totals by topic, then by (key, detail): (count, exact total)."""
    totals: Totals = defaultdict(dict)
    for topic, key, detail, count, total in _rows(totals_query()):
        totals[topic][(key, detail)] = (count, Decimal(total))
    return totals


def _counts(totals: Totals, topic: str) -> Counter:
    return Counter({key: count for (key, _), (count, _) in totals[topic].items()})


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
    """The portfolio's shape: counts by stage, segment and progress."""

    active: int
    by_stage: Counter
    by_segment: Counter
    progress: Counter
    average_progress: float | None
    finished: int


def _shape(totals: Totals) -> _Shape:
    stages = _counts(totals, summaries.STAGE)
    progress: Counter = Counter()
    with_run = finished = 0
    percent_sum = 0.0
    for (steps, detail), (count, _) in sorted(totals[summaries.PROGRESS].items()):
        done, total = map(int, steps.split("/"))
        with_run += count
        percent_sum += count * (100 * done / total if total else 0)
        progress[_progress_bucket(done, total)] += count
        finished += count if detail == summaries.FINISHED else 0
    return _Shape(sum(stages.values()), stages, _counts(totals, summaries.SEGMENT), progress,
                  percent_sum / with_run if with_run else None, finished)


def _choice_field(template: Template, key: str) -> tuple[str | None, tuple[str, ...], bool]:
    """The key of the step asking for the choice field `key`, its options, and whether it holds a list; a
    template version without that field has no step and no options."""
    found = template.find_field(key)
    if found is None:
        return None, (), False
    step, field = found
    return step.key, field.options, field_kind(field).holds_list


def _option_counts(key: str, template: Template, totals: Totals) -> Counter:
    """How many active accounts chose each option of a choice field: the summaries count each stored value (a
    few dozen distinct ones: a label, or a JSON list of labels) and Python counts their options."""
    step_key, _, is_list = _choice_field(template, key)
    counts: Counter = Counter()
    for (asked_in, stored), (accounts, _) in sorted(totals[summaries.OPTION + key].items()):
        if asked_in != step_key:
            continue
        try:
            chosen = json.loads(stored) if is_list else [stored]
        except ValueError:
            continue
        for option in set(chosen) if isinstance(chosen, list) else ():
            counts[str(option)] += accounts
    return counts


def _pending(today: date, templates: TemplateCache, limit: int | None) -> tuple[PendingApproval, ...]:
    pending = []
    query = pending_query() if limit is None else pending_query().limit(limit)
    to_uuid, to_time = Account.id.python_value, StepState.submitted_at.python_value
    gates: dict[tuple[str, int, str], Step | None] = {}
    for account_id, name, owner, step_key, submitted_at, template_name, version in _driver_rows(query):
        if (template_name, version, step_key) not in gates:
            gates[(template_name, version, step_key)] = templates.get(template_name, version).step_by_key(step_key)
        gate = gates[(template_name, version, step_key)]
        if gate is not None:
            submitted_at = to_time(submitted_at)
            pending.append(PendingApproval(to_uuid(account_id), name, owner, gate.number, gate.title, submitted_at,
                                           (today - submitted_at.date()).days if submitted_at else None, gate.key))
    return tuple(pending)


def _gates_by_key(template: Template, templates: TemplateCache) -> dict[str, Step]:
    """Every gate by key: the current version's in its order, then gates only older versions have."""
    gates = {gate.key: gate for gate in template.approvals}
    for name, version in reversed(_rows(installed_versions_query())):
        for gate in templates.get(name, version).approvals:
            gates.setdefault(gate.key, gate)
    return gates


def _hours_of(seconds: float | int | None) -> float | None:
    return None if seconds is None else float(seconds) / 3600


def _gate_stats(template: Template, templates: TemplateCache, totals: Totals) -> tuple[GateStats, ...]:
    """Decisions and waiting approvals per gate, a gate being the same gate in every version by its key."""
    decided = {key: (count, int(rejected)) for (key, _), (count, rejected) in totals[summaries.DECIDED].items()}
    timed = {key: (count, int(seconds)) for (key, _), (count, seconds) in totals[summaries.TURNAROUND].items()}
    waiting = _counts(totals, summaries.PENDING_GATE)
    current = {gate.key for gate in template.approvals}
    stats = []
    for key, gate in _gates_by_key(template, templates).items():
        if key not in current and key not in decided and not waiting[key]:
            continue  # a gate of an older version that no active run has reached
        decisions, rejected = decided.get(key, (0, 0))
        timed_count, seconds = timed.get(key, (0, 0))
        average = shortest = longest = None
        if timed_count:
            average = seconds / timed_count
            shortest = lowest_query(summaries.TURNAROUND, key).scalar()
            longest = highest_query(summaries.TURNAROUND, key).scalar()
        stats.append(GateStats(gate.number, gate.title, waiting[key], decisions, decisions - rejected, rejected,
                               timed_count, _hours_of(average), _hours_of(shortest), _hours_of(longest), key))
    return tuple(stats)


def _overdue_by_owner(today: date) -> tuple[OwnerOverdue, ...]:
    owners = [OwnerOverdue(owner, int(tasks), accounts) for owner, tasks, accounts in
              _rows(overdue_by_holder_query(today))]
    return tuple(sorted(owners, key=lambda owner: (-owner.tasks, owner.owner)))


def _from_cents(cents: int | None) -> float | None:
    return None if cents is None else float(Decimal(cents).scaleb(-2))


def _kpi_summaries(totals: Totals) -> tuple[KpiSummary, ...]:
    summaries_by_metric = []
    for key in METRIC_KEYS:
        count, total = totals[summaries.LATEST_KPI].get((key, ""), (0, Decimal(0)))
        if not count:
            summaries_by_metric.append(KpiSummary(key, 0, None, None, None))
            continue
        summaries_by_metric.append(KpiSummary(
            key, count, float(total / count), _from_cents(lowest_query(summaries.LATEST_KPI, key).scalar()),
            _from_cents(highest_query(summaries.LATEST_KPI, key).scalar())))
    return tuple(summaries_by_metric)


def _objective_totals(today: date, totals: Totals) -> ObjectiveTotals:
    judged = _counts(totals, summaries.OBJECTIVE)
    total = sum(judged.values())
    achieved, missed = judged.get(summaries.ACHIEVED, 0), judged.get(summaries.MISSED, 0)
    overdue = objectives_overdue_query(today).scalar() or 0
    return ObjectiveTotals(total, achieved, missed, total - achieved - missed, int(overdue))


def _runs_by_version(totals: Totals) -> tuple[tuple[str, int, int], ...]:
    return tuple(sorted((key, int(version), count)
                        for (key, version), (count, _) in totals[summaries.VERSION].items()))


NO_VALUES = (None,) * len(METRICS)


def _id_text(value: object) -> str:
    """An id as the driver hands it back (32 hex digits from SQLite, a UUID from PostgreSQL) in the text form
    `str(uuid)` gives, without making a UUID of each of 100,000 ids."""
    if isinstance(value, str) and len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


NO_ACCOUNT_PARTS = (0, 0, 0, NO_VALUES)  # no objectives, none achieved, no overdue task, no KPI value


def metric_value(metric: Metric, cents: int) -> Decimal:
    """A metric's value from its cents, as the summary parts keep it."""
    return to_places(metric, Decimal(int(cents)).scaleb(-2))


class _MetricValues(dict):
    """One metric's values by their cents (None for none), each converted once: many recur (scores, ratings)."""

    def __init__(self, metric: Metric) -> None:
        super().__init__({None: None})
        self.metric = metric

    def __missing__(self, cents: int) -> Decimal:
        value = self[cents] = metric_value(self.metric, cents)
        return value


def _account_parts(today: date) -> dict[object, tuple[int, int, int, tuple]]:
    """Each account's objectives (set, achieved), overdue tasks and latest KPI cents, from their passes merged
    into one table, so that a line looks its account up once. Its look-ups, in name order, each miss the
    processor's caches (a third of the matching); the merge's, mostly in the order the table was filled in,
    cost less."""
    parts = {row[0]: (row[1], row[2], 0, NO_VALUES) for row in _driver_rows(objective_counts_query())}
    for row in _driver_rows(latest_values_query()):
        objectives_set, achieved, overdue, _ = parts.get(row[0], NO_ACCOUNT_PARTS)
        parts[row[0]] = (objectives_set, achieved, overdue, row[1:])
    for account_id, tasks in _driver_rows(overdue_parts_query(today)):
        objectives_set, achieved, overdue, latest = parts.get(account_id, NO_ACCOUNT_PARTS)
        parts[account_id] = (objectives_set, achieved, overdue + tasks, latest)
    return parts


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector pauses every few hundred new tuples and, now and then, walks every live
    object: while 100,000 lines and the rows they come from (none of them in a cycle) are read, about a
    tenth of their time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# A line as `_raw_lines` reads it: `AccountLine`'s fields, but the annual revenue may be an int (SQLite hands
# most amounts back as one; a Decimal is made of it in two calls), pending since and last activity are as the
# driver returns them (text from SQLite, "2026-11-30 12:34:56.789012", datetimes from PostgreSQL), and the
# latest value of each metric is in cents (`NO_VALUES` when there are none), each made a value by
# `metric_value`: each distinct one once, as most recur.
RawLine = tuple


def _raw_lines(today: date, template: Template, templates: TemplateCache) -> Iterator[RawLine]:
    """One line per active account, by name, in `AccountLine`'s order of fields: the accounts and their runs
    from one ordered query, what else a line shows from one pass each over the ratings, the waiting approvals
    and the accounts' summary parts, matched up by id as the driver returns it (compared as the database
    compares it); each step named as its run's version names it. The amount and the times are left as the
    driver returns them (`RawLine`): an export of the lines alone writes them without making objects of them.
    """
    ratings = dict(_driver_rows(ratings_query(_choice_field(template, SATISFACTION)[0])))
    waiting_since: dict[object, object] = {}
    for run_id, submitted_at in _driver_rows(waiting_query()):
        waiting_since.setdefault(run_id, submitted_at)
    parts = _account_parts(today)
    to_decimal = Account.annual_revenue.python_value
    titles: dict[tuple[str, int, int], str] = {}
    for (account_id, name, owner, segment, stage, industry, revenue, activity, run_id, done, total, current,
         next_gate, template_name, version) in _driver_rows(account_lines_query()):
        title = ""
        if current:
            title = titles.get((template_name, version, current))
            if title is None:
                title = titles[(template_name, version, current)] = templates.get(
                    template_name, version).step(current).title
        objectives_set, achieved, overdue, latest = parts.get(account_id, NO_ACCOUNT_PARTS)
        yield (_id_text(account_id), name, owner, segment, stage, industry,
               revenue if type(revenue) is int else to_decimal(revenue), done or 0, total or 0, current, title,
               next_gate, waiting_since.get(run_id), overdue, ratings.get(run_id), latest, objectives_set,
               achieved, activity, version)


def _account_lines(today: date, template: Template, templates: TemplateCache) -> tuple[AccountLine, ...]:
    to_time = Account.last_activity_at.python_value
    metrics = [_MetricValues(metric) for metric in METRICS]
    new_line = AccountLine._make
    return tuple(
        new_line((account_id, name, owner, segment, stage, industry,
                  Decimal(revenue) if type(revenue) is int else revenue, done, total, current, title, next_gate,
                  to_time(pending_since), overdue, satisfaction,
                  NO_VALUES if latest is NO_VALUES else tuple(map(getitem, metrics, latest)), objectives_set,
                  achieved, to_time(activity), version))
        for (account_id, name, owner, segment, stage, industry, revenue, done, total, current, title, next_gate,
             pending_since, overdue, satisfaction, latest, objectives_set, achieved, activity, version)
        in _raw_lines(today, template, templates))


def portfolio_lines(write: Callable[[Iterator[RawLine], int], T], today: date | None = None) -> T:
    """What `write` makes of the line per account alone as of `today`, handed to it one line at a time as
    they are read (`RawLine`s, by name, from one snapshot), with their number: an export of the lines alone
    (the CSV) reads neither the rest of the report nor an `AccountLine` per account, and never holds every
    line at once."""
    today = today or date.today()
    with database.atomic(), _no_cycle_collection():
        return write(_raw_lines(today, current_template(), TemplateCache()), active_count_query().scalar())


def portfolio_report(today: date | None = None, *, account_lines: bool = True,
                     pending_limit: int | None = None) -> PortfolioReport:
    """Every number of the portfolio report, as of `today`. `account_lines=False` leaves out the line per
    account (the CSV rows), which the Reports screen does not show; `pending_limit` lists only the oldest
    pending approvals (`pending_count` still counts them all; 0 lists none). The CSV, which shows the lines
    alone, reads them with `portfolio_lines` instead.

    Runs may follow different versions of the template: gates and tallied fields are matched by key, and
    labelled and ordered as the current version has them."""
    today = today or date.today()
    templates = TemplateCache()
    with database.atomic():  # one snapshot: every number describes the same moment
        template = current_template()
        archived = archived_count_query().scalar()
        totals = _read_totals()
        pending = _pending(today, templates, pending_limit)
        gates = _gate_stats(template, templates, totals)
        owners = _overdue_by_owner(today)
        objective_totals = _objective_totals(today, totals)
        with _no_cycle_collection():
            lines = _account_lines(today, template, templates) if account_lines else ()
    shape = _shape(totals)
    ratings = _option_counts(SATISFACTION, template, totals)
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
        kpis=_kpi_summaries(totals),
        objectives=objective_totals,
        history_issues=_ranked(_choice_field(template, HISTORY_ISSUES)[1],
                               _option_counts(HISTORY_ISSUES, template, totals)),
        issue_categories=_ranked(_choice_field(template, ISSUE_CATEGORIES)[1],
                                 _option_counts(ISSUE_CATEGORIES, template, totals)),
        accounts=lines,
        template=template,
        runs_by_version=_runs_by_version(totals),
        pending_count=sum(_counts(totals, summaries.PENDING_GATE).values()),
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
    "NO_VALUES",
    "ObjectiveOutcome",
    "ObjectiveTotals",
    "OwnerOverdue",
    "PendingApproval",
    "PortfolioReport",
    "RawLine",
    "Tally",
    "account_report",
    "decision_turnaround",
    "metric_value",
    "portfolio_lines",
    "portfolio_report",
    "turnaround_hours",
]
