"""Installing template versions and moving runs to a newer version. Like every service: input checked first,
one write transaction, one audit event per change (per run, for an upgrade).

A preview (`preview_upgrade`) and the upgrade itself (`upgrade_run`) build the same plan
(`acct_tui.workflow.upgrade`), so what the user was shown is what is done.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from acct_tui.errors import DomainError
from acct_tui.store.db import current_user, retried_on_conflict, write_transaction
from acct_tui.store.models import (
    Account,
    ApprovalDecision,
    FieldValue,
    KpiEntry,
    Run,
    StepState,
    TemplateVersion,
    utcnow,
)
from acct_tui.store.services import _as_uuid, _audit, _load_run, touch_account
from acct_tui.store.templates import latest_version_number, template_version
from acct_tui.store.values import decode_value, display_value, encode_value
from acct_tui.template import Template, parse_template
from acct_tui.workflow import RunState
from acct_tui.workflow.upgrade import UpgradePlan, plan_upgrade


@dataclass(frozen=True, slots=True)
class Installed:
    template: Template
    previous: Template | None  # the version it follows, to say what changed


@retried_on_conflict
def install_template(text: str, source: str, *, actor: str | None = None) -> Installed:
    """Install a template file's text as the next version of its key; new runs start on it. A text already
    installed as the latest version is refused, so installing twice does not make an empty version."""
    parsed = parse_template(text, source)
    actor = actor or current_user()
    with write_transaction():
        latest = latest_version_number(parsed.key)
        previous = template_version(parsed.key, latest) if latest else None
        if previous is not None and previous.as_json() | {"version": None} == parsed.as_json() | {"version": None}:
            raise DomainError(f"{source} is the same as version {latest} of “{parsed.key}”: nothing to install.")
        version = (latest or 0) + 1
        now = utcnow()
        row = TemplateVersion.create(name=parsed.key, version=version, text=text, installed_at=now,
                                     installed_by=actor)
        _audit("template.install", "template", row.id, actor,
               after={"template": parsed.key, "version": version, "title": parsed.name, "from": source}, at=now)
    return Installed(template_version(parsed.key, version), previous)


def _stored_answers(run: Run, template: Template) -> dict[tuple[str, str], object]:
    """The run's answers by (step key, field key), decoded with the version it follows."""
    answers = {}
    for step_key, key, text in FieldValue.select(FieldValue.step_key, FieldValue.key, FieldValue.value).where(
        FieldValue.run == run.id
    ).tuples():
        step = template.step_by_key(step_key)
        field = next((field for field in step.fields if field.key == key), None) if step else None
        if field is not None:
            answers[(step_key, key)] = decode_value(field, text)
    return answers


def _plan(run: Run, state: RunState, version: int) -> UpgradePlan:
    current = run.template_version
    if version <= current:
        raise DomainError(f"The run already follows version {current}; it can only move to a newer version.")
    return plan_upgrade(state, _stored_answers(run, state.template), template_version(run.template_name, version))


@dataclass(frozen=True, slots=True)
class RunPreview:
    run_id: uuid.UUID
    account_id: uuid.UUID
    account: str
    plan: UpgradePlan


def preview_upgrade(run_id: uuid.UUID | str, version: int) -> UpgradePlan:
    """What moving the run to `version` would do; nothing is written."""
    run, state = _load_run(run_id)
    return _plan(run, state, version)


def preview_upgrades(account_id: uuid.UUID | str | None, version: int) -> list[RunPreview]:
    """The preview for the account's run or, with no account, for every run on a version older than
    `version` of its template, by account name."""
    query = Run.select(Run.id, Account.id, Account.name).join(Account, on=(Run.account == Account.id))
    if account_id is not None:
        query = query.where(Account.id == _as_uuid(account_id, "account"))
    else:
        names = TemplateVersion.select(TemplateVersion.name).where(TemplateVersion.version == version)
        query = query.where(Run.template_name.in_(names) & (Run.template_version < version))
    rows = list(query.order_by(Account.name_key).tuples())
    if account_id is not None and not rows:
        raise DomainError("That account has no run of the template.")
    return [RunPreview(run_id, account, name, preview_upgrade(run_id, version)) for run_id, account, name in rows]


@retried_on_conflict
def upgrade_run(run_id: uuid.UUID | str, version: int, *, allow_loss: bool = False,
                actor: str | None = None) -> UpgradePlan:
    """Move a run to `version` of its template, as `preview_upgrade` describes it. Refused (nothing changes)
    when an answer would be lost, unless `allow_loss`; the lost answers are then kept in the audit event."""
    actor = actor or current_user()
    with write_transaction():
        run, state = _load_run(run_id)
        plan = _plan(run, state, version)
        if plan.loses_answers and not allow_loss:
            raise DomainError(
                f"Moving to version {version} would lose {len(plan.losses)} answer"
                f"{'s' if len(plan.losses) != 1 else ''} ({plan.losses[0]}); nothing was changed. "
                "Look at the preview, and upgrade with --allow-loss to accept that."
            )
        _apply(run, plan, actor)
    return plan


def _renumber(model, number_column, run_filter, new: Template) -> None:
    """Give each row of a run its step's number in `new`, through negative numbers first, so that no two
    rows share a number (a unique index) half-way."""
    model.update({number_column: number_column * -1}).where(run_filter).execute()
    for step in new.steps:
        model.update({number_column: step.number}).where(run_filter & (model.step_key == step.key)).execute()


def _apply(run: Run, plan: UpgradePlan, actor: str) -> None:
    now = utcnow()
    new = plan.new
    for step_key, key in plan.dropped:
        FieldValue.delete().where(
            (FieldValue.run == run.id) & (FieldValue.step_key == step_key) & (FieldValue.key == key)
        ).execute()
    for move in plan.moves:
        if move.old_value != move.new_value:
            field = new.step_by_key(move.step_key).field(move.field_key)
            FieldValue.update(value=encode_value(field, move.new_value), version=FieldValue.version + 1,
                              updated_at=now, updated_by=actor).where(
                (FieldValue.run == run.id) & (FieldValue.step_key == move.step_key)
                & (FieldValue.key == move.field_key)
            ).execute()
    kept_keys = [step.key for step in new.steps]
    StepState.delete().where((StepState.run == run.id) & StepState.step_key.not_in(kept_keys)).execute()
    _renumber(FieldValue, FieldValue.step, FieldValue.run == run.id, new)
    _renumber(StepState, StepState.number, StepState.run == run.id, new)
    stored = dict(StepState.select(StepState.step_key, StepState.status).where(StepState.run == run.id).tuples())
    for step in new.steps:
        status = plan.state.statuses[step.number]
        if stored.get(step.key) == status:
            continue
        changes = {"status": status, "updated_at": now}
        if step.key in plan.submitted:  # entering the approval queue now
            changes.update(submitted_at=now, submitted_by=actor)
        if step.key in stored:
            StepState.update(**changes).where((StepState.run == run.id) & (StepState.step_key == step.key)).execute()
        else:
            StepState.create(run=run.id, number=step.number, step_key=step.key, **changes)
    for gate in new.approvals:
        ApprovalDecision.update(step=gate.number).where(
            (ApprovalDecision.run == run.id) & (ApprovalDecision.step_key == gate.key)
        ).execute()
    for step in new.steps:
        KpiEntry.update(step=step.number).where(
            (KpiEntry.account == run.account_id) & (KpiEntry.step_key == step.key)
        ).execute()
    progress = plan.state.progress()
    Run.update(template_version=new.version, step_count=progress.total, done_count=progress.done,
               current_step=progress.current_step, next_approval=progress.next_approval, updated_at=now).where(
        Run.id == run.id).execute()
    touch_account(run.account_id, now)
    moved = [f"“{move.label}” {display_value(new.step_by_key(move.step_key).field(move.field_key), move.new_value)}"
             f" from step {move.old_number} to {move.new_number}"
             for move in plan.moves if move.old_number != move.new_number or move.old_value != move.new_value]
    _audit("run.upgrade", "run", run.id, actor, account_id=run.account_id, before={"version": plan.old.version},
           after={"version": new.version, "moved": moved, "lost": list(plan.losses)}, at=now)

