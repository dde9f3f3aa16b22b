"""Conflicts for people: what was changed on both sides, the values with who and when, and resolving one.

A conflict is a key whose tips disagree (see `changelog`); two accounts given the same name on two sides
are one too (each keeps a name key of its own until one is renamed, archived, or merged into the other)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from acct_tui.errors import DomainError
from acct_tui.store import services
from acct_tui.store.db import current_user, retried_on_conflict, write_transaction
from acct_tui.store.models import Account, FieldValue, KpiEntry, Objective, Run, StepState, utcnow
from acct_tui.store.templates import TemplateCache
from acct_tui.sync.changelog import (
    conflict_keys,
    copy_due_dates,
    head_change,
    recompute_runs,
    record,
    record_alternative,
    settle_names,
)
from acct_tui.sync.entities import (
    Item,
    account_items,
    apply_value,
    field_item,
    kpi_item,
    local_row,
    make_key,
    objective_item,
    step_item,
)
from acct_tui.sync.models import SyncChange, SyncTip
from acct_tui.workflow.fields import name_key


@dataclass(frozen=True, slots=True)
class Version:
    """One side's value of a conflicting key."""

    value: str  # JSON
    actor: str
    at: datetime
    local: bool  # the value this database shows now

    @property
    def shown(self) -> str:
        value = json.loads(self.value)
        if isinstance(value, dict):
            return ", ".join(f"{k}: {v}" for k, v in sorted(value.items()) if v not in (None, ""))
        return "(removed)" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Conflict:
    key: str
    kind: str
    account_id: str | None
    account_name: str
    what: str  # "Owner", "Step identify-account", "Field notes of step identify-account", ...
    versions: tuple[Version, ...]
    step: int | None = None  # the step's number, for a step state or form value

    @property
    def text_field(self) -> str | None:
        """The account field or form field a hand-written merge sets, when its values are text."""
        kind, *parts = json.loads(self.key)
        if not all(isinstance(json.loads(v.value), str) for v in self.versions):
            return None
        return parts[1] if kind == "account" else parts[2] if kind == "field" else None


def _where(key: str, runs: dict[str, str]) -> tuple[str | None, str]:
    kind, *parts = json.loads(key)
    if kind == "account":
        return parts[0], parts[1].replace("_", " ").capitalize()
    if kind == "step":
        return runs.get(parts[0]), f"State of step {parts[1]}"
    if kind == "field":
        return runs.get(parts[0]), f"{parts[2].replace('_', ' ').capitalize()} in step {parts[1]}"
    if kind == "kpi":
        return parts[0], f"KPI {parts[1]} on {parts[2]}"
    return None, f"{kind} {' '.join(map(str, parts))}"


def conflicts() -> list[Conflict]:
    keys = conflict_keys()
    if not keys:
        return []
    runs = {str(run_id): str(account_id) for run_id, account_id in Run.select(Run.id, Run.account).tuples()}
    steps = {(str(run_id), step_key): number for run_id, step_key, number in StepState.select(
        StepState.run, StepState.step_key, StepState.number).where(
        StepState.run.in_(list({json.loads(key)[1] for key in keys if json.loads(key)[0] in ("step", "field")})))
        .tuples()}
    names = {str(account_id): name for account_id, name in Account.select(Account.id, Account.name).tuples()}
    found = []
    for key in keys:
        tips = list(SyncTip.select().where(SyncTip.key == key))
        changes = {c.id: c for c in SyncChange.select().where(SyncChange.id.in_([t.change for t in tips]))}
        versions = tuple(sorted(
            (Version(t.value, changes[t.change].actor, changes[t.change].at, bool(t.head)) for t in tips),
            key=lambda v: (not v.local, v.at)))
        account_id, what = _where(key, runs)
        kind, *parts = json.loads(key)
        step = steps.get((parts[0], parts[1])) if kind in ("step", "field") else None
        found.append(Conflict(key, kind, account_id, names.get(account_id or "", ""), what, versions, step))
    return sorted(found, key=lambda c: (c.account_name.casefold(), c.what))


def duplicate_names() -> list[tuple[str, str]]:
    """Accounts that arrived with a name another account already had: (account id, name). Asked at every load
    of the account list: the keys are looked for in the name index alone (a third of the time of reading the
    accounts), and the few accounts found are read after."""
    keys = [key for (key,) in Account.select(Account.name_key).where(Account.name_key.contains("#")).tuples()]
    if not keys:
        return []
    return [(str(account_id), name) for account_id, name, key in
            Account.select(Account.id, Account.name, Account.name_key).where(
                Account.name_key.in_(keys) & (Account.archived == False)).tuples()  # noqa: E712
            if key != name_key(name)]


def accounts_with_conflicts() -> set[uuid.UUID]:
    """Accounts to mark in the list: a conflict on one of their values, or a name another account has."""
    accounts, runs = set(), set()
    for key in conflict_keys():
        kind, *parts = json.loads(key)
        if kind in ("account", "kpi"):
            accounts.add(parts[0])
        elif kind in ("step", "field", "run"):
            runs.add(parts[0])
    if runs:
        accounts |= {str(a) for (a,) in Run.select(Run.account).where(Run.id.in_(list(runs))).tuples()}
    return {uuid.UUID(a) for a in accounts} | {uuid.UUID(a) for a, _ in duplicate_names()}


def steps_with_conflicts(run_id: uuid.UUID | str) -> set[str]:
    """Keys of the run's steps whose state or a field conflicts."""
    steps = set()
    for key in conflict_keys():
        kind, *parts = json.loads(key)
        if kind in ("step", "field") and parts[0] == str(run_id):
            steps.add(parts[1])
    return steps


@retried_on_conflict
def resolve(key: str, value: str, *, actor: str | None = None) -> None:
    """Settle a conflict with `value` (JSON: one side's value, or a merge the user wrote): it replaces every
    side's value, here and, after the next sync, everywhere."""
    actor = actor or current_user()
    with write_transaction():
        now = utcnow()
        templates = TemplateCache()
        account_id, run_id = apply_value(key, json.loads(value), actor, now, templates)
        kind = json.loads(key)[0]
        record([Item(kind, key, value, local_row(key))], actor, now, resolving=True)
        if account_id:
            settle_names([account_id])
        if run_id:
            recompute_runs([run_id], templates)
            copy_due_dates({key: json.loads(value)})


# Merging two accounts created on both sides with one name ------------------------------------------------

MERGED_ACCOUNT_FIELDS = ("owner", "segment", "stage", "industry", "annual_revenue")
_EMPTY_VALUES = frozenset({"null", '""', '"[]"'})


def _is_empty(item: Item) -> bool:
    """Nothing entered: an empty field, or a step never submitted nor finished (its state as created)."""
    if item.kind == "step":
        step = json.loads(item.value)
        return step["submitted_at"] is None and step["finished_at"] is None
    return item.value in _EMPTY_VALUES


def _values_of(account: Account, run: Run | None) -> dict[tuple[object, ...], Item]:
    """The account's values a merge combines, by their key without the account or run id."""
    fields = {json.loads(item.key)[2]: item for item in account_items(account)}
    values = {("account", field): fields[field] for field in MERGED_ACCOUNT_FIELDS}
    if run is not None:
        values |= {("step", step.step_key): step_item(step)
                   for step in StepState.select().where(StepState.run == run.id)}
        values |= {("field", value.step_key, value.key): field_item(value)
                   for value in FieldValue.select().where(FieldValue.run == run.id)}
    values |= {("kpi", entry.metric, entry.measured_on.isoformat()): kpi_item(entry)
               for entry in KpiEntry.select().where(KpiEntry.account == account.id)}
    return values


def _key_for(where: tuple[object, ...], account_id: object, run_id: object) -> str:
    kind, *parts = where
    owner = account_id if kind in ("account", "kpi") else run_id
    return make_key(kind, owner, *parts)


@retried_on_conflict
@retried_on_conflict
def merge_duplicate(account_id: str, *, actor: str | None = None) -> str:
    """Merge the account `account_id` (listed by `duplicate_names`) and the account that has its name into
    one; returns the id of the one kept. Both sides of a sync keep the same one (the smaller id), so two
    people merging the same pair on two machines end with the same account.

    Value by value: a value only the other account has is taken; the same value on both is kept once; two
    different values are a conflict to resolve like any other (the kept account shows its own meanwhile).
    Its objectives join the kept account's. The other account is archived with its history (decisions, audit
    events) and no longer counts as a duplicate. Everything is logged, so the merge travels with the next sync."""
    actor = actor or current_user()
    with write_transaction():
        account = Account.get_or_none(Account.id == account_id)
        if account is None or account.archived:
            raise DomainError("That account is no longer a duplicate: it was archived or merged meanwhile.")
        wanted = name_key(account.name)
        twin = Account.select().where(
            (Account.id != account.id) & (Account.archived == False)  # noqa: E712
            & ((Account.name_key == wanted) | Account.name_key.startswith(f"{wanted}#"))).first()
        if twin is None:
            raise DomainError("No other account has this name any more: nothing to merge.")
        kept, merged = sorted((account, twin), key=lambda a: str(a.id))
        kept_run, merged_run = Run.get_or_none(Run.account == kept.id), Run.get_or_none(Run.account == merged.id)
        now = utcnow()
        templates = TemplateCache()
        theirs = _values_of(merged, merged_run)
        mine = _values_of(kept, kept_run)
        taken: dict[str, object] = {}
        for where, item in theirs.items():
            if _is_empty(item) or (where[0] in ("step", "field") and kept_run is None):
                continue
            key = _key_for(where, kept.id, kept_run.id if kept_run else None)
            current = mine.get(where)
            if current is not None and current.value == item.value:
                continue
            if current is None or _is_empty(current):
                apply_value(key, json.loads(item.value), actor, now, templates)
                record([Item(item.kind, key, item.value, local_row(key))], actor, now)
                taken[key] = json.loads(item.value)
            else:
                written_by, written_at = head_change(item.key) or (actor, now)
                record_alternative(Item(item.kind, key, item.value, current.row), written_by, written_at)
        if merged_run is not None and kept_run is not None:
            moved = [o for (o,) in Objective.select(Objective.id).where(Objective.run == merged_run.id).tuples()]
            Objective.update(run=kept_run.id).where(Objective.id.in_(moved)).execute()
            record([objective_item(o) for o in Objective.select().where(Objective.id.in_(moved))], actor, now)
            recompute_runs([str(kept_run.id)], templates)
            copy_due_dates(taken)
        services.archive_account(merged.id, actor=actor)
        settle_names([str(kept.id)])
        services.record_merge(kept.id, merged.id, merged.name, actor=actor, at=now)
    return str(kept.id)
