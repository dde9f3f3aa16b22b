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
from typing import NamedTuple

from peewee import JOIN, fn

from acct_tui.errors import DomainError
from acct_tui.store.models import (
    Account,
    ApprovalDecision,
    AuditEvent,
    FieldValue,
    Run,
    StepState,
)
from acct_tui.store.values import decode_value
from acct_tui.template import DUE_KEY, Template, packaged_template
from acct_tui.workflow import OPEN, PENDING, Progress, RunState
from acct_tui.workflow.fields import name_key

HISTORY_LIMIT = 200


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


@dataclass(frozen=True, slots=True)
class RunView:
    account: AccountDetail
    run_id: uuid.UUID
    progress: Progress
    steps: tuple[StepView, ...]
    decisions: tuple[DecisionView, ...]
    history: tuple[HistoryEntry, ...]

    def step(self, number: int) -> StepView:
        return self.steps[number - 1]

    def step_history(self, number: int) -> tuple[HistoryEntry, ...]:
        return tuple(entry for entry in self.history if entry.step == number)


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


def _today(today: date | None) -> date:
    return today or date.today()


def overdue_counts(today: date | None = None) -> dict[uuid.UUID, int]:
    """Open tasks whose due date has passed, counted per account: one range of the (status, due_on) index."""
    query = (
        StepState.select(Run.account, fn.COUNT(StepState.id))
        .join(Run, on=(Run.id == StepState.run))
        .where((StepState.status == OPEN) & (StepState.due_on < _today(today)))
        .group_by(Run.account)
        .tuples()
    )
    return dict(query)


def latest_change() -> datetime | None:
    """When the last change of any kind was made (every change writes an audit event): a cheap way to
    tell whether what a screen loaded earlier is still current, whichever connection made the change."""
    return AuditEvent.select(fn.MAX(AuditEvent.at)).scalar()


def account_rows(include_archived: bool = False, today: date | None = None, limit: int | None = None
                 ) -> list[AccountRow]:
    """Every account (or the first `limit` by name) with its run summary, for the account list: two queries
    whatever the portfolio size."""
    overdue = overdue_counts(today)
    query = (
        Account.select(
            Account.id, Account.name, Account.owner, Account.segment, Account.stage,
            Run.done_count, Run.step_count, Run.current_step, Run.next_approval,
            Account.last_activity_at, Account.archived,
        )
        .join(Run, JOIN.LEFT_OUTER, on=(Run.account == Account.id))
        .order_by(Account.name_key)
        .tuples()
    )
    if not include_archived:
        query = query.where(Account.archived == False)  # noqa: E712 (Peewee expression)
    if limit is not None:
        query = query.limit(limit)
    return [
        AccountRow(account_id, name, owner, segment, stage, done or 0, total or 0, current, next_gate,
                   overdue.get(account_id, 0), activity, bool(archived))
        for (account_id, name, owner, segment, stage, done, total, current, next_gate, activity, archived)
        in query
    ]


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
    "account.create": "account created",
    "account.edit": "edited",
    "account.archive": "archived",
    "account.restore": "restored",
    "run.start": "run started",
    "kpi.add": "KPI added",
    "kpi.edit": "KPI changed",
    "kpi.delete": "KPI deleted",
    "objective.add": "objective added",
    "objective.edit": "objective changed",
    "objective.remove": "objective removed",
    "objective.result": "objective result",
}


def describe_event(action: str, before: dict, after: dict) -> str:
    """One line of history, in words: the verb, then what changed (the new values, or the old on removal)."""
    verb = EVENT_VERBS.get(action, action.replace(".", " "))
    if "states" in after:
        states = ", ".join(f"{number}→{state}" for number, state in after["states"].items())
        comment = after.get("comment")
        return f"{verb} ({states})" + (f": {comment}" if comment else "")
    if action in ("account.archive", "account.restore"):
        return verb  # the verb is the whole change
    details = after or before
    pairs = "; ".join(f"{key}: {'—' if value in (None, '') else value}" for key, value in details.items())
    if not pairs:
        return verb
    return f"{verb} {pairs}" if action.startswith(("field.", "held.")) else f"{verb}: {pairs}"


def _history(account_id: uuid.UUID) -> tuple[HistoryEntry, ...]:
    query = (
        AuditEvent.select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.step,
                          AuditEvent.before, AuditEvent.after)
        .where(AuditEvent.account_id == account_id)
        .order_by(AuditEvent.at.desc())
        .limit(HISTORY_LIMIT)
        .tuples()
    )
    return tuple(
        HistoryEntry(at, actor, action, step, describe_event(action, json.loads(before), json.loads(after)))
        for at, actor, action, step, before, after in query
    )


def _step_views(run_id: uuid.UUID, template: Template, numbers: list[int] | None = None) -> tuple[StepView, ...]:
    rows = {
        row[0]: row
        for row in StepState.select(
            StepState.number, StepState.status, StepState.submitted_at, StepState.submitted_by,
            StepState.finished_at, StepState.finished_by,
        ).where(StepState.run == run_id).tuples()
    }
    state = RunState(template, {number: row[1] for number, row in rows.items()})
    stored = {
        (step, key): (value, version, by, at)
        for step, key, value, version, by, at in FieldValue.select(
            FieldValue.step, FieldValue.key, FieldValue.value, FieldValue.version, FieldValue.updated_by,
            FieldValue.updated_at,
        ).where(FieldValue.run == run_id).tuples()
    }
    views = []
    for step in template.steps:
        if numbers is not None and step.number not in numbers:
            continue
        fields = []
        for field in step.fields:
            text, version, by, at = stored.get((step.number, field.key), (None, 0, None, None))
            fields.append(FieldView(field.key, field.label, field.type, field.options, field.required,
                                    decode_value(field, text), version, by, at))
        _, status, submitted_at, submitted_by, finished_at, finished_by = rows[step.number]
        views.append(StepView(
            step.number, step.title, step.kind, status, state.mark(step.number), step.covers, step.purpose,
            step.desired_result, step.questions, tuple(fields), state.edit_refusal(step.number),
            submitted_at, submitted_by, finished_at, finished_by,
        ))
    return tuple(views)


def run_view(account_id: uuid.UUID | str, today: date | None = None, template: Template | None = None) -> RunView:
    """Everything the checklist shows for one account: steps, values, progress, decisions, history."""
    template = template or packaged_template()
    detail = account_detail(account_id)
    if detail.run_id is None:
        raise DomainError(f"“{detail.name}” has no run of the template yet.")
    steps = _step_views(detail.run_id, template)
    state = RunState(template, {view.number: view.status for view in steps})
    due = {view.number: view.field(DUE_KEY).value for view in steps if not view.is_approval}
    progress = state.progress({n: d for n, d in due.items() if d}, _today(today))
    decisions = tuple(
        DecisionView(*row)
        for row in ApprovalDecision.select(
            ApprovalDecision.step, ApprovalDecision.decision, ApprovalDecision.approver, ApprovalDecision.comment,
            ApprovalDecision.submitted_at, ApprovalDecision.decided_at,
        ).where(ApprovalDecision.run == detail.run_id).order_by(ApprovalDecision.decided_at).tuples()
    )
    return RunView(detail, detail.run_id, progress, steps, decisions, _history(detail.id))


def approval_queue(template: Template | None = None) -> list[QueueItem]:
    """Every pending approval of every active account, oldest submission first."""
    template = template or packaged_template()
    query = (
        StepState.select(Run.id, Account.id, Account.name, Account.owner, StepState.number,
                         StepState.submitted_at, StepState.submitted_by)
        .join(Run, on=(StepState.run == Run.id))
        .join(Account, on=(Run.account == Account.id))
        .where((StepState.status == PENDING) & (Account.archived == False))  # noqa: E712
        .order_by(StepState.submitted_at, Account.name_key)
        .tuples()
    )
    return [
        QueueItem(run_id, account_id, name, owner, number, template.step(number).title,
                  template.step(number).covers, submitted_at, submitted_by)
        for run_id, account_id, name, owner, number, submitted_at, submitted_by in query
    ]


def covered_steps(run_id: uuid.UUID | str, approval_step: int, template: Template | None = None) -> tuple[StepView, ...]:
    """The steps an approval covers, with their values, so an approver can judge without leaving the queue."""
    template = template or packaged_template()
    approval = template.step(approval_step)
    return _step_views(uuid.UUID(str(run_id)), template, list(approval.covers))
