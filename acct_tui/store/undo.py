"""Undo and redo of the user's own changes, rebuilt from the audit log (so they survive a restart).

The user's changes are their audit events, oldest first; a burst of saves of one field (typing, saved every
half second) is one change. An undo is itself a change: it goes through the services (gates, rules and
versions apply), writes their audit event, and an `UndoMark` links that event to the change it took back;
a redo likewise. Replaying events and marks gives vim's linear history: a stack of changes in effect and,
after undos, a stack to redo, which a new change empties.

Events log values (form values as JSON, KPI values and objectives as their records), so an undo hands the
value before back to the same service. Before anything is undone, a plan says in one line what will change,
lists what the undo reaches beyond the change itself (steps a decision locks or unlocks), and refuses,
saying why, when someone else changed the same thing since.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, Literal

from acct_tui.errors import DomainError
from acct_tui.store import kpis, services
from acct_tui.store.db import current_user, retried_on_conflict, write_transaction
from acct_tui.store.models import (
    Account,
    AuditEvent,
    FieldValue,
    KpiEntry,
    Objective,
    Run,
    StepState,
    UndoMark,
    utcnow,
)
from acct_tui.store.templates import run_template
from acct_tui.store.values import decode_value, is_field_event, logged_value, shown_logged_value
from acct_tui.template import OBJECTIVES_ROLE, RESULTS_ROLE, Field
from acct_tui.workflow import APPROVED, DONE, OPEN, PENDING, REJECTED, WAITING, RunState, Transition, WorkflowError
from acct_tui.workflow.field_kinds import NONE_SHOWN
from acct_tui.workflow.kpi import format_metric_value, get_metric

Direction = Literal["undo", "redo"]
UNDOABLE = ("field.set", "step.complete", "step.reopen", "approval.approve", "approval.reject", "approval.reopen",
            "approval.withdraw", "account.create", "account.edit", "account.archive", "account.restore", "kpi.add",
            "kpi.edit", "kpi.delete", "objective.add", "objective.edit", "objective.remove", "objective.result")
HISTORY_WINDOW = 500  # the user's latest changes looked at; older ones cannot be undone
BURST = timedelta(seconds=10)  # saves of one field closer together than this are one change
SHORT = 32
STATE_WORDS = {DONE: "done", OPEN: "open", APPROVED: "granted", PENDING: "in the queue", WAITING: "waiting",
               REJECTED: "rejected"}
NUMBERS = ("value", "target_value")  # logged as text ("4.50"); compared as numbers


@dataclass(frozen=True, slots=True)
class Change:
    """One change of the user: one audit event, or a burst of saves of one field."""

    id: uuid.UUID  # its first audit event
    action: str
    entity_id: uuid.UUID
    account_id: uuid.UUID
    account_name: str
    step: int | None
    before: dict[str, Any]  # of the first event
    after: dict[str, Any]  # of the last event
    at: datetime  # of the last event

    @property
    def changes_nothing(self) -> bool:
        """A burst of saves that ended where it began (or a first save of an empty value): nothing to undo."""
        return self.action == "field.set" and self.before == self.after


@dataclass(frozen=True, slots=True)
class UndoHistory:
    done: tuple[Change, ...]  # in effect, oldest first: `u` takes back the last
    undone: tuple[Change, ...]  # taken back, `ctrl+r` makes the last one again


@dataclass(frozen=True, slots=True)
class UndoPlan:
    direction: Direction
    change: Change
    summary: str  # one line: "Undo: step 4 done on Contoso → open"
    reaches: tuple[str, ...]  # what else it changes; the user confirms first when there is any
    refusal: str | None  # why it cannot be done now

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.reaches)


def _short(text: object) -> str:
    text = NONE_SHOWN if text in (None, "") else str(text)
    text = " ".join(text.split())
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


def history(user: str | None = None) -> UndoHistory:
    """The user's changes in effect and those undone, from the audit log and the undo marks."""
    user = user or current_user()
    rows = list(
        AuditEvent.select(AuditEvent.id, AuditEvent.at, AuditEvent.action, AuditEvent.entity_id,
                          AuditEvent.account_id, AuditEvent.step, AuditEvent.before, AuditEvent.after)
        .where((AuditEvent.actor == user) & AuditEvent.action.in_(UNDOABLE) & AuditEvent.account_id.is_null(False))
        .order_by(AuditEvent.at.desc())
        .limit(HISTORY_WINDOW)
        .tuples()
    )
    rows.reverse()
    ids = [row[0] for row in rows]
    marks = {event: (kind, change) for event, kind, change in
             UndoMark.select(UndoMark.event, UndoMark.kind, UndoMark.change).where(UndoMark.event.in_(ids)).tuples()}
    names = dict(Account.select(Account.id, Account.name)
                 .where(Account.id.in_({row[4] for row in rows})).tuples()) if rows else {}
    done: list[Change] = []
    undone: list[Change] = []
    by_id: dict[uuid.UUID, Change] = {}
    can_absorb = False  # whether the last event was a change of its own, which a save of the same field joins
    for event_id, at, action, entity_id, account_id, step, before, after in rows:
        if event_id in marks:
            kind, change_id = marks[event_id]
            change = by_id.get(change_id)
            source, target = (done, undone) if kind == "undo" else (undone, done)
            if change is not None and change in source:
                source.remove(change)
                target.append(change)
            can_absorb = False
            continue
        last = done[-1] if done else None
        if (can_absorb and last is not None and action == "field.set" == last.action
                and entity_id == last.entity_id and at - last.at <= BURST):
            merged = Change(last.id, action, entity_id, last.account_id, last.account_name, step, last.before,
                            json.loads(after), at)
            done[-1] = by_id[last.id] = merged
        else:
            change = Change(event_id, action, entity_id, account_id, names.get(account_id, "a deleted account"),
                            step, json.loads(before), json.loads(after), at)
            done.append(change)
            by_id[event_id] = change
        undone.clear()  # a new change: what was undone before it can no longer be redone
        can_absorb = True
    return UndoHistory(tuple(change for change in done if not change.changes_nothing), tuple(undone))


# What a change is and how to take it back -----------------------------------------------------------------
#
# Each kind has a plan (what undoing or redoing it changes, in words, and why it cannot be done now) and an
# apply (the service call that does it). `expected` is the state the change left (an undo) or found (a
# redo), `wanted` the state the undo or redo makes.

PlanParts = tuple[str, tuple[str, ...], str | None]  # summary, reaches, refusal


def _sides(change: Change, direction: Direction) -> tuple[Any, Any]:
    """(expected, wanted) for `direction`: the change's after and before (an undo), or before and after."""
    return (change.after, change.before) if direction == "undo" else (change.before, change.after)


def _changed_by_since(change: Change, user: str, step: int | None = None) -> str:
    """Who else changed the same thing after `change`, in words ("ana changed it since")."""
    query = AuditEvent.select(AuditEvent.actor).where(
        (AuditEvent.entity_id == change.entity_id) & (AuditEvent.at > change.at) & (AuditEvent.actor != user)
    )
    if step is not None:
        query = query.where(AuditEvent.step == step)
    actor = query.order_by(AuditEvent.at.desc()).limit(1).scalar()
    return f"{actor} changed it since" if actor else "it was changed in another session since"


def _refusal_of(check: Callable[[], object]) -> str | None:
    """The reason a rule gives for refusing (the services ask the same rule again when it is done)."""
    try:
        check()
    except DomainError as error:
        return str(error)
    return None


# Form values ----------------------------------------------------------------------------------------------

def _field_of(change: Change) -> tuple[FieldValue, Field, int]:
    """The stored value a change set, its field in the template version the value's run follows, and the
    number of its step there (a run moved to another version may number it differently). Found by what it
    is (the account's run, the step and field keys the event logged): a sync writes the same value under
    another row id in each database."""
    if is_field_event(change.after):
        stored = (FieldValue.select().join(Run, on=(FieldValue.run == Run.id))
                  .where((Run.account == change.account_id) & (FieldValue.step_key == change.after["step_key"])
                         & (FieldValue.key == change.after["key"])).first())
    else:
        stored = FieldValue.get_or_none(FieldValue.id == change.entity_id)
    if stored is None:
        raise DomainError("That value no longer exists.")
    step = run_template(Run.get_by_id(stored.run_id)).step_by_key(stored.step_key)
    if step is None:
        raise DomainError("That value's step is no longer in the template its run follows.")
    return stored, step.field(stored.key), step.number


def _field_plan(change: Change, direction: Direction, user: str) -> PlanParts:
    stored, field, number = _field_of(change)
    where = f"{field.label} in step {number} on {change.account_name}"
    if not (is_field_event(change.before) and is_field_event(change.after)):
        return where, (), "An older acct-tui logged this change as text, not as a value: it cannot be undone."
    expected, wanted = (side["value"] for side in _sides(change, direction))
    was, will_be = (_short(shown_logged_value(field, value)) for value in (expected, wanted))
    summary = f"{where}: “{was}” → “{will_be}”"
    current = logged_value(field, decode_value(field, stored.value))
    if current != expected:
        return summary, (), (f"{field.label} reads “{_short(shown_logged_value(field, current))}” now: "
                             f"{stored.updated_by} changed it since.")
    return summary, (), None


def _apply_field(change: Change, direction: Direction, user: str) -> None:
    stored, field, number = _field_of(change)
    _, wanted = _sides(change, direction)
    services.set_field(stored.run_id, number, field.key, wanted["value"], expected_version=stored.version, actor=user)


# Steps and decisions --------------------------------------------------------------------------------------

def _step_moves(change: Change, direction: Direction) -> tuple[dict[int, str], dict[int, str]]:
    expected, wanted = _sides(change, direction)
    return ({int(n): status for n, status in expected["states"].items()},
            {int(n): status for n, status in wanted["states"].items()})


def _transition(state: RunState, step: int, found: str, wanted: str, values: dict[str, object],
                comment: str) -> Transition:
    if wanted == OPEN:
        return state.reopen(step)
    if wanted == DONE:
        return state.complete(step, values)
    if wanted == PENDING and found == REJECTED:
        return state.withdraw_rejection(step)
    if wanted == PENDING:
        return state.reopen_approval(step)
    if wanted == APPROVED:
        return state.approve(step)
    if wanted == REJECTED:
        return state.reject(step, comment)
    raise WorkflowError(f"Step {step} cannot be put back to {wanted} by an undo.")


def _step_plan(change: Change, direction: Direction, user: str) -> PlanParts:
    step = change.step
    assert step is not None
    expected, wanted = _step_moves(change, direction)
    summary = (f"step {step} {STATE_WORDS.get(expected[step], expected[step])} on {change.account_name} → "
               f"{STATE_WORDS.get(wanted[step], wanted[step])}")
    run = Run.get_or_none(Run.id == change.entity_id)
    if run is None:
        return summary, (), "That account's run no longer exists."
    template = run_template(run)
    statuses = dict(StepState.select(StepState.number, StepState.status).where(StepState.run == run.id).tuples())
    for number in sorted(expected, key=lambda n: n != step):  # its own step first, then what it moved
        if statuses.get(number) != expected[number]:
            now, then = (STATE_WORDS.get(s, s) for s in (statuses.get(number), expected[number]))
            return summary, (), f"Step {number} is {now} now, not {then}: {_changed_by_since(change, user, number)}."
    comment = str(change.after.get("comment", ""))
    try:
        transition = _transition(RunState(template, statuses), step, expected[step], wanted[step],
                                 services._step_values(run, step, template), comment)
    except WorkflowError as error:
        return summary, (), str(error)
    reaches = [
        f"step {number}: {STATE_WORDS.get(statuses[number], statuses[number])} → {STATE_WORDS.get(status, status)}"
        for number, status in sorted(transition.state.statuses.items())
        if number != step and statuses[number] != status
    ]
    if template.step(step).is_approval:
        if wanted[step] in (APPROVED, REJECTED):
            reaches.append(f"records a new decision: step {step} {STATE_WORDS[wanted[step]]} by {user}")
        elif expected[step] == APPROVED:
            reaches.append(f"the steps after step {step} cannot be marked done until it is granted again")
        else:
            reaches.append(f"the rejection stays on record; step {step} waits in the queue for a decision again")
    return summary, tuple(reaches), None


def _apply_step(change: Change, direction: Direction, user: str) -> None:
    step = change.step
    expected, wanted = _step_moves(change, direction)
    run_id = change.entity_id
    if wanted[step] == REJECTED:
        services.reject(run_id, step, change.after.get("comment", ""), actor=user)
    elif wanted[step] == PENDING and expected[step] == REJECTED:
        services.withdraw_rejection(run_id, step, actor=user)
    else:
        call = {OPEN: services.reopen_step, DONE: services.complete_step, PENDING: services.reopen_approval,
                APPROVED: services.approve}[wanted[step]]
        call(run_id, step, actor=user)


# Accounts -------------------------------------------------------------------------------------------------

def _account_plan(change: Change, direction: Direction, user: str) -> PlanParts:
    account = Account.get_or_none(Account.id == change.entity_id)
    name = change.account_name
    if change.action == "account.edit":
        expected, wanted = _sides(change, direction)
        summary = f"{name}: {_pairs(expected, wanted)}"
        if account is None:
            return summary, (), "That account no longer exists."
        moved = [key for key, value in expected.items() if _comparable(getattr(account, key)) != _comparable(value)]
        if moved:
            return summary, (), f"{', '.join(moved)} of {name} changed since: {_changed_by_since(change, user)}."
        return summary, (), None
    archived_after = change.action == "account.archive"  # added or restored: in the list
    wanted_archived = archived_after != (direction == "undo")
    in_list = "added" if change.action == "account.create" and direction == "undo" else "in the list"
    words = {True: "archived", False: in_list}
    summary = f"{name} {words[not wanted_archived]} → {'archived' if wanted_archived else 'in the list'}"
    if account is None:
        return summary, (), "That account no longer exists."
    if bool(account.archived) == wanted_archived:
        now = "archived" if account.archived else "in the list"
        return summary, (), f"{name} is {now} already: {_changed_by_since(change, user)}."
    return summary, (), None


def _apply_account(change: Change, direction: Direction, user: str) -> None:
    if change.action == "account.edit":
        _, wanted = _sides(change, direction)
        services.edit_account(change.entity_id, actor=user, **wanted)
        return
    archived_after = change.action == "account.archive"
    services.archive_account(change.entity_id, archived=archived_after != (direction == "undo"), actor=user)


def _comparable(value: object) -> object:
    """A value as the audit log keeps it (JSON; Decimals and dates as their text), numbers as numbers."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value)
    try:
        return Decimal(text) if isinstance(value, Decimal) or text.replace(".", "", 1).lstrip("-").isdigit() else text
    except ArithmeticError:
        return text


def _pairs(expected: dict[str, Any], wanted: dict[str, Any], shown: Callable[[str, Any], object] = lambda _, v: v
           ) -> str:
    return "; ".join(f"{key.replace('_', ' ')} “{_short(shown(key, expected.get(key)))}” → "
                     f"“{_short(shown(key, wanted[key]))}”" for key in wanted)


# KPI values and objectives: records that a change adds, edits or removes ----------------------------------
#
# A side is the record's logged fields, or None when the record is absent on that side (before an add,
# after a removal). Both sides of an edit hold only the fields it changed.

PRESENCE = {"kpi.add": (None, True), "kpi.delete": (True, None), "objective.add": (None, True),
            "objective.remove": (True, None)}


def _record_sides(change: Change, direction: Direction) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    before_present, after_present = PRESENCE.get(change.action, (True, True))
    before = change.before if before_present else None
    after = change.after if after_present else None
    return (after, before) if direction == "undo" else (before, after)


def _current_record(change: Change, direction: Direction) -> tuple[dict[str, Any] | None, int, uuid.UUID]:
    """The record as the audit log would keep it now (None: absent), its version and its id."""
    if change.action.startswith("kpi."):
        entry = KpiEntry.get_or_none(KpiEntry.id == change.entity_id)
        # A sync writes a KPI value under another row id in each database: then it is found by what it is.
        side = next((side for side in _record_sides(change, direction) if side and "measured_on" in side), None)
        if entry is None and side is not None:
            entry = KpiEntry.get_or_none((KpiEntry.account == change.account_id) & (KpiEntry.metric == side["metric"])
                                         & (KpiEntry.measured_on == side["measured_on"]))
        if entry is None:
            return None, 0, change.entity_id
        record = {"metric": entry.metric, "value": entry.value, "measured_on": entry.measured_on}
        return record, entry.version, entry.id
    objective = Objective.get_or_none(Objective.id == change.entity_id)
    if objective is None:
        return None, 0, change.entity_id
    record = kpis._objective_record(objective) | {"position": objective.position, "result": objective.result,
                                                  "achieved": objective.achieved}
    return record, objective.version, objective.id


def _matches(current: dict[str, Any] | None, expected: dict[str, Any] | None) -> bool:
    if current is None or expected is None:
        return current is None and expected is None
    return all(_comparable(current.get(key)) == _comparable(value) for key, value in expected.items())


def _describe_record(change: Change) -> str:
    record = change.after or change.before
    if change.action.startswith("kpi."):
        entry = {**(change.before or {}), **(change.after or {})} if change.action == "kpi.edit" else record
        metric = get_metric(entry["metric"])
        if change.action == "kpi.edit":
            return f"{metric.short} on {change.account_name}"
        return (f"{metric.short} {format_metric_value(metric, Decimal(str(entry['value'])))} of "
                f"{entry['measured_on']} on {change.account_name}")
    title = record.get("title") or Objective.select(Objective.title).where(Objective.id == change.entity_id).scalar()
    return f"objective “{_short(title)}” on {change.account_name}"


def _record_value_shower(change: Change) -> Callable[[str, Any], object]:
    """How a logged field of a KPI value or an objective reads: values as their metric shows them."""
    metric_key = (change.after or change.before or {}).get("metric")

    def shown(key: str, value: Any) -> object:
        if key == "value" and value is not None and metric_key:
            return format_metric_value(get_metric(metric_key), Decimal(str(value)))
        if key == "achieved":
            return {True: "yes", False: "no", None: "not judged"}[value]
        return value

    return shown


def _record_step_key(change: Change, run: Run | None) -> str | None:
    """The step whose lock guards the record: a KPI value's own step, objectives' and results' steps."""
    if run is None:
        return None
    if change.action.startswith("kpi."):
        entry_key = KpiEntry.select(KpiEntry.step_key).where(KpiEntry.id == change.entity_id).scalar()
        if entry_key is not None or change.step is None:
            return entry_key
        return run_template(run).step(change.step).key  # a deleted entry: the step it was entered in
    role = RESULTS_ROLE if change.action == "objective.result" else OBJECTIVES_ROLE
    step = run_template(run).role_step(role)
    return step.key if step else None


def _record_plan(change: Change, direction: Direction, user: str) -> PlanParts:
    expected, wanted = _record_sides(change, direction)
    what = _describe_record(change)
    if expected is None or wanted is None:
        added = "entered" if change.action.startswith("kpi.") else "set"
        summary = f"{what}: {added if expected else 'removed'} → {added if wanted else 'removed'}"
    else:
        listed = {key: wanted[key] for key in wanted
                  if (key not in ("metric", "position", "target_value", "title")
                      or change.action == "objective.edit" and key in ("metric", "title"))
                  and _comparable(expected.get(key)) != _comparable(wanted[key])}
        summary = f"{what}: {_pairs(expected, listed, _record_value_shower(change))}"
    current, _, _ = _current_record(change, direction)
    if not _matches(current, expected):
        now = "is gone" if current is None else "is there again" if expected is None else "reads differently"
        return summary, (), f"{what[0].upper()}{what[1:]} {now} now: {_changed_by_since(change, user)}."
    run = Run.get_or_none(Run.account == change.account_id)
    step_key = _record_step_key(change, run)
    refusal = _refusal_of(lambda: kpis._check_step_open(run.id if run else None, step_key))
    return summary, (), refusal


def _apply_record(change: Change, direction: Direction, user: str) -> None:
    expected, wanted = _record_sides(change, direction)
    _, version, entity = _current_record(change, direction)
    if change.action.startswith("kpi."):
        if wanted is None:
            kpis.delete_kpi(entity, expected_version=version, actor=user)
        elif expected is None:
            kpis.add_kpi(change.account_id, wanted["metric"], wanted["value"], wanted["measured_on"],
                         step=change.step, actor=user, entry_id=change.entity_id)
        else:
            kpis.edit_kpi(entity, value=wanted.get("value"), measured_on=wanted.get("measured_on"),
                          expected_version=version, actor=user)
        return
    if wanted is None:
        kpis.remove_objective(entity, expected_version=version, actor=user)
    elif expected is None:
        run_id = Run.select(Run.id).where(Run.account == change.account_id).scalar()
        restoring = kpis.RemovedObjective(entity, wanted.get("position"), wanted.get("result") or "",
                                          wanted.get("achieved"))
        kpis.add_objective(run_id, wanted["title"], _target(wanted), wanted.get("due"), metric=wanted.get("metric"),
                           actor=user, restoring=restoring)
    elif change.action == "objective.result":
        kpis.record_result(entity, wanted["result"], wanted["achieved"], expected_version=version, actor=user)
    else:
        edits = {key: wanted[key] for key in kpis.OBJECTIVE_FIELDS if key in wanted}
        if "target" in edits:
            edits["target"] = _target(wanted)
        kpis.edit_objective(entity, expected_version=version, actor=user, **edits)


def _target(record: dict[str, Any]) -> object:
    """An objective's target as the services take it: with a metric, its value (the text reads "4.5/5")."""
    value = record.get("target_value")
    return value if value is not None else record["target"]


# Planning and carrying out --------------------------------------------------------------------------------

KINDS: dict[str, tuple[Callable[[Change, Direction, str], PlanParts], Callable[[Change, Direction, str], None]]] = {
    "field": (_field_plan, _apply_field),
    "step": (_step_plan, _apply_step),
    "approval": (_step_plan, _apply_step),
    "account": (_account_plan, _apply_account),
    "kpi": (_record_plan, _apply_record),
    "objective": (_record_plan, _apply_record),
}


def plan(change: Change, direction: Direction, *, user: str | None = None) -> UndoPlan:
    """What undoing (or redoing) `change` would do, in words, and whether it can be done now."""
    user = user or current_user()
    make_plan, _ = KINDS[change.action.split(".")[0]]
    try:
        summary, reaches, refusal = make_plan(change, direction, user)
    except DomainError as error:  # what the change touched is gone
        summary, reaches, refusal = change.action.replace(".", " "), (), str(error)
    return UndoPlan(direction, change, f"{direction.capitalize()}: {summary}", reaches, refusal)


def next_plan(direction: Direction, *, user: str | None = None) -> UndoPlan | None:
    """The plan for `u` (undo the last change in effect) or `ctrl+r` (redo the last undone); None: nothing."""
    user = user or current_user()
    changes = history(user)
    stack = changes.done if direction == "undo" else changes.undone
    return plan(stack[-1], direction, user=user) if stack else None


@retried_on_conflict
def carry_out(change: Change, direction: Direction, *, user: str | None = None) -> UndoPlan:
    """Undo (or redo) `change` in one write transaction: the service's change, its audit event and the mark
    that links them. Refused (DomainError, nothing written) when the plan is refused now."""
    user = user or current_user()
    with write_transaction():
        current = plan(change, direction, user=user)
        if current.refusal:
            raise DomainError(f"Cannot {direction} ({current.summary[len(direction) + 2:]}): {current.refusal}")
        started = utcnow()
        _, apply = KINDS[change.action.split(".")[0]]
        apply(change, direction, user)
        event = (AuditEvent.select(AuditEvent.id)
                 .where((AuditEvent.actor == user) & (AuditEvent.at >= started))
                 .order_by(AuditEvent.at.desc()).limit(1).scalar())
        if event is None:
            raise DomainError(f"Nothing to {direction}: it is already that way.")
        UndoMark.create(event=event, change=change.id, kind=direction, user_name=user)
    return current


@retried_on_conflict
def undo_each(changes: list[Change], *, user: str | None = None) -> tuple[int, str | None]:
    """Undo `changes` in the order given (newest first), each a change of its own, in one write transaction;
    stops at the first refused. Returns how many were undone, and why it stopped (None: all were)."""
    with write_transaction():
        for count, change in enumerate(changes):
            try:
                carry_out(change, "undo", user=user)
            except DomainError as error:
                return count, str(error)
    return len(changes), None
