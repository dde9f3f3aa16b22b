"""Portfolio summaries kept up to date by every change, so the portfolio report reads a few hundred rows
instead of aggregating the whole portfolio.

Each active account contributes parts (`SummaryPart`): under a topic, a label and (for figures that depend
on the day) a date, a count, an exact total and a lowest/highest value. `SummaryTotal` holds the sum of the
parts per label. Archived accounts contribute nothing, so no report query needs to leave them out.

How they stay exact: every change writes one audit event naming its account (`services._audit`), and there
`refresh` recomputes that account's parts from its records and moves the totals by the difference, in the
same write transaction. Paths that write records without the services (a sync merge, a team import, the
benchmark's generator) call `refresh` for the accounts they touched, or `rebuild`, which recomputes every
summary from scratch. `differences` compares the stored summaries with a recomputation (`acct-tui db check`;
`--repair` rebuilds them). Parts and totals are computed by one function, `_parts`, for all three.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from peewee import JOIN, Expression

from acct_tui.store.models import (
    Account,
    ApprovalDecision,
    FieldValue,
    KpiEntry,
    Objective,
    Run,
    StepState,
    SummaryPart,
    SummaryTotal,
)
from acct_tui.store.prepared import Prepared, Slot
from acct_tui.sync.bulk import bulk_insert
from acct_tui.template import ASSIGNEE_KEY
from acct_tui.workflow import OPEN, PENDING, REJECT

# Choice fields the portfolio tallies, known by key in whichever step of a template version asks for them.
SATISFACTION = "satisfaction"
HISTORY_ISSUES = "history_issues"
ISSUE_CATEGORIES = "issue_categories"
TALLIED_FIELDS = (SATISFACTION, HISTORY_ISSUES, ISSUE_CATEGORIES)
UNASSIGNED = "(no owner)"

# Topics. Each names what one part counts for an account.
STAGE = "stage"  # key: lifecycle stage; count 1
SEGMENT = "segment"  # key: segment; count 1
PROGRESS = "progress"  # key: "done/total" of the run, detail "finished" when no step is left; count 1
VERSION = "version"  # key: template key, detail: version number the run follows; count 1
PENDING_GATE = "pending"  # key: gate step key; count: approvals waiting
DECIDED = "decided"  # key: gate step key; count: decisions, total: rejections
TURNAROUND = "turnaround"  # key: gate step key; count: decisions with a known turnaround, total/low/high: seconds
OVERDUE_TASK = "task"  # key: who holds the open task, due_on: its due date; count: tasks
LATEST_KPI = "kpi"  # key: metric; count 1, total: latest value, low/high: it in cents
OBJECTIVE = "objective"  # key: achieved / missed / open; count: objectives
OBJECTIVE_DUE = "objective-due"  # due_on: due date of objectives not judged yet; count
OPTION = "option:"  # + field key (one of TALLIED_FIELDS); key: step key, detail: stored value; count 1

ACHIEVED, MISSED, NOT_JUDGED = "achieved", "missed", "open"
FINISHED = "finished"
CHUNK = 500  # accounts per refresh batch: bounded IN lists whatever is touched


class Label(NamedTuple):
    topic: str
    key: str
    detail: str = ""
    due_on: date | None = None


class Measure:
    """What one account adds up to under one label."""

    __slots__ = ("count", "total", "low", "high")

    def __init__(self, count: int = 0, total: Decimal | int = 0, low: int | None = None, high: int | None = None):
        self.count, self.total, self.low, self.high = count, Decimal(total), low, high

    def add(self, count: int = 1, total: Decimal | int = 0, value: int | None = None) -> None:
        self.count += count
        self.total += total
        if value is not None:
            self.low = value if self.low is None else min(self.low, value)
            self.high = value if self.high is None else max(self.high, value)

    def as_tuple(self) -> tuple[int, Decimal, int | None, int | None]:
        return self.count, self.total, self.low, self.high


Parts = dict[uuid.UUID, dict[Label, Measure]]


def _in(column, ids: Slot | list | None) -> Expression | bool:
    return True if ids is None else column.in_(ids)


def _rows(query: Prepared, ids: list | None) -> Iterable[tuple]:
    """The rows of `query` over these ids: prepared for a refresh's few ids, built once for None (every row)."""
    return query.rows(ids) if ids is not None else query.build(None)


_ACCOUNTS = Prepared(lambda ids: (
    Account.select(Account.id, Account.stage, Account.segment, Account.owner, Run.id, Run.done_count, Run.step_count,
                   Run.current_step, Run.template_name, Run.template_version)
    .join(Run, JOIN.LEFT_OUTER, on=(Run.account == Account.id))
    .where(_in(Account.id, ids) & (Account.archived == False)).tuples()))  # noqa: E712
_TALLIED_VALUES = Prepared(lambda run_ids: (
    FieldValue.select(FieldValue.run, FieldValue.step_key, FieldValue.key, FieldValue.value)
    .where(_in(FieldValue.run, run_ids) & FieldValue.key.in_((ASSIGNEE_KEY, *TALLIED_FIELDS))).tuples()))
_WAITING_STEPS = Prepared(lambda run_ids: (
    StepState.select(StepState.run, StepState.step_key, StepState.status, StepState.due_on)
    .where(_in(StepState.run, run_ids)
           & (((StepState.status == OPEN) & StepState.due_on.is_null(False)) | (StepState.status == PENDING)))
    .tuples()))
_DECISIONS = Prepared(lambda run_ids: (
    ApprovalDecision.select(ApprovalDecision.run, ApprovalDecision.step_key, ApprovalDecision.decision,
                            ApprovalDecision.turnaround_seconds)
    .where(_in(ApprovalDecision.run, run_ids)).tuples()))
_KPI_VALUES = Prepared(lambda ids: (
    KpiEntry.select(KpiEntry.account, KpiEntry.metric, KpiEntry.measured_on, KpiEntry.value)
    .where(_in(KpiEntry.account, ids)).tuples()))
_OBJECTIVES = Prepared(lambda run_ids: (
    Objective.select(Objective.run, Objective.achieved, Objective.due_on).where(_in(Objective.run, run_ids)).tuples()))
_STORED_PARTS = Prepared(lambda ids: (
    SummaryPart.select(SummaryPart.account, SummaryPart.topic, SummaryPart.key, SummaryPart.detail,
                       SummaryPart.due_on, SummaryPart.count, SummaryPart.total, SummaryPart.low, SummaryPart.high)
    .where(_in(SummaryPart.account, ids)).tuples()))
_ACCOUNTS_OF_RUNS = Prepared(lambda run_ids: Run.select(Run.account).where(Run.id.in_(run_ids)).tuples())
_DELETE_PARTS = Prepared(lambda ids: SummaryPart.delete().where(SummaryPart.account.in_(ids)))
_TOTALS_OF_KEYS = Prepared(lambda topic, keys: (
    SummaryTotal.select(SummaryTotal.id, SummaryTotal.key, SummaryTotal.detail, SummaryTotal.count, SummaryTotal.total)
    .where((SummaryTotal.topic == topic) & SummaryTotal.key.in_(keys)).tuples()))
_DELETE_TOTAL = Prepared(lambda row_id: SummaryTotal.delete().where(SummaryTotal.id == row_id))
_SET_TOTAL = Prepared(lambda row_id, count, total: SummaryTotal.update(
    count=count.of(SummaryTotal.count), total=total.of(SummaryTotal.total)).where(SummaryTotal.id == row_id))
_ADD_TOTAL = Prepared(lambda topic, key, detail, count, total: SummaryTotal.insert(
    topic=topic.of(SummaryTotal.topic), key=key.of(SummaryTotal.key), detail=detail.of(SummaryTotal.detail),
    count=count.of(SummaryTotal.count), total=total.of(SummaryTotal.total)))


def _holder(assignee: str | None, owner: str) -> str:
    """Who holds a task: its assignee, else the account owner (spaces trimmed as SQL's TRIM does)."""
    return (assignee or "").strip(" ") or owner or UNASSIGNED


def _cents(value: Decimal) -> int:
    return int(value.scaleb(2).to_integral_value())


def _parts(account_ids: list[uuid.UUID] | None) -> Parts:
    """The parts of the given active accounts (None: of every account), from their records."""
    parts: Parts = {}
    account_of_run: dict[uuid.UUID, uuid.UUID] = {}
    owner_of: dict[uuid.UUID, str] = {}
    for account_id, stage, segment, owner, run_id, done, total, current, template, version in _rows(_ACCOUNTS,
                                                                                                   account_ids):
        own = parts[account_id] = {Label(STAGE, stage): Measure(1), Label(SEGMENT, segment): Measure(1)}
        owner_of[account_id] = owner
        if run_id is not None:
            account_of_run[run_id] = account_id
            own[Label(PROGRESS, f"{done}/{total}", FINISHED if current is None else "")] = Measure(1)
            own[Label(VERSION, template, str(version))] = Measure(1)
    run_ids = None if account_ids is None else list(account_of_run)

    def add(account_id: uuid.UUID | None, label: Label, count: int = 1, total: Decimal | int = 0,
            value: int | None = None) -> None:
        if account_id in parts:  # runs and records of archived accounts have no parts
            parts[account_id].setdefault(label, Measure()).add(count, total, value)

    assignees: dict[tuple[uuid.UUID, str], str] = {}
    for run_id, step_key, key, value in _rows(_TALLIED_VALUES, run_ids):
        if key == ASSIGNEE_KEY:
            assignees[(run_id, step_key)] = value
        elif value != "":
            add(account_of_run.get(run_id), Label(OPTION + key, step_key, value))
    for run_id, step_key, status, due_on in _rows(_WAITING_STEPS, run_ids):
        account_id = account_of_run.get(run_id)
        if status == PENDING:
            add(account_id, Label(PENDING_GATE, step_key))
        elif account_id is not None:
            add(account_id, Label(OVERDUE_TASK, _holder(assignees.get((run_id, step_key)), owner_of[account_id]),
                                  due_on=due_on))
    for run_id, step_key, decision, seconds in _rows(_DECISIONS, run_ids):
        account_id = account_of_run.get(run_id)
        add(account_id, Label(DECIDED, step_key), total=int(decision == REJECT))
        if seconds is not None:
            add(account_id, Label(TURNAROUND, step_key), total=seconds, value=seconds)
    latest: dict[tuple[uuid.UUID, str], tuple[date, Decimal]] = {}
    for account_id, metric, measured_on, value in _rows(_KPI_VALUES, account_ids):
        if account_id in parts and ((account_id, metric) not in latest
                                    or measured_on > latest[(account_id, metric)][0]):
            latest[(account_id, metric)] = (measured_on, value)
    for (account_id, metric), (_, value) in latest.items():
        add(account_id, Label(LATEST_KPI, metric), total=value, value=_cents(value))
    for run_id, achieved, due_on in _rows(_OBJECTIVES, run_ids):
        account_id = account_of_run.get(run_id)
        add(account_id, Label(OBJECTIVE, NOT_JUDGED if achieved is None else ACHIEVED if achieved else MISSED))
        if achieved is None and due_on is not None:
            add(account_id, Label(OBJECTIVE_DUE, "", due_on=due_on))
    return parts


def _stored_parts(account_ids: list[uuid.UUID] | None) -> Parts:
    parts: Parts = defaultdict(dict)
    for account_id, topic, key, detail, due_on, count, total, low, high in _rows(_STORED_PARTS, account_ids):
        parts[account_id][Label(topic, key, detail, due_on)] = Measure(count, Decimal(total), low, high)
    return parts


def _totals(parts: Iterable[dict[Label, Measure]], sign: int = 1,
            into: dict[tuple[str, str, str], list] | None = None) -> dict[tuple[str, str, str], list]:
    """Count and total per (topic, key, detail), over the parts given (subtracted with `sign=-1`)."""
    totals = into if into is not None else defaultdict(lambda: [0, Decimal(0)])
    for own in parts:
        for label, measure in own.items():
            entry = totals[(label.topic, label.key, label.detail)]
            entry[0] += sign * measure.count
            entry[1] += sign * measure.total
    return totals


def _part_rows(parts: Parts) -> list[tuple]:
    return [(account_id, label.topic, label.key, label.detail, label.due_on, measure.count, str(measure.total),
             measure.low, measure.high)
            for account_id, own in parts.items() for label, measure in own.items()]


_PART_FIELDS = [SummaryPart.account, SummaryPart.topic, SummaryPart.key, SummaryPart.detail, SummaryPart.due_on,
                SummaryPart.count, SummaryPart.total, SummaryPart.low, SummaryPart.high]


def _insert_parts(parts: Parts) -> None:
    bulk_insert(SummaryPart, _PART_FIELDS, _part_rows(parts))


def _same(left: dict[Label, Measure], right: dict[Label, Measure]) -> bool:
    return left.keys() == right.keys() and all(left[label].as_tuple() == right[label].as_tuple() for label in left)


def refresh(account_ids: Iterable[uuid.UUID | str | None], run_ids: Iterable[uuid.UUID | str | None] = ()) -> None:
    """Bring the summaries of these accounts (and of the accounts of these runs) up to date with their records
    (call inside the write transaction that changed them); accounts that are gone or archived drop their parts."""
    wanted_set = {uuid.UUID(str(account_id)) for account_id in account_ids if account_id is not None}
    runs = sorted({uuid.UUID(str(run_id)) for run_id in run_ids if run_id is not None})
    for start in range(0, len(runs), CHUNK):
        wanted_set.update(account_id for (account_id,) in _ACCOUNTS_OF_RUNS.rows(runs[start:start + CHUNK]))
    wanted = sorted(wanted_set)
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        old, new = _stored_parts(chunk), _parts(chunk)
        changed = [account_id for account_id in chunk
                   if not _same(old.get(account_id, {}), new.get(account_id, {}))]
        if not changed:
            continue
        _DELETE_PARTS.execute(changed)
        _insert_parts({account_id: new[account_id] for account_id in changed if account_id in new})
        delta = _totals((new.get(account_id, {}) for account_id in changed))
        _totals((old.get(account_id, {}) for account_id in changed), sign=-1, into=delta)
        _move_totals(delta)


def _move_totals(delta: dict[tuple[str, str, str], list]) -> None:
    moved = {label: change for label, change in delta.items() if change[0] or change[1]}
    if not moved:
        return
    stored: dict[tuple[str, str, str], tuple[int, int, Decimal]] = {}
    for topic in {topic for topic, _, _ in moved}:
        keys = [key for label_topic, key, _ in moved if label_topic == topic]
        for row_id, key, detail, count, total in _TOTALS_OF_KEYS.rows(topic, keys):
            stored[(topic, key, detail)] = (row_id, count, Decimal(total))
    for label, (count, total) in moved.items():
        if label in stored:
            row_id, old_count, old_total = stored[label]
            count, total = count + old_count, total + old_total
            if count == 0:  # nobody contributes any more: gone, as a rebuild would leave it
                _DELETE_TOTAL.execute(row_id)
            else:
                _SET_TOTAL.execute(row_id, count, str(total))
        else:
            _ADD_TOTAL.execute(*label, count, str(total))


def _expected_totals(parts: Parts) -> dict[tuple[str, str, str], tuple[int, Decimal]]:
    return {label: (count, total) for label, (count, total) in _totals(parts.values()).items() if count}


def rebuild() -> None:
    """Recompute every summary from scratch (call inside a write transaction)."""
    SummaryPart.delete().execute()
    SummaryTotal.delete().execute()
    parts = _parts(None)
    _insert_parts(parts)
    bulk_insert(SummaryTotal, [SummaryTotal.topic, SummaryTotal.key, SummaryTotal.detail, SummaryTotal.count,
                               SummaryTotal.total],
                [(topic, key, detail, count, str(total))
                 for (topic, key, detail), (count, total) in _expected_totals(parts).items()])


def differences() -> list[str]:
    """How the stored summaries differ from a recomputation: empty when they are exact."""
    with SummaryPart._meta.database.atomic():  # one snapshot, of whichever database the models are bound to
        expected, stored = _parts(None), _stored_parts(None)
        totals = {(topic, key, detail): (count, Decimal(total)) for topic, key, detail, count, total in
                  SummaryTotal.select(SummaryTotal.topic, SummaryTotal.key, SummaryTotal.detail, SummaryTotal.count,
                                      SummaryTotal.total).tuples()}
    found = []
    accounts = sorted(str(account_id) for account_id in expected.keys() | stored.keys()
                      if not _same(expected.get(account_id, {}), stored.get(account_id, {})))
    if accounts:
        found.append(f"the report summaries of {len(accounts):,} account{'s' if len(accounts) != 1 else ''} "
                     f"differ from their records (first: {accounts[0]})")
    recomputed = _expected_totals(expected)
    wrong = sorted(f"{topic} {key}" for topic, key, detail in recomputed.keys() | totals.keys()
                   if recomputed.get((topic, key, detail)) != totals.get((topic, key, detail)))
    if wrong:
        found.append(f"{len(wrong):,} report totals differ from their parts (first: {wrong[0]})")
    return found


__all__ = ["SATISFACTION", "HISTORY_ISSUES", "ISSUE_CATEGORIES", "UNASSIGNED", "differences", "rebuild", "refresh"]
