"""KPI entries and objectives: every change goes through these functions, like `services.py`. Each validates
its input first (rules in `acct_tui.workflow.kpi`), runs in one write transaction, and records one
`AuditEvent`. The two small reads at the end feed the KPI and objective editors.

Locking follows the workflow, in the template version the account's run follows: objectives belong to the
step whose role is "objectives" (6), so a granted approval covering it (8) freezes them until it is reopened;
a KPI value entered in a "kpi" step that an approval covers (13, covered by 15) is frozen with it. Values
entered in a "kpi" step no approval covers (10, monitoring) are never frozen. Results are the "results" step's
(20). Entries remember their step by key, so they keep their step when a run moves to another version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import peewee

from acct_tui.errors import DomainError, StaleEdit
from acct_tui.store.db import current_user, retried_on_conflict, write_transaction
from acct_tui.store.models import KpiEntry, Objective, Run, utcnow
from acct_tui.store.prepared import Prepared
from acct_tui.store.services import _as_uuid, _audit, _get_account, _load_run, touch_account
from acct_tui.template import KPI_ROLE, OBJECTIVES_ROLE, RESULTS_ROLE, Step
from acct_tui.workflow import RunState
from acct_tui.workflow.fields import MAX_COMMENT, multi_line_text, parse_date
from acct_tui.workflow.kpi import (
    MAX_OBJECTIVES,
    METRIC_KEYS,
    format_metric_value,
    get_metric,
    parse_metric_value,
    to_places,
    validate_objective,
)

OBJECTIVE_FIELDS = ("title", "target", "metric", "due")


@dataclass(frozen=True, slots=True)
class KpiView:
    id: uuid.UUID
    account_id: uuid.UUID
    metric: str
    value: Decimal
    measured_on: date
    step: int | None
    version: int
    updated_by: str
    updated_at: datetime

    @property
    def text(self) -> str:
        return format_metric_value(get_metric(self.metric), self.value)


@dataclass(frozen=True, slots=True)
class ObjectiveView:
    id: uuid.UUID
    run_id: uuid.UUID
    position: int
    title: str
    metric: str | None
    target: str
    target_value: Decimal | None
    due_on: date | None
    result: str
    achieved: bool | None
    version: int
    updated_by: str
    updated_at: datetime


def _measured_on(value: object, today: date | None) -> date:
    measured = parse_date(value, "Measurement date", today)
    if measured is None:
        raise DomainError("A KPI value needs the date it was measured on (YYYY-MM-DD, today, or +N).")
    if measured > (today or date.today()):
        raise DomainError(f"Measurement date {measured.isoformat()} is in the future: KPIs record what was measured.")
    return measured


def _check_step_open(run_id: uuid.UUID | None, step_key: str | None) -> None:
    """Refuse (with the workflow's own reason) a change to data that a granted approval covers."""
    if step_key is None or run_id is None:
        return
    _, state = _load_run(run_id)
    step = state.template.step_by_key(step_key)
    if step is not None:  # a step the run's version no longer has: nothing covers it any more
        state.check_edit(step.number)


def _kpi_step(run_id: uuid.UUID | None, number: int) -> Step:
    """Step `number` of the account's run, which must be one where KPI values are entered."""
    if run_id is None:
        raise DomainError("This account has no run of the template, so KPI values cannot belong to a step.")
    _, state = _load_run(run_id)
    step = state.template.step(number)
    if step.role != KPI_ROLE:
        allowed = " and ".join(str(kpi.number) for kpi in state.template.with_role(KPI_ROLE)) or "no step"
        raise DomainError(f"KPI values are entered in steps {allowed}, not step {number}.")
    return step


def _role_step(state: RunState, role: str) -> Step:
    step = state.template.role_step(role)
    if step is None:
        raise DomainError(f"The template version this run follows has no {role} step.")
    return step


_RUN_OF_ACCOUNT = Prepared(lambda account_id: Run.select(Run.id).where(Run.account == account_id).tuples())


def _run_of(account_id: uuid.UUID) -> uuid.UUID | None:
    return _RUN_OF_ACCOUNT.scalar(account_id)


def _refuse_same_date(account_id: uuid.UUID, metric: str, measured_on: date, except_id: uuid.UUID | None = None) -> None:
    query = KpiEntry.select(KpiEntry.value).where(
        (KpiEntry.account == account_id) & (KpiEntry.metric == metric) & (KpiEntry.measured_on == measured_on)
    )
    if except_id is not None:
        query = query.where(KpiEntry.id != except_id)
    existing = query.scalar()
    if existing is not None:
        chosen = get_metric(metric)
        raise DomainError(
            f"{chosen.short} already has a value for {measured_on.isoformat()} "
            f"({format_metric_value(chosen, existing)}); edit that entry instead."
        )


def _kpi_record(entry: KpiEntry) -> dict[str, Any]:
    return {"metric": entry.metric, "value": to_places(get_metric(entry.metric), entry.value),
            "measured_on": entry.measured_on}


# KPI entries ----------------------------------------------------------------------------------------------

@retried_on_conflict
def add_kpi(
    account_id: uuid.UUID | str,
    metric: object,
    value: object,
    measured_on: object,
    *,
    step: int | None = None,
    actor: str | None = None,
    today: date | None = None,
    entry_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Record a KPI value measured on a date (one per metric and date), entered in step `step` (its number in
    the run's template version) or in no step; returns the entry's id (`entry_id` when given: an undo puts a
    deleted entry back as the same entry)."""
    chosen = get_metric(metric)
    number = parse_metric_value(chosen, value)
    measured = _measured_on(measured_on, today)
    actor = actor or current_user()
    with write_transaction():
        account = _get_account(account_id)
        step_key = None
        if step is not None:
            run_id = _run_of(account.id)
            step_key = _kpi_step(run_id, step).key
            _check_step_open(run_id, step_key)
        _refuse_same_date(account.id, chosen.key, measured)
        now = utcnow()
        entry = KpiEntry.create(id=entry_id or uuid.uuid4(), account=account.id, metric=chosen.key, value=number,
                                measured_on=measured, step=step, step_key=step_key, created_at=now, created_by=actor,
                                updated_at=now, updated_by=actor)
        touch_account(account.id, now)
        _audit("kpi.add", "kpi", entry.id, actor, account_id=account.id, step=step,
               after={"metric": chosen.key, "value": number, "measured_on": measured}, at=now)
    return entry.id


def _get_entry(entry_id: uuid.UUID | str) -> KpiEntry:
    entry = KpiEntry.get_or_none(KpiEntry.id == _as_uuid(entry_id, "KPI entry"))
    if entry is None:
        raise DomainError("That KPI entry no longer exists (someone deleted it).")
    return entry


def _check_entry_version(entry: KpiEntry, expected_version: int | None) -> None:
    if expected_version is not None and entry.version != expected_version:
        chosen = get_metric(entry.metric)
        raise StaleEdit(
            f"This {chosen.short} entry was changed by {entry.updated_by} in another session; it now reads "
            f"{format_metric_value(chosen, entry.value)} on {entry.measured_on.isoformat()}. "
            "Your entry is kept; save again to replace it.",
            current_value=(to_places(chosen, entry.value), entry.measured_on),
            current_version=entry.version,
        )


@retried_on_conflict
def edit_kpi(
    entry_id: uuid.UUID | str,
    *,
    value: object = None,
    measured_on: object = None,
    expected_version: int | None = None,
    actor: str | None = None,
    today: date | None = None,
) -> int:
    """Change a KPI entry's value and/or date (None keeps it); returns the entry's new version."""
    actor = actor or current_user()
    with write_transaction():
        entry = _get_entry(entry_id)
        _check_entry_version(entry, expected_version)
        before = _kpi_record(entry)
        number = before["value"] if value is None else parse_metric_value(get_metric(entry.metric), value)
        measured = entry.measured_on if measured_on is None else _measured_on(measured_on, today)
        _check_step_open(_run_of(entry.account_id), entry.step_key)
        after = {"metric": entry.metric, "value": number, "measured_on": measured}
        changed = [key for key in after if after[key] != before[key]]
        if not changed:
            return entry.version
        if measured != entry.measured_on:
            _refuse_same_date(entry.account_id, entry.metric, measured, except_id=entry.id)
        now = utcnow()
        KpiEntry.update(value=number, measured_on=measured, version=KpiEntry.version + 1, updated_at=now,
                        updated_by=actor).where(KpiEntry.id == entry.id).execute()
        touch_account(entry.account_id, now)
        # The metric and date on both sides: what the entry is, in any database it is synced to.
        _audit("kpi.edit", "kpi", entry.id, actor, account_id=entry.account_id, step=entry.step,
               before={"metric": entry.metric, "measured_on": entry.measured_on,
                       **{key: before[key] for key in changed}},
               after={"metric": entry.metric, "measured_on": measured, **{key: after[key] for key in changed}},
               at=now)
    return entry.version + 1


@retried_on_conflict
def delete_kpi(
    entry_id: uuid.UUID | str,
    *,
    expected_version: int | None = None,
    actor: str | None = None,
) -> None:
    """Delete a KPI entry; the audit event keeps what it said."""
    actor = actor or current_user()
    with write_transaction():
        entry = _get_entry(entry_id)
        _check_entry_version(entry, expected_version)
        _check_step_open(_run_of(entry.account_id), entry.step_key)
        now = utcnow()
        entry.delete_instance()
        touch_account(entry.account_id, now)
        _audit("kpi.delete", "kpi", entry.id, actor, account_id=entry.account_id, step=entry.step,
               before=_kpi_record(entry), at=now)


# Objectives -----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RemovedObjective:
    """Where a removed objective was, and its result, to put it back as it was."""

    id: uuid.UUID
    position: int | None  # None: after the others
    result: str = ""
    achieved: bool | None = None

    @property
    def judged(self) -> bool:
        return bool(self.result) or self.achieved is not None


def _objective_record(objective: Objective) -> dict[str, Any]:
    """What the audit log keeps of an objective: with a metric, the target as its value too (the text is how
    it reads, "4.5/5", which is not an input)."""
    return {"title": objective.title, "target": objective.target, "metric": objective.metric,
            "due": objective.due_on, "target_value": objective.target_value}


@retried_on_conflict
def add_objective(
    run_id: uuid.UUID | str,
    title: object,
    target: object,
    due: object = None,
    *,
    metric: object = None,
    actor: str | None = None,
    restoring: RemovedObjective | None = None,
) -> uuid.UUID:
    """Add an objective to the objectives step's list (a target, optionally a KPI value, and a due date);
    returns its id. `restoring` puts a removed objective back (an undo): same id, place and result."""
    fields = validate_objective(title, target, metric)
    due_on = parse_date(due, "Due date")
    actor = actor or current_user()
    with write_transaction():
        run, state = _load_run(run_id)
        step = _role_step(state, OBJECTIVES_ROLE)
        state.check_edit(step.number)
        count, last = Objective.select(peewee.fn.COUNT(Objective.id), peewee.fn.MAX(Objective.position)).where(
            Objective.run == run.id
        ).tuples().get()
        if count >= MAX_OBJECTIVES:
            raise DomainError(f"An account has at most {MAX_OBJECTIVES} objectives; merge or remove some first.")
        restoring = restoring or RemovedObjective(uuid.uuid4(), None)
        if Objective.select().where(Objective.id == restoring.id).exists():
            raise DomainError("That objective is in the list already.")
        now = utcnow()
        objective = Objective.create(
            id=restoring.id, run=run.id, position=restoring.position or (last or 0) + 1, title=fields.title,
            metric=fields.metric, target=fields.target, target_value=fields.target_value, due_on=due_on,
            result=restoring.result, achieved=restoring.achieved, created_at=now, created_by=actor, updated_at=now,
            updated_by=actor,
        )
        touch_account(run.account_id, now)
        judged = {"result": objective.result, "achieved": objective.achieved} if restoring.judged else {}
        _audit("objective.add", "objective", objective.id, actor, account_id=run.account_id, step=step.number,
               after=_objective_record(objective) | {"position": objective.position} | judged, at=now)
    return objective.id


def _get_objective(objective_id: uuid.UUID | str) -> Objective:
    objective = Objective.get_or_none(Objective.id == _as_uuid(objective_id, "objective"))
    if objective is None:
        raise DomainError("That objective no longer exists (someone removed it).")
    return objective


def _check_objective_version(objective: Objective, expected_version: int | None) -> None:
    if expected_version is not None and objective.version != expected_version:
        raise StaleEdit(
            f"The objective “{objective.title}” was changed by {objective.updated_by} in another session. "
            "Your entry is kept; check it against the current one and save again.",
            current_value=_objective_record(objective) | {"result": objective.result, "achieved": objective.achieved},
            current_version=objective.version,
        )


def _open_objective(objective_id: uuid.UUID | str, expected_version: int | None,
                    role: str) -> tuple[Objective, uuid.UUID, int]:
    """The objective, checked against the version the edit started from and the workflow's locks on the step
    with `role`; with the account and that step's number."""
    objective = _get_objective(objective_id)
    _check_objective_version(objective, expected_version)
    run, state = _load_run(objective.run_id)
    step = _role_step(state, role)
    state.check_edit(step.number)
    return objective, run.account_id, step.number


@retried_on_conflict
def edit_objective(
    objective_id: uuid.UUID | str,
    *,
    expected_version: int | None = None,
    actor: str | None = None,
    **changes: object,
) -> int:
    """Change an objective's title, target, metric or due date; returns its new version."""
    unknown = set(changes) - set(OBJECTIVE_FIELDS)
    if unknown:
        raise DomainError(f"Unknown objective field: {', '.join(sorted(unknown))}.")
    actor = actor or current_user()
    with write_transaction():
        objective, account_id, step = _open_objective(objective_id, expected_version, OBJECTIVES_ROLE)
        current = _objective_record(objective)
        merged = {**current, **changes}
        target = merged["target"]
        if "metric" in changes and "target" not in changes and objective.target_value is not None:
            target = objective.target_value  # switching metric re-checks the same number against the new range
        fields = validate_objective(merged["title"], target, merged["metric"])
        due_on = parse_date(merged["due"], "Due date")
        after = {"title": fields.title, "target": fields.target, "metric": fields.metric, "due": due_on,
                 "target_value": fields.target_value}
        changed = [key for key in after if after[key] != current[key]]
        if not changed:
            return objective.version
        now = utcnow()
        Objective.update(
            title=fields.title, target=fields.target, metric=fields.metric, target_value=fields.target_value,
            due_on=due_on, version=Objective.version + 1, updated_at=now, updated_by=actor,
        ).where(Objective.id == objective.id).execute()
        touch_account(account_id, now)
        _audit("objective.edit", "objective", objective.id, actor, account_id=account_id, step=step,
               before={key: current[key] for key in changed}, after={key: after[key] for key in changed}, at=now)
    return objective.version + 1


@retried_on_conflict
def remove_objective(
    objective_id: uuid.UUID | str,
    *,
    expected_version: int | None = None,
    actor: str | None = None,
) -> None:
    """Remove an objective from the objectives step's list; the audit event keeps everything it said."""
    actor = actor or current_user()
    with write_transaction():
        objective, account_id, step = _open_objective(objective_id, expected_version, OBJECTIVES_ROLE)
        now = utcnow()
        objective.delete_instance()
        touch_account(account_id, now)
        _audit("objective.remove", "objective", objective.id, actor, account_id=account_id, step=step,
               before=_objective_record(objective) | {"position": objective.position, "result": objective.result,
                                                      "achieved": objective.achieved},
               at=now)


@retried_on_conflict
def record_result(
    objective_id: uuid.UUID | str,
    result: object,
    achieved: bool | None,
    *,
    expected_version: int | None = None,
    actor: str | None = None,
) -> int:
    """The results step: write down what came of an objective and whether it was achieved (None: not judged yet)."""
    text = multi_line_text(result, "Result", MAX_COMMENT).strip()
    if achieved not in (True, False, None):
        raise DomainError("Achieved must be yes, no, or not judged yet.")
    actor = actor or current_user()
    with write_transaction():
        objective, account_id, step = _open_objective(objective_id, expected_version, RESULTS_ROLE)
        before = {"result": objective.result, "achieved": objective.achieved}
        after = {"result": text, "achieved": achieved}
        if before == after:
            return objective.version
        now = utcnow()
        Objective.update(result=text, achieved=achieved, version=Objective.version + 1, updated_at=now,
                         updated_by=actor).where(Objective.id == objective.id).execute()
        touch_account(account_id, now)
        _audit("objective.result", "objective", objective.id, actor, account_id=account_id, step=step,
               before={"title": objective.title, **before}, after={"title": objective.title, **after}, at=now)
    return objective.version + 1


# Reads for the editors ------------------------------------------------------------------------------------

def kpi_entries(account_id: uuid.UUID | str) -> tuple[KpiView, ...]:
    """An account's KPI values, metric by metric (in `METRICS` order), oldest first."""
    account = _as_uuid(account_id, "account")
    order = peewee.Case(KpiEntry.metric, [(key, index) for index, key in enumerate(METRIC_KEYS)], len(METRIC_KEYS))
    query = (
        KpiEntry.select(KpiEntry.id, KpiEntry.account, KpiEntry.metric, KpiEntry.value, KpiEntry.measured_on,
                        KpiEntry.step, KpiEntry.version, KpiEntry.updated_by, KpiEntry.updated_at)
        .where(KpiEntry.account == account)
        .order_by(order, KpiEntry.measured_on)
    )
    return tuple(
        KpiView(entry.id, entry.account_id, entry.metric, to_places(get_metric(entry.metric), entry.value),
                entry.measured_on, entry.step, entry.version, entry.updated_by, entry.updated_at)
        for entry in query
    )


def objectives(run_id: uuid.UUID | str) -> tuple[ObjectiveView, ...]:
    """A run's objectives in the order they were added."""
    query = Objective.select().where(Objective.run == _as_uuid(run_id, "run")).order_by(Objective.position)
    return tuple(
        ObjectiveView(item.id, item.run_id, item.position, item.title, item.metric, item.target,
                      None if item.metric is None else to_places(get_metric(item.metric), item.target_value),
                      item.due_on, item.result, item.achieved, item.version, item.updated_by, item.updated_at)
        for item in query
    )


__all__ = [
    "KpiView",
    "ObjectiveView",
    "RemovedObjective",
    "add_kpi",
    "add_objective",
    "delete_kpi",
    "edit_kpi",
    "edit_objective",
    "kpi_entries",
    "objectives",
    "record_result",
    "remove_objective",
]
