"""Every change to the data goes through these functions. Each validates its input first, runs in one write
transaction, and records one `AuditEvent` with who, what, when, and the values before and after.

Invalid input and refused actions raise `DomainError` (or `WorkflowError`, `StaleEdit`) with a message meant
for the user; nothing is half-written because the transaction rolls back.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import peewee

from acct_tui.errors import DomainError, StaleEdit
from acct_tui.store import summaries
from acct_tui.store.db import before_commit, current_user, retried_on_conflict, write_transaction
from acct_tui.store.models import (
    Account,
    ApprovalDecision,
    AuditEvent,
    FieldValue,
    Run,
    StepState,
    utcnow,
)
from acct_tui.store.prepared import Prepared, RowInsert, Slot, row_by_id
from acct_tui.store.templates import current_template, run_template
from acct_tui.store.values import decode_value, display_value, encode_value, field_event, logged_value
from acct_tui.sync.changelog import record_audited_change
from acct_tui.sync.bulk import bulk_insert
from acct_tui.template import DUE_KEY, Field, Template
from acct_tui.workflow import (
    APPROVE,
    APPROVED,
    DONE,
    REJECT,
    REJECTED,
    Progress,
    RunState,
    Transition,
)
from acct_tui.workflow.field_kinds import normalize_field_value
from acct_tui.workflow.fields import (
    MAX_COMMENT,
    MAX_NAME,
    SEGMENTS,
    STAGES,
    choose,
    multi_line_text,
    name_key,
    one_line_text,
    parse_revenue,
)

ACCOUNT_FIELDS = ("name", "owner", "segment", "stage", "industry", "annual_revenue")


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)


_INSERT_AUDIT_EVENT = RowInsert(AuditEvent)


def _audit(
    action: str,
    entity: str,
    entity_id: uuid.UUID,
    actor: str,
    *,
    account_id: uuid.UUID | None = None,
    step: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    event = AuditEvent(
        at=at or utcnow(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        account_id=account_id,
        step=step,
        before=_json(before or {}),
        after=_json(after or {}),
    )
    _INSERT_AUDIT_EVENT(event)
    record_audited_change(event)
    if account_id is not None:  # every change audits once, naming its account: its summaries follow
        before_commit(summaries.refresh, account_id)


def _as_uuid(value: uuid.UUID | str, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise DomainError(f"“{str(value)[:40]}” is not a valid {what} id.") from None


# Accounts -----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AccountFields:
    name: str
    owner: str
    segment: str
    stage: str
    industry: str
    annual_revenue: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ACCOUNT_FIELDS}


def validate_account(
    name: object,
    owner: object = "",
    segment: object = SEGMENTS[0],
    stage: object = STAGES[0],
    industry: object = "",
    annual_revenue: object = None,
) -> AccountFields:
    """Check account attributes; the first problem raises DomainError naming the field."""
    return AccountFields(
        name=one_line_text(name, "Account name", MAX_NAME, required=True),
        owner=one_line_text(owner, "Owner"),
        segment=choose(segment, SEGMENTS, "Segment"),
        stage=choose(stage, STAGES, "Lifecycle stage"),
        industry=one_line_text(industry, "Industry"),
        annual_revenue=parse_revenue(annual_revenue),
    )


def _refuse_duplicate_name(name: str, except_id: uuid.UUID | None = None) -> None:
    query = Account.select(Account.id, Account.name).where(Account.name_key == name_key(name))
    if except_id is not None:
        query = query.where(Account.id != except_id)
    existing = query.first()
    if existing is not None:
        raise DomainError(f"An account named “{existing.name}” already exists (names ignore case).")


@retried_on_conflict
def create_account(
    name: object,
    owner: object = "",
    segment: object = SEGMENTS[0],
    stage: object = STAGES[0],
    industry: object = "",
    annual_revenue: object = None,
    *,
    actor: str | None = None,
) -> uuid.UUID:
    """Create an account and start its run of the template (its latest version); returns the account id."""
    fields = validate_account(name, owner, segment, stage, industry, annual_revenue)
    actor = actor or current_user()
    with write_transaction():
        _refuse_duplicate_name(fields.name)
        now = utcnow()
        try:
            account = Account.create(
                **fields.as_dict(), name_key=name_key(fields.name), created_at=now, updated_at=now, last_activity_at=now
            )
        except peewee.IntegrityError:
            raise DomainError(f"An account named “{fields.name}” already exists (names ignore case).") from None
        _audit("account.create", "account", account.id, actor, account_id=account.id, after=fields.as_dict(), at=now)
        _start_run(account, actor, current_template(), now)
    return account.id


_ACCOUNT = row_by_id(Account)


def _get_account(account_id: uuid.UUID | str) -> Account:
    account = _ACCOUNT.first(_as_uuid(account_id, "account"))
    if account is None:
        raise DomainError("That account no longer exists.")
    return account


@retried_on_conflict
def edit_account(
    account_id: uuid.UUID | str,
    *,
    expected_version: int | None = None,
    actor: str | None = None,
    **changes: object,
) -> int:
    """Change some of an account's attributes; returns the account's new version."""
    unknown = set(changes) - set(ACCOUNT_FIELDS)
    if unknown:
        raise DomainError(f"Unknown account field: {', '.join(sorted(unknown))}.")
    actor = actor or current_user()
    with write_transaction():
        account = _get_account(account_id)
        if expected_version is not None and account.version != expected_version:
            raise StaleEdit(
                f"“{account.name}” was changed in another session while you were editing; "
                "your entries are kept: check them against the current values and save again.",
                current_value={name: getattr(account, name) for name in ACCOUNT_FIELDS},
                current_version=account.version,
            )
        current = {name: getattr(account, name) for name in ACCOUNT_FIELDS}
        fields = validate_account(**{**current, **changes})
        if fields.name != account.name:
            _refuse_duplicate_name(fields.name, except_id=account.id)
        before = {k: v for k, v in current.items() if v != getattr(fields, k)}
        if not before:
            return account.version
        after = {k: getattr(fields, k) for k in before}
        now = utcnow()
        for key, value in after.items():
            setattr(account, key, value)
        if "name" in after:  # an account a sync left with a name key of its own keeps it until renamed
            account.name_key = name_key(fields.name)
        account.updated_at = account.last_activity_at = now
        account.version += 1
        account.save()
        _audit("account.edit", "account", account.id, actor, account_id=account.id, before=before, after=after, at=now)
    return account.version


@retried_on_conflict
def archive_account(account_id: uuid.UUID | str, archived: bool = True, *, actor: str | None = None) -> None:
    """Archive (hide from the working list) or restore an account; nothing is deleted."""
    actor = actor or current_user()
    with write_transaction():
        account = _get_account(account_id)
        if account.archived == archived:
            return
        now = utcnow()
        Account.update(archived=archived, updated_at=now, version=Account.version + 1).where(
            Account.id == account.id
        ).execute()
        action = "account.archive" if archived else "account.restore"
        _audit(action, "account", account.id, actor, account_id=account.id,
               before={"archived": not archived}, after={"archived": archived}, at=now)


# Runs -----------------------------------------------------------------------------------------------------

_INSERT_RUN = RowInsert(Run)
_NEW_STEP_FIELDS = (StepState.id, StepState.run, StepState.number, StepState.step_key, StepState.status,
                    StepState.updated_at)


def _start_run(account: Account, actor: str, template: Template, now: datetime) -> Run:
    state = RunState.new(template)
    progress = state.progress()
    run = Run(
        account=account,
        template_name=template.key,
        template_version=template.version,
        started_at=now,
        started_by=actor,
        step_count=progress.total,
        done_count=progress.done,
        current_step=progress.current_step,
        next_approval=progress.next_approval,
        updated_at=now,
    )
    _INSERT_RUN(run)
    bulk_insert(StepState, _NEW_STEP_FIELDS, [(uuid.uuid4(), run.id, step.number, step.key, state.statuses[step.number],
                                               now) for step in template.steps])
    _audit("run.start", "run", run.id, actor, account_id=account.id,
           after={"template": template.name, "version": template.version}, at=now)
    return run


@retried_on_conflict
def start_run(account_id: uuid.UUID | str, *, actor: str | None = None) -> uuid.UUID:
    """Start the account's run of the template's latest version (accounts made by `create_account` already
    have one)."""
    actor = actor or current_user()
    with write_transaction():
        account = _get_account(account_id)
        if Run.select().where(Run.account == account.id).exists():
            raise DomainError(f"“{account.name}” already has a run of the template.")
        return _start_run(account, actor, current_template(), utcnow()).id


_RUN = row_by_id(Run)
_STEP_STATUSES = Prepared(lambda run_id: StepState.select(StepState.step_key, StepState.status)
                          .where(StepState.run == run_id).tuples())


def _load_run(run_id: uuid.UUID | str) -> tuple[Run, RunState]:
    """The run and its state, read with the template version it follows (`state.template`)."""
    run = _RUN.first(_as_uuid(run_id, "run"))
    if run is None:
        raise DomainError("That run no longer exists.")
    return run, RunState.from_stored(run_template(run), dict(_STEP_STATUSES.rows(run.id)))


_STEP_VALUES = Prepared(lambda run_id, step_key: FieldValue.select(FieldValue.key, FieldValue.value).where(
    (FieldValue.run == run_id) & (FieldValue.step_key == step_key)).tuples())


def _step_values(run: Run, step: int, template: Template) -> dict[str, object]:
    fields = {f.key: f for f in template.step(step).fields}
    rows = _STEP_VALUES.rows(run.id, template.step(step).key)
    return {key: decode_value(fields[key], text) for key, text in rows if key in fields}


def _step_update(submitted: bool, finished: bool) -> Prepared:
    """A step's new status; a submission also records who submitted it and when, a finish who finished it."""
    def build(run_id: Slot, step_key: Slot, status: Slot, now: Slot, actor: Slot) -> peewee.Update:
        update = {StepState.status: status.of(StepState.status), StepState.updated_at: now.of(StepState.updated_at)}
        if submitted:
            update.update({StepState.submitted_at: now.of(StepState.submitted_at),
                           StepState.submitted_by: actor.of(StepState.submitted_by)})
        if finished:
            update.update({StepState.finished_at: now.of(StepState.finished_at),
                           StepState.finished_by: actor.of(StepState.finished_by)})
        return StepState.update(update).where((StepState.run == run_id) & (StepState.step_key == step_key))

    return Prepared(build)


_STEP_UPDATES = {(submitted, finished): _step_update(submitted, finished)
                 for submitted in (False, True) for finished in (False, True)}
_SET_RUN_PROGRESS = Prepared(lambda run_id, done, current, next_approval, now: Run.update(
    done_count=done.of(Run.done_count), current_step=current.of(Run.current_step),
    next_approval=next_approval.of(Run.next_approval), updated_at=now.of(Run.updated_at)).where(Run.id == run_id))
_TOUCH_ACCOUNT = Prepared(lambda account_id, now: Account.update(last_activity_at=now.of(Account.last_activity_at))
                          .where(Account.id == account_id))


def touch_account(account_id: uuid.UUID, now: datetime) -> None:
    """The account was worked on now (the list's "last activity")."""
    _TOUCH_ACCOUNT.execute(account_id, now)


def _apply(run: Run, before: RunState, transition: Transition, actor: str, action: str, step: int,
           extra: dict[str, Any] | None = None) -> Progress:
    """Write the step states a transition changed, keep the run's summary columns current, audit it."""
    now = utcnow()
    after = transition.state
    changed = {n: s for n, s in after.statuses.items() if before.statuses[n] != s}
    template = after.template
    for number, status in changed.items():
        update = _STEP_UPDATES[(number in transition.submitted, status in (DONE, APPROVED, REJECTED))]
        update.execute(run.id, template.step(number).key, status, now, actor)
    progress = after.progress()
    _SET_RUN_PROGRESS.execute(run.id, progress.done, progress.current_step, progress.next_approval, now)
    touch_account(run.account_id, now)
    _audit(
        action, "run", run.id, actor, account_id=run.account_id, step=step,
        before={"states": {str(n): before.statuses[n] for n in changed}},
        after={"states": {str(n): s for n, s in changed.items()}, **(extra or {})},
        at=now,
    )
    return progress


def _field(template: Template, step: int, key: str) -> Field:
    try:
        return template.step(step).field(key)
    except KeyError:
        raise DomainError(f"Step {step} has no field “{key}”.") from None


_INSERT_FIELD_VALUE = RowInsert(FieldValue)
_SET_FIELD_VALUE = Prepared(lambda value_id, value, now, actor: FieldValue.update(
    value=value.of(FieldValue.value), version=FieldValue.version + 1, updated_at=now.of(FieldValue.updated_at),
    updated_by=actor.of(FieldValue.updated_by)).where(FieldValue.id == value_id))
_TOUCH_RUN = Prepared(lambda run_id, now: Run.update(updated_at=now.of(Run.updated_at)).where(Run.id == run_id))
_FIELD_VALUE = Prepared(lambda run_id, step_key, key: FieldValue.select().where(
    (FieldValue.run == run_id) & (FieldValue.step_key == step_key) & (FieldValue.key == key)).limit(1))


@retried_on_conflict
def set_field(
    run_id: uuid.UUID | str,
    step: int,
    key: str,
    value: object,
    *,
    expected_version: int | None = None,
    actor: str | None = None,
) -> int:
    """Save one form value of step `step` (its number in the template version the run follows); returns the
    value's new version.

    `expected_version` is the version the user's edit started from (0 for a value never saved). When
    someone else saved in between, `StaleEdit` carries the current value and nothing is written.
    """
    actor = actor or current_user()
    with write_transaction():
        run, state = _load_run(run_id)
        field = _field(state.template, step, key)
        normalized = normalize_field_value(field, value)
        encoded = encode_value(field, normalized)
        step_key = state.template.step(step).key
        state.check_edit(step)
        existing = _FIELD_VALUE.first(run.id, step_key, key)
        current_version = existing.version if existing else 0
        if expected_version is not None and expected_version != current_version:
            current = decode_value(field, existing.value if existing else None)
            who = f" by {existing.updated_by}" if existing else ""
            raise StaleEdit(
                f"{field.label} was changed{who} in another session while you were editing. "
                f"It now reads: {display_value(field, current)[:200]}. Your text is kept; apply it again to replace that.",
                current_value=current,
                current_version=current_version,
            )
        if existing is not None and existing.value == encoded:
            return current_version
        now = utcnow()
        previous = decode_value(field, existing.value if existing else None)
        if existing is None:
            existing = FieldValue(run=run.id, step=step, step_key=step_key, key=key, value=encoded, version=1,
                                  updated_at=now, updated_by=actor)
            _INSERT_FIELD_VALUE(existing)
        else:
            _SET_FIELD_VALUE.execute(existing.id, encoded, now, actor)
        if key == DUE_KEY:
            StepState.update(due_on=normalized).where(
                (StepState.run == run.id) & (StepState.step_key == step_key)
            ).execute()
        _TOUCH_RUN.execute(run.id, now)
        touch_account(run.account_id, now)
        _audit("field.set", "field", existing.id, actor, account_id=run.account_id, step=step,
               before=field_event(key, step_key, logged_value(field, previous)),
               after=field_event(key, step_key, logged_value(field, normalized)), at=now)
    return current_version + 1


@retried_on_conflict
def record_held_outcome(
    account_id: uuid.UUID | str,
    step: int | None,
    where: str,
    text: str,
    applied: bool,
    *,
    actor: str | None = None,
) -> None:
    """Record in the account's history what became of text the user typed that could not be saved at the
    time and was held outside the database: applied (saved now) or discarded by the user (the history then
    still has the text)."""
    actor = actor or current_user()
    with write_transaction():
        account = _get_account(account_id)
        action = "held.apply" if applied else "held.discard"
        _audit(action, "account", account.id, actor, account_id=account.id, step=step,
               after={where: text})


@retried_on_conflict
def record_merge(kept_id: uuid.UUID | str, merged_id: uuid.UUID | str, merged_name: str, *,
                 actor: str | None = None, at: datetime | None = None) -> None:
    """Record in the kept account's history that another account of the same name (both sides of a sync
    created one) was merged into it (`acct_tui.sync.conflicts.merge_duplicate` does the merging)."""
    actor = actor or current_user()
    with write_transaction():
        account = _get_account(kept_id)
        _audit("account.merge", "account", account.id, actor, account_id=account.id,
               after={"merged_account": str(merged_id), "merged_name": merged_name}, at=at)


@retried_on_conflict
def complete_step(run_id: uuid.UUID | str, step: int, *, actor: str | None = None) -> Progress:
    """Mark a task done (refused with the reason when a gate locks it or a required field is empty)."""
    actor = actor or current_user()
    with write_transaction():
        run, state = _load_run(run_id)
        transition = state.complete(step, _step_values(run, step, state.template))
        return _apply(run, state, transition, actor, "step.complete", step)


@retried_on_conflict
def reopen_step(run_id: uuid.UUID | str, step: int, *, actor: str | None = None) -> Progress:
    """Reopen a done task (or a granted approval, which goes back to the queue)."""
    actor = actor or current_user()
    with write_transaction():
        run, state = _load_run(run_id)
        transition = state.reopen(step)
        action = "approval.reopen" if state.template.step(step).is_approval else "step.reopen"
        return _apply(run, state, transition, actor, action, step)


@retried_on_conflict
def reopen_approval(run_id: uuid.UUID | str, step: int, *, actor: str | None = None) -> Progress:
    """Take back a granted approval so its steps can be edited; it returns to the approval queue."""
    actor = actor or current_user()
    with write_transaction():
        run, state = _load_run(run_id)
        return _apply(run, state, state.reopen_approval(step), actor, "approval.reopen", step)


@retried_on_conflict
def withdraw_rejection(run_id: uuid.UUID | str, step: int, *, actor: str | None = None) -> Progress:
    """Take back a rejection (an undo): the approval returns to the queue with its steps done, as before it
    was decided; the decision stays on record."""
    actor = actor or current_user()
    with write_transaction():
        run, state = _load_run(run_id)
        return _apply(run, state, state.withdraw_rejection(step), actor, "approval.withdraw", step)


@retried_on_conflict
def _decide(run_id: uuid.UUID | str, step: int, decision: str, comment: object, actor: str | None) -> Progress:
    comment_text = multi_line_text(comment, "Comment", MAX_COMMENT).strip()
    actor = actor or current_user()
    with write_transaction():
        run, state = _load_run(run_id)
        if decision == APPROVE:
            transition = state.approve(step)
        else:
            transition = state.reject(step, comment_text)
        step_key = state.template.step(step).key
        submitted_at = StepState.select(StepState.submitted_at).where(
            (StepState.run == run.id) & (StepState.step_key == step_key)
        ).scalar()
        now = utcnow()
        turnaround = round((now - submitted_at).total_seconds()) if submitted_at else None
        ApprovalDecision.create(run=run.id, step=step, step_key=step_key, decision=decision, approver=actor,
                                comment=comment_text,
                                submitted_at=submitted_at, decided_at=now, turnaround_seconds=turnaround)
        return _apply(run, state, transition, actor, f"approval.{'approve' if decision == APPROVE else 'reject'}",
                      step, extra={"comment": comment_text})


def approve(run_id: uuid.UUID | str, step: int, comment: object = "", *, actor: str | None = None) -> Progress:
    """Grant a pending approval; the steps after it unlock."""
    return _decide(run_id, step, APPROVE, comment, actor)


def reject(run_id: uuid.UUID | str, step: int, comment: object, *, actor: str | None = None) -> Progress:
    """Refuse a pending approval with a required comment; the steps it covers reopen to be redone."""
    return _decide(run_id, step, REJECT, comment, actor)


__all__ = [
    "AccountFields",
    "approve",
    "archive_account",
    "complete_step",
    "create_account",
    "edit_account",
    "record_held_outcome",
    "reject",
    "reopen_approval",
    "reopen_step",
    "set_field",
    "start_run",
    "validate_account",
    "withdraw_rejection",
]
