"""Read-only queries for the screens and the CLI. They return plain, immutable data (named tuples and
frozen dataclasses), never live model objects, so a worker thread can hand them to the UI thread.

Each query consumes its result fully: a half-read cursor would pin an old snapshot of the database.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Iterator, NamedTuple

from peewee import SQL, fn

from acct_tui.errors import DomainError
from acct_tui.store.models import (
    Account,
    ApprovalDecision,
    AuditEvent,
    FieldValue,
    Run,
    StepState,
    SummaryTotal,
    database,
)
from acct_tui.store import summaries
from acct_tui.store.kpis import KpiView, ObjectiveView, kpi_entries, objectives
from acct_tui.store.templates import TemplateCache, latest_version_number, run_template
from acct_tui.store.values import decode_value, is_field_event, logged_text, shown_logged_value
from acct_tui.template import DUE_KEY, KPI_ROLE, OBJECTIVES_ROLE, Template
from acct_tui.workflow import OPEN, PENDING, REJECTED, Progress, RunState
from acct_tui.workflow.fields import name_key

HISTORY_LIMIT = 200
# A value in a line of history is cut here: notes are saved as they are typed, so a long note's history would
# repeat it whole at every save (a 10,000-character note, 60 saves: 600,000 characters wrapped under the step).
HISTORY_VALUE_CHARS = 120


class AccountRow(NamedTuple):
    id: uuid.UUID
    name: str
    owner: str
    segment: str
    stage: str
    done: int
    total: int
    current_step: int | None
    next_approval: int | None
    overdue: int
    last_activity: datetime
    archived: bool
    rejected_gate: int | None = None  # an approval sent back, whose steps wait to be redone
    waiting: bool = False  # an approval waits for a decision


@dataclass(frozen=True, slots=True)
class AccountDetail:
    id: uuid.UUID
    name: str
    owner: str
    segment: str
    stage: str
    industry: str
    annual_revenue: Decimal | None
    archived: bool
    version: int
    run_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class FieldView:
    key: str
    label: str
    type: str
    options: tuple[str, ...]
    required: bool
    value: object
    version: int
    updated_by: str | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str
    step: int | None
    summary: str


@dataclass(frozen=True, slots=True)
class StepView:
    number: int
    title: str
    kind: str
    status: str
    mark: str
    covers: tuple[int, ...]
    purpose: str
    desired_result: str
    questions: tuple[str, ...]
    fields: tuple[FieldView, ...]
    edit_refusal: str | None
    submitted_at: datetime | None
    submitted_by: str | None
    finished_at: datetime | None
    finished_by: str | None
    # Who last reopened a task (reopening it, or rejecting its approval) and when; None if never reopened.
    reopened_by: str | None = None
    reopened_at: datetime | None = None
    key: str = ""
    role: str | None = None

    @property
    def is_approval(self) -> bool:
        return self.kind == "approval"

    def field(self, key: str) -> FieldView:
        return next(view for view in self.fields if view.key == key)


@dataclass(frozen=True, slots=True)
class DecisionView:
    step: int
    decision: str
    approver: str
    comment: str
    submitted_at: datetime | None
    decided_at: datetime
    step_key: str = ""
    gate: str = ""  # the gate's title in the run's version (its key, for a gate that version no longer has)


@dataclass(frozen=True, slots=True)
class RunView:
    account: AccountDetail
    run_id: uuid.UUID
    progress: Progress
    steps: tuple[StepView, ...]
    decisions: tuple[DecisionView, ...]
    history: tuple[HistoryEntry, ...]
    template: Template  # the version this run follows
    latest_version: int  # the newest installed version of that template

    @property
    def upgrade_available(self) -> bool:
        return self.latest_version > (self.template.version or 0)

    def step(self, number: int) -> StepView:
        return self.steps[number - 1]

    def step_history(self, number: int) -> tuple[HistoryEntry, ...]:
        return tuple(entry for entry in self.history if entry.step == number)

    def last_decision(self, gate: int) -> DecisionView | None:
        return next((decision for decision in reversed(self.decisions) if decision.step == gate), None)

    def rejections(self) -> tuple[tuple[StepView, DecisionView], ...]:
        """Approvals sent back and not resubmitted yet, each with the rejection (comment, who, when)."""
        found = []
        for step in self.steps:
            decision = self.last_decision(step.number) if step.status == REJECTED else None
            if decision is not None:
                found.append((step, decision))
        return tuple(found)

    def rejection_of(self, number: int) -> tuple[StepView, DecisionView] | None:
        """The standing rejection of approval `number`, or of the approval covering task `number`."""
        return next(((gate, decision) for gate, decision in self.rejections()
                     if number == gate.number or number in gate.covers), None)


@dataclass(frozen=True, slots=True)
class QueueItem:
    run_id: uuid.UUID
    account_id: uuid.UUID
    account_name: str
    owner: str
    step: int
    title: str
    covers: tuple[int, ...]
    submitted_at: datetime | None
    submitted_by: str | None


@dataclass(frozen=True, slots=True)
class KpiTrend:
    """A KPI value and the value of the same metric measured before it (None for the first)."""

    entry: KpiView
    previous: KpiView | None

    @property
    def arrow(self) -> str:
        if self.previous is None:
            return "·"
        if self.entry.value == self.previous.value:
            return "→"
        return "↑" if self.entry.value > self.previous.value else "↓"


@dataclass(frozen=True, slots=True)
class ApprovalDetail:
    """Everything an approver judges: the covered steps with their values, the objectives (gate 8) and KPI
    values (gate 15) set in them, and what changed in them since the last decision on this gate."""

    gate: int
    steps: tuple[StepView, ...]
    objectives: tuple[ObjectiveView, ...]
    kpis: tuple[KpiTrend, ...]
    last_decision: DecisionView | None
    changes: tuple[HistoryEntry, ...]  # oldest first; empty when there was no decision before
    changed_fields: frozenset[tuple[int, str]]  # (step, field key) set since the last decision
    changed_items: frozenset[uuid.UUID]  # objectives and KPI values added or changed since then
    objectives_step: int | None = None  # the covered step where objectives are set, if any
    kpi_steps: tuple[int, ...] = ()  # the covered steps where KPI values are entered

    def field_changed(self, step: int, key: str) -> bool:
        return (step, key) in self.changed_fields


def _today(today: date | None) -> date:
    return today or date.today()


def _per_run(query, runs):
    """`query` (run id first) for the runs `runs` selects, or for every run when `runs` is None."""
    return query if runs is None else query.where(StepState.run.in_(runs))


def _overdue_query(today: date | None, runs=None):
    """Open tasks whose due date has passed, counted per run: one range of the (status, due_on, run) index,
    which holds the run too (a join to the run per task cost three times as much), and alone: counting ids
    looked each task up in the table (70 ms against 10 at 100,000 accounts)."""
    return _per_run(StepState.select(StepState.run, fn.COUNT(SQL("*")))
                    .where((StepState.status == OPEN) & (StepState.due_on < _today(today))), runs
                    ).group_by(StepState.run)


def latest_change() -> datetime | None:
    """When the last change of any kind was made (every change writes an audit event): a cheap way to
    tell whether what a screen loaded earlier is still current, whichever connection made the change."""
    return AuditEvent.select(fn.MAX(AuditEvent.at)).scalar()


def _rejected_query(runs=None):
    """Per run, the first approval that was rejected and waits for its steps to be redone."""
    return _per_run(StepState.select(StepState.run, fn.MIN(StepState.number)).where(StepState.status == REJECTED),
                    runs).group_by(StepState.run)


def _waiting_query(runs=None):
    """The runs with an approval waiting for a decision (the same covering index)."""
    return _per_run(StepState.select(StepState.run).distinct().where(StepState.status == PENDING), runs)


def account_rows(include_archived: bool = False, today: date | None = None, limit: int | None = None
                 ) -> list[AccountRow]:
    """Every account (or the first `limit` by name) with its run summary, in name order."""
    return [AccountRow(uuid.UUID(account_id), *rest)
            for account_id, *rest in account_list(include_archived, today, limit)]


def account_list(include_archived: bool = False, today: date | None = None, limit: int | None = None
                 ) -> Iterator[tuple]:
    """What `account_rows` returns, as plain tuples in `AccountRow`'s field order with the id as 32 hex
    digits, one at a time: the account list keeps 100,000 of them, and a UUID and a named tuple per row
    (Peewee's conversions too), or a list of them all before the list's own, cost more time and memory than
    the rows themselves. Consume it whole (a half-read query pins an old snapshot of the database).

    Five queries whatever the portfolio size: the runs are read in one table scan and joined here, which
    costs SQLite half the time of a join's 100,000 index lookups; the step states' figures are read per run
    from one covering index, without the runs."""
    accounts = Account.select(Account.id, Account.name, Account.owner, Account.segment, Account.stage,
                              Account.last_activity_at, Account.archived)
    if not include_archived:
        accounts = accounts.where(Account.archived == False)  # noqa: E712 (Peewee expression)
    runs = Run.select(Run.account, Run.id, Run.done_count, Run.step_count, Run.current_step, Run.next_approval)
    page_runs = None
    if limit is None:
        # In name order, by an expression rather than the name index: SQLite then reads the table straight
        # through and sorts it (170 ms at 100,000 accounts), where following the index looks the table up
        # once per account (270 ms). The same order: the index holds the same values, compared the same way.
        accounts = accounts.order_by(Account.name_key.concat(""))
    else:  # the first accounts by the index, and the summaries of those accounts only
        accounts = accounts.order_by(Account.name_key).limit(limit)
        runs = runs.where(Run.account.in_(accounts.select(Account.id)))
        page_runs = Run.select(Run.id).where(Run.account.in_(accounts.select(Account.id)))
    # Ids as the driver hands them back (text on SQLite, UUIDs on PostgreSQL); only those returned are
    # turned into hex digits. Each run's figures are gathered as the runs are read, so no run id is kept.
    overdue = dict(database.execute(_overdue_query(today, page_runs)))
    rejected = dict(database.execute(_rejected_query(page_runs)))
    waiting = {run for (run,) in database.execute(_waiting_query(page_runs))}
    summaries = {account: (done or 0, total or 0, current, next_gate, overdue.get(run, 0), rejected.get(run),
                           run in waiting)
                 for account, run, done, total, current, next_gate in database.execute(runs)}
    no_run = (0, 0, None, None, 0, None, False)
    from_text = datetime.fromisoformat
    for account_id, name, owner, segment, stage, activity, archived in database.execute(accounts):
        done, total, current, next_gate, overdue_count, rejected_gate, waits = summaries.get(account_id, no_run)
        yield (account_id if account_id.__class__ is str else account_id.hex, name, owner, segment, stage,
               done, total, current, next_gate, overdue_count,
               from_text(activity) if activity.__class__ is str else activity,
               bool(archived), rejected_gate, waits)


def _detail(account: Account, run_id: uuid.UUID | None) -> AccountDetail:
    return AccountDetail(account.id, account.name, account.owner, account.segment, account.stage, account.industry,
                         account.annual_revenue, bool(account.archived), account.version, run_id)


def account_detail(account_id: uuid.UUID | str) -> AccountDetail:
    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        raise DomainError("That account no longer exists.")
    run_id = Run.select(Run.id).where(Run.account == account.id).scalar()
    return _detail(account, run_id)


def find_account(name: str) -> AccountDetail:
    """The account with this name (ignoring case), or DomainError."""
    account = Account.get_or_none(Account.name_key == name_key(name.strip()))
    if account is None:
        raise DomainError(f"No account is named “{name.strip()[:80]}”.")
    return account_detail(account.id)


EVENT_VERBS = {
    "field.set": "set",
    "field.kept": "kept, not applied (changed in another session):",
    "held.apply": "applied held text:",
    "held.discard": "discarded held text:",
    "step.complete": "completed",
    "step.reopen": "reopened",
    "approval.approve": "approved",
    "approval.reject": "rejected",
    "approval.reopen": "reopened approval",
    "approval.withdraw": "took back the rejection",
    "account.create": "account created",
    "account.edit": "edited",
    "account.archive": "archived",
    "account.restore": "restored",
    "run.start": "run started",
    "run.upgrade": "moved to template version",
    "kpi.add": "KPI added",
    "kpi.edit": "KPI changed",
    "kpi.delete": "KPI deleted",
    "objective.add": "objective added",
    "objective.edit": "objective changed",
    "objective.remove": "objective removed",
    "objective.result": "objective result",
}


# Logged so an undo can restore a record exactly; the history shows what they stand for already.
KEPT_FOR_UNDO = ("position", "target_value")


def _logged_field_text(template: Template | None, logged: dict) -> str:
    """A value a `field.set` event logged, shown as its field shows values (plain text for a field the
    template version no longer has)."""
    step = template.step_by_key(logged["step_key"]) if template is not None else None
    field = next((field for field in step.fields if field.key == logged["key"]), None) if step else None
    return logged_text(logged["value"]) if field is None else shown_logged_value(field, logged["value"])


def _shortened(text: str) -> str:
    return text if len(text) <= HISTORY_VALUE_CHARS else text[:HISTORY_VALUE_CHARS - 1] + "…"


def describe_event(action: str, before: dict, after: dict, template: Template | None = None) -> str:
    """One line of history, in words: the verb, then what changed (the new values, or the old on removal),
    each value cut at `HISTORY_VALUE_CHARS`. Logged form values are shown as the run's template version
    (`template`) shows them."""
    verb = EVENT_VERBS.get(action, action.replace(".", " "))
    if action == "field.set" and is_field_event(after):
        return f"{verb} {after['key']}: {_shortened(_logged_field_text(template, after))}"
    if "states" in after:
        states = ", ".join(f"{number}→{state}" for number, state in after["states"].items())
        comment = after.get("comment")
        return f"{verb} ({states})" + (f": {_shortened(comment)}" if comment else "")
    if action in ("account.archive", "account.restore"):
        return verb  # the verb is the whole change
    if action == "run.upgrade":
        changes = [*after.get("moved", ()), *(f"lost {loss}" for loss in after.get("lost", ()))]
        return f"{verb} {after['version']} (from {before['version']})" + (": " + "; ".join(changes) if changes else "")
    details = {key: value for key, value in (after or before).items() if key not in KEPT_FOR_UNDO}
    pairs = "; ".join(f"{key}: {'—' if value in (None, '') else _shortened(str(value))}"
                      for key, value in details.items())
    if not pairs:
        return verb
    return f"{verb} {pairs}" if action.startswith(("field.", "held.")) else f"{verb}: {pairs}"


def _history(account_id: uuid.UUID, template: Template) -> tuple[HistoryEntry, ...]:
    query = (
        AuditEvent.select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.step,
                          AuditEvent.before, AuditEvent.after)
        .where(AuditEvent.account_id == account_id)
        .order_by(AuditEvent.at.desc())
        .limit(HISTORY_LIMIT)
        .tuples()
    )
    return tuple(
        HistoryEntry(at, actor, action, step,
                     describe_event(action, json.loads(before), json.loads(after), template))
        for at, actor, action, step, before, after in query
    )


def _account_of(run_id: uuid.UUID) -> uuid.UUID | None:
    return Run.select(Run.account).where(Run.id == run_id).scalar()


def _reopenings(account_id: uuid.UUID | None) -> dict[int, tuple[str, datetime]]:
    """Who last sent each task back to open (reopening it, or rejecting the approval that covers it), and when."""
    found: dict[int, tuple[str, datetime]] = {}
    query = (
        AuditEvent.select(AuditEvent.actor, AuditEvent.at, AuditEvent.after)
        .where((AuditEvent.account_id == account_id) & AuditEvent.action.in_(("step.reopen", "approval.reject")))
        .order_by(AuditEvent.at)
        .tuples()
    )
    for actor, at, after in query:
        for number, state in json.loads(after).get("states", {}).items():
            if state == OPEN:
                found[int(number)] = (actor, at)
    return found


def _step_views(run_id: uuid.UUID, template: Template, numbers: list[int] | None = None) -> tuple[StepView, ...]:
    """The steps of a run read with `template`, the version it follows: rows are matched by step key."""
    reopened = _reopenings(_account_of(run_id))
    rows = {
        row[0]: row
        for row in StepState.select(
            StepState.step_key, StepState.status, StepState.submitted_at, StepState.submitted_by,
            StepState.finished_at, StepState.finished_by,
        ).where(StepState.run == run_id).tuples()
    }
    state = RunState.from_stored(template, {key: row[1] for key, row in rows.items()})
    stored = {
        (step_key, key): (value, version, by, at)
        for step_key, key, value, version, by, at in FieldValue.select(
            FieldValue.step_key, FieldValue.key, FieldValue.value, FieldValue.version, FieldValue.updated_by,
            FieldValue.updated_at,
        ).where(FieldValue.run == run_id).tuples()
    }
    views = []
    for step in template.steps:
        if numbers is not None and step.number not in numbers:
            continue
        fields = []
        for field in step.fields:
            text, version, by, at = stored.get((step.key, field.key), (None, 0, None, None))
            fields.append(FieldView(field.key, field.label, field.type, field.options, field.required,
                                    decode_value(field, text), version, by, at))
        _, _, submitted_at, submitted_by, finished_at, finished_by = rows.get(step.key, (None,) * 6)
        views.append(StepView(
            step.number, step.title, step.kind, state.statuses[step.number], state.mark(step.number), step.covers,
            step.purpose, step.desired_result, step.questions, tuple(fields), state.edit_refusal(step.number),
            submitted_at, submitted_by, finished_at, finished_by, *reopened.get(step.number, (None, None)),
            key=step.key, role=step.role,
        ))
    return tuple(views)


def _gate_title(template: Template, step_key: str) -> str:
    gate = template.step_by_key(step_key)
    return gate.title if gate is not None else step_key


def _decisions(template: Template, where) -> tuple[DecisionView, ...]:
    return tuple(
        DecisionView(*row, gate=_gate_title(template, row[-1]))
        for row in ApprovalDecision.select(
            ApprovalDecision.step, ApprovalDecision.decision, ApprovalDecision.approver, ApprovalDecision.comment,
            ApprovalDecision.submitted_at, ApprovalDecision.decided_at, ApprovalDecision.step_key,
        ).where(where).order_by(ApprovalDecision.decided_at).tuples()
    )


def run_view(account_id: uuid.UUID | str, today: date | None = None) -> RunView:
    """Everything the checklist shows for one account: steps, values, progress, decisions, history; read with
    the template version its run follows."""
    detail = account_detail(account_id)
    if detail.run_id is None:
        raise DomainError(f"“{detail.name}” has no run of the template yet.")
    run = Run.get_by_id(detail.run_id)
    template = run_template(run)
    steps = _step_views(detail.run_id, template)
    state = RunState(template, {view.number: view.status for view in steps})
    due = {view.number: view.field(DUE_KEY).value for view in steps if not view.is_approval}
    progress = state.progress({n: d for n, d in due.items() if d}, _today(today))
    decisions = _decisions(template, ApprovalDecision.run == detail.run_id)
    return RunView(detail, detail.run_id, progress, steps, decisions, _history(detail.id, template), template,
                   latest_version_number(run.template_name) or 0)


def _pending_approvals(*columns):
    """Pending approvals of active accounts, with their run and account joined, selecting `columns`."""
    return (
        StepState.select(*columns)
        .join(Run, on=(StepState.run == Run.id))
        .join(Account, on=(Run.account == Account.id))
        .where((StepState.status == PENDING) & (Account.archived == False))  # noqa: E712
    )


def approval_queue(offset: int = 0, limit: int | None = None) -> list[QueueItem]:
    """The pending approvals of every active account, oldest submission first (the whole queue, or `limit`
    of them from position `offset`); each named as the template version its run follows names it."""
    templates = TemplateCache()
    query = (
        _pending_approvals(Run.id, Account.id, Account.name, Account.owner, StepState.step_key,
                           StepState.submitted_at, StepState.submitted_by, Run.template_name, Run.template_version)
        .order_by(StepState.submitted_at, Account.name_key)
        .tuples()
    )
    if limit is not None:
        query = query.limit(limit).offset(offset)
    items = []
    for run_id, account_id, name, owner, step_key, submitted_at, submitted_by, template_name, version in query:
        gate = templates.get(template_name, version).step_by_key(step_key)
        if gate is not None:
            items.append(QueueItem(run_id, account_id, name, owner, gate.number, gate.title, gate.covers,
                                   submitted_at, submitted_by))
    return items


def approval_queue_count() -> int:
    """How many approvals the queue holds (`approval_queue` reads them a page at a time): the report summaries'
    count of approvals waiting, kept exact by every change (counting the queue's join took 130-350 ms at
    100,000 accounts)."""
    return (SummaryTotal.select(fn.SUM(SummaryTotal.count))
            .where(SummaryTotal.topic == summaries.PENDING_GATE).scalar() or 0)


def approval_queue_position(run_id: uuid.UUID, step: int) -> int | None:
    """Where the approval `step` of the run stands in the queue's order now; None when it is not pending."""
    anchor = list(_pending_approvals(StepState.submitted_at, Account.name_key)
                  .where((Run.id == run_id) & (StepState.number == step)).tuples())
    if not anchor or anchor[0][0] is None:
        return None
    submitted_at, key = anchor[0]
    earlier = (StepState.submitted_at < submitted_at) | ((StepState.submitted_at == submitted_at)
                                                         & (Account.name_key < key))
    return _pending_approvals(fn.COUNT(StepState.id)).where(earlier).scalar() or 0


# What an approver sees changed: the content of the covered steps, not their being marked done again.
CONTENT_ACTIONS = ("field.set", "kpi.add", "kpi.edit", "kpi.delete", "objective.add", "objective.edit",
                   "objective.remove")


def _trends(entries: tuple[KpiView, ...], steps: tuple[int, ...]) -> tuple[KpiTrend, ...]:
    """The values entered in `steps`, each beside the value of the same metric measured just before it
    (`entries` come metric by metric, oldest first)."""
    trends = []
    for index, entry in enumerate(entries):
        if entry.step not in steps:
            continue
        previous = entries[index - 1] if index and entries[index - 1].metric == entry.metric else None
        trends.append(KpiTrend(entry, previous))
    return tuple(trends)


def approval_detail(run_id: uuid.UUID | str, gate: int) -> ApprovalDetail:
    """What the approval `gate` (its number in the run's template version) covers, as the approval queue
    shows it (see `ApprovalDetail`)."""
    run = Run.get_or_none(Run.id == uuid.UUID(str(run_id)))
    if run is None:
        raise DomainError("That run no longer exists.")
    run_id, template = run.id, run_template(run)
    covers = template.step(gate).covers
    account_id = _account_of(run_id)
    decisions = _decisions(template, (ApprovalDecision.run == run_id) & (ApprovalDecision.step == gate))
    last_decision = decisions[-1] if decisions else None
    changes: list[HistoryEntry] = []
    changed_fields: set[tuple[int, str]] = set()
    changed_items: set[uuid.UUID] = set()
    if last_decision is not None:
        query = (
            AuditEvent.select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.step,
                              AuditEvent.entity_id, AuditEvent.before, AuditEvent.after)
            .where((AuditEvent.account_id == account_id) & (AuditEvent.at > last_decision.decided_at)
                   & AuditEvent.step.in_(covers) & AuditEvent.action.in_(CONTENT_ACTIONS))
            .order_by(AuditEvent.at)
            .tuples()
        )
        for at, actor, action, step, entity_id, before, after in query:
            before, after = json.loads(before), json.loads(after)
            changes.append(HistoryEntry(at, actor, action, step, describe_event(action, before, after, template)))
            if action == "field.set":
                keys = [after["key"]] if is_field_event(after) else list(after)  # older events: {key: text}
                changed_fields.update((step, key) for key in keys)
            else:
                changed_items.add(entity_id)
    kpi_steps = tuple(step.number for step in template.with_role(KPI_ROLE) if step.number in covers)
    objectives_step = next((step.number for step in template.with_role(OBJECTIVES_ROLE) if step.number in covers),
                           None)
    return ApprovalDetail(
        gate,
        _step_views(run_id, template, list(covers)),
        objectives(run_id) if objectives_step is not None else (),
        _trends(kpi_entries(account_id) if kpi_steps else (), covers),
        last_decision,
        tuple(changes),
        frozenset(changed_fields),
        frozenset(changed_items),
        objectives_step,
        kpi_steps,
    )
