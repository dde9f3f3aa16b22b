"""Undo and redo of the user's own changes, rebuilt from the audit log (so they survive a restart).

The user's changes are their audit events, oldest first; a burst of saves of one field (typing, saved every
half second) is one change. An undo is itself a change: it goes through the services (gates, rules and
versions apply), writes their audit event, and an `UndoMark` links that event to the change it took back;
a redo likewise. Replaying events and marks gives vim's linear history: a stack of changes in effect and,
after undos, a stack to redo, which a new change empties.

Before anything is undone, a plan says in one line what will change, lists what the undo reaches beyond
the change itself (an approval taken out of the queue, a new decision), and refuses, saying why, when
someone else changed the same thing since.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from acct_tui.errors import DomainError
from acct_tui.store import services
from acct_tui.store.db import current_user, retried_on_conflict, write_transaction
from acct_tui.store.models import Account, AuditEvent, FieldValue, Run, StepState, UndoMark, utcnow
from acct_tui.store.values import decode_value, display_value
from acct_tui.store.templates import run_template
from acct_tui.template import Field
from acct_tui.workflow.field_kinds import NONE_SHOWN, field_kind
from acct_tui.workflow import APPROVED, DONE, OPEN, PENDING, RunState, Transition, WorkflowError

Direction = Literal["undo", "redo"]
UNDOABLE = ("field.set", "step.complete", "step.reopen", "approval.approve", "approval.reopen", "account.create",
            "account.edit", "account.archive", "account.restore")
HISTORY_WINDOW = 500  # the user's latest changes looked at; older ones cannot be undone
BURST = timedelta(seconds=10)  # saves of one field closer together than this are one change
EMPTY = NONE_SHOWN  # how the audit log shows an empty value (see `display_value`)
SHORT = 32


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
        if self.action != "field.set":
            return False
        (key, after), = self.after.items()
        return (self.before.get(key) or EMPTY) == after


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
    text = EMPTY if text in (None, "") else str(text)
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

def _field_of(change: Change) -> tuple[FieldValue, Field]:
    """The stored value a change set, and its field in the template version the value's run follows."""
    stored = FieldValue.get_or_none(FieldValue.id == change.entity_id)
    if stored is None:
        raise DomainError("That value no longer exists.")
    step = run_template(Run.get_by_id(stored.run_id)).step_by_key(stored.step_key)
    if step is None:
        raise DomainError("That value's step is no longer in the template its run follows.")
    return stored, step.field(stored.key)


def value_from_display(field: Field, text: str | None) -> object:
    """A value back from the form the audit log keeps it in (`display_value`)."""
    kind = field_kind(field)
    if text is None or text == EMPTY:
        return kind.decode(field, None)  # the kind's empty value
    if kind.holds_list:
        # Labels joined with ", " in the options' order; a label may itself hold ", ", so match whole labels.
        chosen, rest = [], text
        for option in field.options:
            if rest == option or rest.startswith(option + ", "):
                chosen.append(option)
                rest = rest[len(option) + 2:]
        return tuple(chosen)
    return text


def _status(run_id: uuid.UUID, step: int) -> str:
    return StepState.select(StepState.status).where((StepState.run == run_id) & (StepState.number == step)).scalar()


def _changed_by_since(change: Change, user: str) -> str:
    """Who else changed the same thing after `change`, in words ("ana changed it since")."""
    query = AuditEvent.select(AuditEvent.actor).where(
        (AuditEvent.entity_id == change.entity_id) & (AuditEvent.at > change.at) & (AuditEvent.actor != user)
    )
    if change.step is not None and change.action != "field.set":
        query = query.where(AuditEvent.step == change.step)
    actor = query.order_by(AuditEvent.at.desc()).limit(1).scalar()
    return f"{actor} changed it since" if actor else "it was changed in another session since"


def _step_plan(change: Change, direction: Direction, user: str
               ) -> tuple[str, tuple[str, ...], str | None]:
    step = change.step
    assert step is not None
    run_id = change.entity_id
    expected = (change.after if direction == "undo" else change.before)["states"][str(step)]
    wanted = (change.before if direction == "undo" else change.after)["states"][str(step)]
    words = {DONE: "done", OPEN: "open", APPROVED: "granted", PENDING: "in the queue"}
    summary = (f"step {step} {words.get(expected, expected)} on {change.account_name} → "
               f"{words.get(wanted, wanted)}")
    run = Run.get_or_none(Run.id == run_id)
    if run is None:
        return summary, (), "That account's run no longer exists."
    template = run_template(run)
    statuses = dict(StepState.select(StepState.number, StepState.status).where(StepState.run == run_id).tuples())
    if statuses[step] != expected:
        return summary, (), (f"Step {step} is {words.get(statuses[step], statuses[step])} now, not "
                             f"{words.get(expected, expected)}: {_changed_by_since(change, user)}.")
    state = RunState(template, statuses)
    try:
        transition = _transition(state, step, wanted, services._step_values(run, step, template))
    except WorkflowError as error:
        return summary, (), str(error)
    reaches = [
        f"step {number}: {words.get(statuses[number], statuses[number])} → {words.get(status, status)}"
        for number, status in transition.state.statuses.items() if number != step and statuses[number] != status
    ]
    if template.step(step).is_approval:
        if wanted == APPROVED:
            reaches.append(f"records a new decision: step {step} granted by {user}")
        else:
            reaches.append(f"the steps after step {step} cannot be marked done until it is granted again")
    return summary, tuple(reaches), None


def _transition(state: RunState, step: int, wanted: str, values: dict[str, object]) -> Transition:
    if wanted == OPEN:
        return state.reopen(step)
    if wanted == DONE:
        return state.complete(step, values)
    if wanted == PENDING:
        return state.reopen_approval(step)
    if wanted == APPROVED:
        return state.approve(step)
    raise WorkflowError(f"Step {step} cannot be put back to {wanted} by an undo.")


def _field_plan(change: Change, direction: Direction, user: str) -> tuple[str, tuple[str, ...], str | None]:
    stored, field = _field_of(change)
    (key, after_text), = change.after.items()
    before_text = change.before.get(key)
    expected, wanted = (after_text, before_text) if direction == "undo" else (before_text, after_text)
    summary = (f"{field.label} in step {stored.step} on {change.account_name}: “{_short(expected)}” → "
               f"“{_short(wanted)}”")
    current = display_value(field, decode_value(field, stored.value))
    if current != (expected or EMPTY):
        return summary, (), f"{field.label} reads “{_short(current)}” now: {stored.updated_by} changed it since."
    return summary, (), None


def _account_plan(change: Change, direction: Direction, user: str) -> tuple[str, tuple[str, ...], str | None]:
    account = Account.get_or_none(Account.id == change.entity_id)
    name = change.account_name
    if change.action == "account.edit":
        expected, wanted = (change.after, change.before) if direction == "undo" else (change.before, change.after)
        pairs = "; ".join(f"{key} “{_short(expected[key])}” → “{_short(wanted[key])}”" for key in wanted)
        summary = f"{name}: {pairs}"
        if account is None:
            return summary, (), "That account no longer exists."
        moved = [key for key, value in expected.items() if _comparable(getattr(account, key)) != _comparable(value)]
        if moved:
            return summary, (), f"{', '.join(moved)} of {name} changed since: {_changed_by_since(change, user)}."
        return summary, (), None
    archived_after = change.action == "account.archive"  # added or restored: in the list
    wanted = archived_after != (direction == "undo")
    in_list = "added" if change.action == "account.create" and direction == "undo" else "in the list"
    words = {True: "archived", False: in_list}
    summary = f"{name} {words[not wanted]} → {'archived' if wanted else 'in the list'}"
    if account is None:
        return summary, (), "That account no longer exists."
    if bool(account.archived) == wanted:
        now = "archived" if account.archived else "in the list"
        return summary, (), f"{name} is {now} already: {_changed_by_since(change, user)}."
    return summary, (), None


def _comparable(value: object) -> str | None:
    """An account attribute as the audit log keeps it (JSON of the values; Decimals as their text)."""
    return None if value is None else str(value)


def plan(change: Change, direction: Direction, *, user: str | None = None) -> UndoPlan:
    """What undoing (or redoing) `change` would do, in words, and whether it can be done now."""
    user = user or current_user()
    if change.action == "field.set":
        summary, reaches, refusal = _field_plan(change, direction, user)
    elif change.action.startswith(("step.", "approval.")):
        summary, reaches, refusal = _step_plan(change, direction, user)
    else:
        summary, reaches, refusal = _account_plan(change, direction, user)
    return UndoPlan(direction, change, f"{direction.capitalize()}: {summary}", reaches, refusal)


def next_plan(direction: Direction, *, user: str | None = None) -> UndoPlan | None:
    """The plan for `u` (undo the last change in effect) or `ctrl+r` (redo the last undone); None: nothing."""
    user = user or current_user()
    changes = history(user)
    stack = changes.done if direction == "undo" else changes.undone
    return plan(stack[-1], direction, user=user) if stack else None


def _apply_change(change: Change, direction: Direction, user: str) -> None:
    """Make the state `direction` asks for, through the services (each checks its own rules again)."""
    if change.action == "field.set":
        stored, field = _field_of(change)
        (key, after_text), = change.after.items()
        text = change.before.get(key) if direction == "undo" else after_text
        run_id = stored.run_id
        services.set_field(run_id, stored.step, key, value_from_display(field, text),
                           expected_version=stored.version, actor=user)
        return
    if change.action.startswith(("step.", "approval.")):
        step = change.step
        wanted = (change.before if direction == "undo" else change.after)["states"][str(step)]
        call = {OPEN: services.reopen_step, DONE: services.complete_step, PENDING: services.reopen_approval,
                APPROVED: services.approve}[wanted]
        call(change.entity_id, step, actor=user)
        return
    if change.action == "account.edit":
        values = change.before if direction == "undo" else change.after
        services.edit_account(change.entity_id, actor=user, **values)
        return
    archived_after = change.action == "account.archive"
    services.archive_account(change.entity_id, archived=archived_after != (direction == "undo"), actor=user)


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
        _apply_change(change, direction, user)
        event = (AuditEvent.select(AuditEvent.id)
                 .where((AuditEvent.actor == user) & (AuditEvent.at >= started))
                 .order_by(AuditEvent.at.desc()).limit(1).scalar())
        if event is None:
            raise DomainError(f"Nothing to {direction}: it is already that way.")
        UndoMark.create(event=event, change=change.id, kind=direction, user_name=user)
    return current
