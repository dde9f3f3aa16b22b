"""The change log: written with every change (in the service's own transaction), read and merged by sync.

Merge rule, per key (git's, applied field by field): an incoming change replaces the tips it descends from.
When the tip this database shows (the head) is among them, the incoming value is written. Tips left with
different values are a conflict: the head keeps showing the local value until the user resolves it, which
writes a change descending from every tip. Tips with equal values are no conflict, and the next change
descends from all of them. Order comes from each database's hybrid logical clock, never from comparing
wall clocks of two machines; it only guarantees that a change is applied after the changes it replaced.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Sequence

import peewee

from acct_tui.store import summaries
from acct_tui.store.models import Account, AuditEvent, Run, StepState, utcnow
from acct_tui.store.prepared import Prepared
from acct_tui.store.templates import TemplateCache
from acct_tui.sync.entities import (
    APPEND_ONLY,
    Item,
    all_items,
    apply_value,
    audit_item,
    dumps,
    items_of_entity,
    local_row,
    ROW_KINDS,
    BULK_KINDS,
    insert_new,
    kpi_rows,
    step_item,
    update_accounts,
)
from acct_tui.sync.bulk import bulk_insert, bulk_update
from acct_tui.sync.models import SyncChange, SyncReplica, SyncTip
from acct_tui.template import DUE_KEY
from acct_tui.workflow import APPROVED, DONE, RunState
from acct_tui.workflow.engine import initial_state
from acct_tui.workflow.fields import name_key

CHUNK = 500  # rows per IN (...) list and per insert: below SQLite's variable limit
TIP_FIELDS = [SyncTip.change, SyncTip.key, SyncTip.kind, SyncTip.row, SyncTip.value, SyncTip.head]
CHANGE_FIELDS = [SyncChange.id, SyncChange.origin, SyncChange.hlc, SyncChange.kind, SyncChange.key, SyncChange.value,
                 SyncChange.parents, SyncChange.actor, SyncChange.at]


@dataclass(frozen=True, slots=True)
class Change:
    """One change as it travels between databases."""

    id: str
    origin: str
    hlc: int
    kind: str
    key: str
    value: str
    parents: tuple[str, ...]
    actor: str
    at: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "origin": self.origin, "hlc": self.hlc, "kind": self.kind, "key": self.key,
                "value": self.value, "parents": list(self.parents), "actor": self.actor, "at": self.at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        return cls(str(data["id"]), str(data["origin"]), int(data["hlc"]), str(data["kind"]), str(data["key"]),
                   str(data["value"]), tuple(str(p) for p in data["parents"]), str(data["actor"]), str(data["at"]))


# The replica and its clock ------------------------------------------------------------------------------

def new_replica_row() -> None:
    SyncReplica.insert(id=1, replica_id=uuid.uuid4().hex, clock=0).on_conflict_ignore().execute()


def replica_id() -> str:
    return SyncReplica.get_by_id(1).replica_id


def _physical_now() -> int:
    return int(time.time() * 1000) << 16


def tick(count: int = 1, seen: int = 0) -> tuple[int, str]:
    """Advance the hybrid logical clock past `seen` (the largest clock received) and the wall clock; returns
    the first of `count` consecutive values and this replica's id, the origin of the changes stamped with
    them (read together: every audited write asks for both). A wall clock that is wrong only makes the values
    jump or creep."""
    current, origin = _CLOCK.first()
    first = max(current + 1, seen + 1, _physical_now())
    _SET_CLOCK.execute(first + count - 1)
    return first, origin


_CLOCK = Prepared(lambda: SyncReplica.select(SyncReplica.clock, SyncReplica.replica_id)
                  .where(SyncReplica.id == 1).tuples())
_SET_CLOCK = Prepared(lambda clock: SyncReplica.update(clock=clock.of(SyncReplica.clock)).where(SyncReplica.id == 1))


# Recording local changes --------------------------------------------------------------------------------

def _tips(keys: Iterable[str]) -> dict[str, list[SyncTip]]:
    found: dict[str, list[SyncTip]] = defaultdict(list)
    keys = list(dict.fromkeys(keys))
    for start in range(0, len(keys), CHUNK):
        for tip in _TIPS_OF_KEYS.rows(keys[start:start + CHUNK]):
            found[tip.key].append(tip)
    return found


_TIPS_OF_KEYS = Prepared(lambda keys: SyncTip.select().where(SyncTip.key.in_(keys)))


def record(items: Sequence[Item], actor: str, at: datetime, *, resolving: bool = False) -> int:
    """Log the items whose value differs from what the log shows; returns how many were logged.

    A change replaces the head and the tips that agree with it; `resolving` replaces every tip (the user
    chose the value of a conflict)."""
    items = list({item.key: item for item in items}.values())  # one change per key
    tips = _tips(item.key for item in items)
    pending = []
    for item in items:
        current = tips.get(item.key, [])
        head = next((t for t in current if t.head), None)
        if not resolving and (head.value if head else "null") == item.value:
            continue
        if item.kind in APPEND_ONLY and current:
            continue
        replaced = current if resolving or head is None else [t for t in current if t.value == head.value]
        pending.append((item, replaced))
    if not pending:
        return 0
    first, origin = tick(len(pending))
    changes, new_tips, gone = [], [], []
    for offset, (item, replaced) in enumerate(pending):
        change_id = str(uuid.uuid4())
        changes.append((change_id, origin, first + offset, item.kind, item.key, item.value,
                        dumps(sorted(t.change for t in replaced)), actor, at))
        gone += [t.change for t in tips.get(item.key, [])]
        new_tips.append((change_id, item.key, item.kind, item.row, item.value, True))
        new_tips += [(t.change, t.key, t.kind, t.row, t.value, False)
                     for t in tips.get(item.key, []) if t not in replaced]
    _replace_tips(gone, new_tips)
    bulk_insert(SyncChange, CHANGE_FIELDS, changes)
    return len(changes)


def record_alternative(item: Item, actor: str, at: datetime) -> None:
    """Log `item`'s value as a second tip of its key, beside the head and replacing nothing: a conflict the
    user resolves, as if the value had come from another database (two accounts merged, each with its own)."""
    change_id = str(uuid.uuid4())
    clock, origin = tick()
    bulk_insert(SyncChange, CHANGE_FIELDS,
                [(change_id, origin, clock, item.kind, item.key, item.value, "[]", actor, at)])
    bulk_insert(SyncTip, TIP_FIELDS, [(change_id, item.key, item.kind, item.row, item.value, False)])


def head_change(key: str) -> tuple[str, datetime] | None:
    """Who wrote the value a key shows here, and when."""
    return (SyncChange.select(SyncChange.actor, SyncChange.at).join(SyncTip, on=SyncTip.change == SyncChange.id)
            .where((SyncTip.key == key) & SyncTip.head).tuples().first())


def _replace_tips(gone: list[str], new_tips: list[tuple[Any, ...]]) -> None:
    """Remove the tips `gone`, add `new_tips` (rows in the order of TIP_FIELDS)."""
    for start in range(0, len(gone), CHUNK):
        _DELETE_TIPS.execute(gone[start:start + CHUNK])
    bulk_insert(SyncTip, TIP_FIELDS, new_tips)


_DELETE_TIPS = Prepared(lambda changes: SyncTip.delete().where(SyncTip.change.in_(changes)))


def record_audited_change(event: AuditEvent) -> None:
    """Called by the services with each audit event they write: logs the values of the record it names, and
    the event itself. A record that is gone leaves a deletion (null) on every key that came from its row."""
    items = items_of_entity(event.entity, event.entity_id)
    if event.entity in ROW_KINDS:  # the only records whose tips name their row
        live = {item.key for item in items}
        for tip in SyncTip.select().where((SyncTip.row == str(event.entity_id)) & SyncTip.head):
            if tip.key not in live and tip.value != "null":
                items.append(Item(tip.kind, tip.key, "null", tip.row))
    items.append(audit_item(event))
    record(items, event.actor, event.at)


def build_baseline(actor: str = "baseline") -> int:
    """Log every value that has no change yet (data made before the change log, or written directly)."""
    known = {key for (key,) in SyncTip.select(SyncTip.key).tuples()}
    fresh = [item for item in all_items() if item.key not in known]
    if not fresh:
        return 0
    first, origin = tick(len(fresh))
    now = utcnow()
    changes, tips = [], []
    for offset, item in enumerate(fresh):
        change_id = str(uuid.uuid4())
        changes.append((change_id, origin, first + offset, item.kind, item.key, item.value, "[]", actor, now))
        tips.append((change_id, item.key, item.kind, item.row, item.value, True))
    bulk_insert(SyncChange, CHANGE_FIELDS, changes)
    bulk_insert(SyncTip, TIP_FIELDS, tips)
    return len(changes)


# What the other side lacks ------------------------------------------------------------------------------

def high_water_marks() -> dict[str, int]:
    """For each origin, the largest clock value of its changes this database holds. A database always holds
    every change of an origin up to its mark (changes arrive whole, in one transaction, from the mark on)."""
    # Origin by origin through the (origin, hlc) index: a few lookups, where GROUP BY would read the whole log.
    marks: dict[str, int] = {}
    origin = SyncChange.select(peewee.fn.MIN(SyncChange.origin)).scalar()
    while origin is not None:
        marks[origin] = SyncChange.select(peewee.fn.MAX(SyncChange.hlc)).where(SyncChange.origin == origin).scalar()
        origin = SyncChange.select(peewee.fn.MIN(SyncChange.origin)).where(SyncChange.origin > origin).scalar()
    return marks


def changes_after(marks: dict[str, int]) -> list[Change]:
    """The changes a database with these high-water marks lacks."""
    found: list[Change] = []
    for origin, newest in high_water_marks().items():
        since = marks.get(origin, -1)
        if newest <= since:
            continue
        query = SyncChange.select(SyncChange.id, SyncChange.origin, SyncChange.hlc, SyncChange.kind, SyncChange.key,
                                  SyncChange.value, SyncChange.parents, SyncChange.actor, SyncChange.at).where(
            (SyncChange.origin == origin) & (SyncChange.hlc > since)).tuples()
        found += [Change(c[0], c[1], c[2], c[3], c[4], c[5], tuple(json.loads(c[6])), c[7],
                         c[8].isoformat() if isinstance(c[8], datetime) else str(c[8])) for c in query]
    return found


# Merging incoming changes -------------------------------------------------------------------------------

@dataclass
class MergeResult:
    received: int = 0
    applied: int = 0
    conflicts: int = 0


class _Ancestry:
    """Parents and clocks of changes, from the batch or the log, to tell whether one replaced another."""

    def __init__(self, batch: dict[str, Change]) -> None:
        self.batch = batch
        self.cache: dict[str, tuple[int, tuple[str, ...]]] = {}

    def meta(self, change_id: str) -> tuple[int, tuple[str, ...]] | None:
        if change_id in self.batch:
            change = self.batch[change_id]
            return change.hlc, change.parents
        if change_id not in self.cache:
            row = SyncChange.select(SyncChange.hlc, SyncChange.parents).where(SyncChange.id == change_id).tuples().first()
            if row is None:
                return None
            self.cache[change_id] = (row[0], tuple(json.loads(row[1])))
        return self.cache[change_id]

    def descends_from(self, change: Change, ancestor: str) -> bool:
        target = self.meta(ancestor)
        if target is None:
            return False
        frontier, seen = list(change.parents), set()
        while frontier:
            current = frontier.pop()
            if current == ancestor:
                return True
            if current in seen:
                continue
            seen.add(current)
            meta = self.meta(current)
            if meta is not None and meta[0] > target[0]:  # a change older than the ancestor cannot lead to it
                frontier.extend(meta[1])
        return False


def merge(incoming: Sequence[Change]) -> MergeResult:
    """Merge changes from another database (call inside one write transaction)."""
    result = MergeResult(received=len(incoming))
    batch: dict[str, Change] = {}
    for change in incoming:
        batch.setdefault(change.id, change)
    ids = list(batch)
    for start in range(0, len(ids), CHUNK):
        for (known,) in SyncChange.select(SyncChange.id).where(SyncChange.id.in_(ids[start:start + CHUNK])).tuples():
            del batch[known]
    if not batch:
        return result
    ordered = sorted(batch.values(), key=lambda c: (c.hlc, c.origin, c.id))
    tick(seen=ordered[-1].hlc)
    tips = _tips(c.key for c in ordered)
    touched_keys: set[str] = set()
    ancestry = _Ancestry(batch)
    templates = TemplateCache()
    fresh: dict[str, tuple[object, str, datetime]] = {}  # keys never seen here: written in bulk after
    later: list[tuple[Change, SyncTip]] = []  # the others, written in order after those
    fresh_tips: dict[str, SyncTip] = {}  # of keys whose row id the tip keeps (ROW_KINDS)
    for change in ordered:
        current = tips.get(change.key, [])
        replaced = [t for t in current if t.change in change.parents or ancestry.descends_from(change, t.change)]
        head = next((t for t in current if t.head), None)
        becomes_head = head is None or head in replaced
        kept = [t for t in current if t not in replaced]
        tip = SyncTip(change=change.id, key=change.key, kind=change.kind, value=change.value, head=becomes_head,
                      row=head.row if becomes_head and head is not None else None)
        tips[change.key] = kept + [tip]
        touched_keys.add(change.key)
        if not becomes_head or (head is not None and head.value == change.value):
            continue
        result.applied += 1
        if change.key in fresh or (head is None and change.kind in BULK_KINDS):
            fresh[change.key] = (json.loads(change.value), change.actor, datetime.fromisoformat(change.at))
            if change.kind in ROW_KINDS:
                fresh_tips[change.key] = tip
        else:
            later.append((change, tip))
    accounts, runs = insert_new(fresh, templates)
    if fresh_tips:
        rows = kpi_rows({json.loads(key)[1] for key in fresh_tips})
        for key, tip in fresh_tips.items():
            tip.row = rows.get(key)
    # Account fields in one statement per field; a key changed twice in the batch keeps its last value.
    accounts |= update_accounts({change.key: json.loads(change.value)
                                 for change, _ in later if change.kind == "account"})
    for change, tip in later:
        if change.kind == "account":
            continue
        account_id, run_id = apply_value(change.key, json.loads(change.value), change.actor,
                                         datetime.fromisoformat(change.at), templates)
        accounts.add(account_id)
        runs.add(run_id)
        if change.kind in ROW_KINDS:
            tip.row = local_row(change.key)
    bulk_insert(SyncChange, CHANGE_FIELDS, [(c.id, c.origin, c.hlc, c.kind, c.key, c.value, dumps(sorted(c.parents)),
                                             c.actor, datetime.fromisoformat(c.at)) for c in ordered])
    old = _tips(touched_keys)
    _replace_tips([t.change for key in touched_keys for t in old.get(key, [])],
                  [(t.change, t.key, t.kind, t.row, t.value, t.head) for key in touched_keys for t in tips[key]])
    settle_names(accounts - {None})
    recompute_runs(runs - {None}, templates)
    copy_due_dates({**{key: value for key, (value, _, _) in fresh.items()},
                    **{change.key: json.loads(change.value) for change, _ in later if change.kind == "field"}})
    named_accounts, named_runs = records_named_by(ordered)
    summaries.refresh(accounts | named_accounts, runs | named_runs)
    result.conflicts = len(conflict_keys())
    return result


def records_named_by(changes: Iterable[Change]) -> tuple[set[str], set[str]]:
    """The accounts and runs incoming changes name beyond those `apply_value` reports: the run of a decision or
    an objective, the account of an audit event (a removed objective names no run, its event the account)."""
    accounts, runs = set(), set()
    for change in changes:
        if change.kind in ("decision", "objective", "audit"):
            value = json.loads(change.value)
            if isinstance(value, dict):
                runs.add(value.get("run"))
                accounts.add(value.get("account_id"))
    return accounts - {None}, runs - {None}


def settle_names(account_ids: Iterable[str]) -> None:
    """Give accounts that arrived or were renamed their name key; a name another account already has (both
    sides created it) keeps a key of its own until the user renames, archives or merges one of them (a
    conflict to review)."""
    waiting = Account.name_key.contains("#")  # a duplicate whose name may have been freed meanwhile
    for account in Account.select(Account.id, Account.name, Account.name_key, Account.archived).where(
            Account.id.in_(list(account_ids)) | waiting):
        wanted = name_key(account.name)
        if account.name_key == wanted:
            continue
        holder = Account.select(Account.id, Account.archived).where(
            (Account.name_key == wanted) & (Account.id != account.id)).first()
        if holder is not None and holder.archived and not account.archived:
            # An archived account (one merged into this, say) gives its name key to a live one.
            Account.update(name_key=f"{wanted}#{holder.id}").where(Account.id == holder.id).execute()
            holder = None
        Account.update(name_key=f"{wanted}#{account.id}" if holder else wanted).where(Account.id == account.id).execute()


def recompute_runs(run_ids: Iterable[str], templates: TemplateCache) -> None:
    """After a merge the engine's rules hold again: a finished step behind a gate not granted reopens, and
    the run's summary columns are recomputed. Read a chunk of runs at a time (a first sync touches them all)."""
    now = utcnow()
    run_ids = list(run_ids)
    for start in range(0, len(run_ids), CHUNK):
        chunk = run_ids[start:start + CHUNK]
        statuses_of: dict[str, dict[str, str]] = defaultdict(dict)
        for run_id, step_key, status in StepState.select(StepState.run, StepState.step_key, StepState.status).where(
                StepState.run.in_(chunk)).tuples():
            statuses_of[str(run_id)][step_key] = status
        for run in Run.select().where(Run.id.in_(chunk)):
            _recompute_run(run, templates.get(run.template_name, run.template_version), statuses_of[str(run.id)], now)


def _recompute_run(run: Run, template: Any, stored: dict[str, str], now: datetime) -> None:
    state = RunState.from_stored(template, stored)
    statuses = dict(state.statuses)
    for step in template.steps:
        if statuses[step.number] in (DONE, APPROVED) and RunState(template, statuses).blocking_approval(step.number):
            statuses[step.number] = initial_state(step)
    fixed = [s for s in template.steps if statuses[s.number] != state.statuses[s.number]]
    for step in fixed:
        StepState.update(status=statuses[step.number], updated_at=now).where(
            (StepState.run == run.id) & (StepState.step_key == step.key)).execute()
    if fixed:
        rows = StepState.select().where((StepState.run == run.id) & StepState.step_key.in_([s.key for s in fixed]))
        record([step_item(row) for row in rows], "sync", now)
    progress = RunState(template, statuses).progress()
    summary = (progress.total, progress.done, progress.current_step, progress.next_approval)
    if summary != (run.step_count, run.done_count, run.current_step, run.next_approval):
        Run.update(step_count=progress.total, done_count=progress.done, current_step=progress.current_step,
                   next_approval=progress.next_approval, updated_at=now).where(Run.id == run.id).execute()


def copy_due_dates(values: dict[str, object]) -> None:
    """Step states keep a copy of their task's due date (see `set_field`): refresh it for the due-date
    values (by key) a merge wrote."""
    rows = []
    for key, text in values.items():
        kind, *parts = json.loads(key)
        if kind == "field" and parts[2] == DUE_KEY:
            rows.append((date.fromisoformat(text) if isinstance(text, str) and text else None, parts[0], parts[1]))
    bulk_update(StepState, [StepState.due_on], [StepState.run, StepState.step_key], rows)


# Conflicts ----------------------------------------------------------------------------------------------

def conflict_keys() -> list[str]:
    """Keys whose tips disagree. Only a key with several tips has one that is not its head: those few are
    found by index, however long the log."""
    candidates = [key for (key,) in SyncTip.select(SyncTip.key).where(SyncTip.head == False).distinct().tuples()]  # noqa: E712 (an index lookup; NOT head reads every tip)
    if not candidates:
        return []
    return [key for (key,) in SyncTip.select(SyncTip.key).where(SyncTip.key.in_(candidates)).group_by(SyncTip.key)
            .having(peewee.fn.COUNT(peewee.fn.DISTINCT(SyncTip.value)) > 1).tuples()]
