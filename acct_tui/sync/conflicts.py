"""Conflicts for people: what was changed on both sides, the values with who and when, and resolving one.

A conflict is a key whose tips disagree (see `changelog`); two accounts given the same name on two sides
are one too (each keeps a name key of its own until one is renamed, or one is archived as merged)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from acct_tui.store.db import current_user, retried_on_conflict, write_transaction
from acct_tui.store.models import Account, Run, utcnow
from acct_tui.store.templates import TemplateCache
from acct_tui.sync.changelog import conflict_keys, copy_due_dates, recompute_runs, record, settle_names
from acct_tui.sync.entities import Item, apply_value, local_row
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
    names = {str(account_id): name for account_id, name in Account.select(Account.id, Account.name).tuples()}
    found = []
    for key in keys:
        tips = list(SyncTip.select().where(SyncTip.key == key))
        changes = {c.id: c for c in SyncChange.select().where(SyncChange.id.in_([t.change for t in tips]))}
        versions = tuple(sorted(
            (Version(t.value, changes[t.change].actor, changes[t.change].at, bool(t.head)) for t in tips),
            key=lambda v: (not v.local, v.at)))
        account_id, what = _where(key, runs)
        found.append(Conflict(key, json.loads(key)[0], account_id, names.get(account_id or "", ""), what, versions))
    return sorted(found, key=lambda c: (c.account_name.casefold(), c.what))


def duplicate_names() -> list[tuple[str, str]]:
    """Accounts that arrived with a name another account already had: (account id, name)."""
    return [(str(account_id), name) for account_id, name, key in
            Account.select(Account.id, Account.name, Account.name_key).where(Account.name_key.contains("#")).tuples()
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
