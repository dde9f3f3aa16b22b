"""Pure workflow rules for one run of the template: step states, gates, approvals, progress.

A `RunState` is an immutable value: every transition returns a new state (or raises `WorkflowError`
with the reason), so the store can diff old and new and write exactly what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Mapping

from acct_tui.errors import DomainError
from acct_tui.template import Step, Template
from acct_tui.workflow.fields import is_blank

# Task states
OPEN = "open"
DONE = "done"
# Approval states. A rejected approval waits for its reopened steps like a waiting one; it keeps its own
# name so everyone sees why the steps came back, and it becomes pending again once they are all redone.
WAITING = "waiting"
PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
TASK_STATES = (OPEN, DONE)
APPROVAL_STATES = (WAITING, PENDING, APPROVED, REJECTED)

# Display marks: the state, or `locked` for an open task behind an approval that is not granted yet.
LOCKED = "locked"

APPROVE = "approved"
REJECT = "rejected"


class WorkflowError(DomainError):
    """A transition the rules refuse; the message says why and what to do instead."""


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int
    current_step: int | None
    next_approval: int | None
    overdue: tuple[int, ...]
    blocker: str

    @property
    def complete(self) -> bool:
        return self.current_step is None


@dataclass(frozen=True, slots=True)
class Transition:
    """The new state plus the approvals that this transition submitted to the queue or withdrew from it."""

    state: RunState
    submitted: tuple[int, ...] = ()
    withdrawn: tuple[int, ...] = ()


def _steps_text(numbers: list[int]) -> str:
    words = [str(number) for number in numbers]
    if len(words) == 1:
        return f"step {words[0]}"
    return "steps " + ", ".join(words[:-1]) + " and " + words[-1]


def initial_state(step: Step) -> str:
    return WAITING if step.is_approval else OPEN


@dataclass(frozen=True)
class RunState:
    template: Template
    statuses: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for step in self.template.steps:
            status = self.statuses.get(step.number)
            allowed = APPROVAL_STATES if step.is_approval else TASK_STATES
            if status not in allowed:
                raise WorkflowError(
                    f"Step {step.number} ({step.key}) is stored as {status!r}, which "
                    f"{'an approval' if step.is_approval else 'a task'} cannot be: the database was changed "
                    "outside acct-tui. Restore a backup made with `acct-tui db backup`."
                )
        object.__setattr__(self, "statuses", MappingProxyType(dict(self.statuses)))

    @classmethod
    def new(cls, template: Template) -> RunState:
        return cls(template, {step.number: initial_state(step) for step in template.steps})

    @classmethod
    def from_stored(cls, template: Template, statuses_by_key: Mapping[str, str]) -> RunState:
        """The run as stored (states by step key); a step with no stored state is in its initial state."""
        return cls(template,
                   {step.number: statuses_by_key.get(step.key, initial_state(step)) for step in template.steps})

    def statuses_by_key(self) -> dict[str, str]:
        return {step.key: self.statuses[step.number] for step in self.template.steps}

    # Queries ---------------------------------------------------------------------------------------
    def status(self, number: int) -> str:
        self.template.step(number)
        return self.statuses[number]

    def is_finished(self, number: int) -> bool:
        return self.statuses[number] in (DONE, APPROVED)

    def covering_approval(self, number: int) -> Step | None:
        for approval in self.template.approvals:
            if number in approval.covers:
                return approval
        return None

    def blocking_approval(self, number: int) -> Step | None:
        """The first approval before step `number` that is not granted yet: it locks the step."""
        for approval in self.template.approvals:
            if approval.number >= number:
                return None
            if self.statuses[approval.number] != APPROVED:
                return approval
        return None

    def mark(self, number: int) -> str:
        status = self.status(number)
        if status == OPEN and self.blocking_approval(number) is not None:
            return LOCKED
        return status

    def edit_refusal(self, number: int) -> str | None:
        """Why the fields of step `number` cannot be edited now, or None when they can."""
        step = self.template.step(number)
        if step.is_approval:
            return f"Step {number} is an approval: decide it in the approval queue."
        approval = self.covering_approval(number)
        if approval is not None and self.statuses[approval.number] == APPROVED:
            return (
                f"Step {number} is covered by the granted “{approval.title}” (step {approval.number}); "
                "reopen that approval to change it."
            )
        return None

    def check_edit(self, number: int) -> None:
        refusal = self.edit_refusal(number)
        if refusal:
            raise WorkflowError(refusal)

    def missing_required(self, number: int, values: Mapping[str, object]) -> list[str]:
        step = self.template.step(number)
        return [f.label for f in step.fields if f.required and not values.get(f.key)]

    def progress(self, due_dates: Mapping[int, date] | None = None, today: date | None = None) -> Progress:
        steps = self.template.steps
        done = sum(1 for step in steps if self.is_finished(step.number))
        current = next((step for step in steps if not self.is_finished(step.number)), None)
        next_approval = next((a.number for a in self.template.approvals if self.statuses[a.number] != APPROVED), None)
        overdue: tuple[int, ...] = ()
        if due_dates and today:
            overdue = tuple(
                number for number, due in sorted(due_dates.items()) if self.statuses.get(number) == OPEN and due < today
            )
        return Progress(done, len(steps), current.number if current else None, next_approval, overdue, self._blocker(current))

    def _blocker(self, current: Step | None) -> str:
        if current is None:
            return "All steps are finished."
        if current.is_approval:
            # Every step before it is finished, so its covered steps are done and it is in the queue.
            return f"Waiting for a decision on “{current.title}” (step {current.number})."
        approval = self.covering_approval(current.number)
        if approval is not None and self.statuses[approval.number] == REJECTED:
            todo = [n for n in approval.covers if self.statuses[n] != DONE]
            return f"“{approval.title}” was rejected: redo {_steps_text(todo)} to resubmit it."
        return f"Next: step {current.number}, {current.title}."

    # Transitions -------------------------------------------------------------------------------------
    def complete(self, number: int, values: Mapping[str, object] | None = None) -> Transition:
        step = self.template.step(number)
        if step.is_approval:
            raise WorkflowError(f"Step {number} is an approval: it is decided in the approval queue, not completed.")
        if self.statuses[number] == DONE:
            raise WorkflowError(f"Step {number} is already done.")
        blocker = self.blocking_approval(number)
        if blocker is not None:
            raise WorkflowError(
                f"Step {number} is locked until “{blocker.title}” (step {blocker.number}) is approved; "
                "you can still fill it in as a draft."
            )
        missing = self.missing_required(number, values or {})
        if missing:
            raise WorkflowError(f"Step {number} needs {', '.join(missing)} before it can be done.")
        return self._with_tasks({number: DONE})

    def reopen(self, number: int) -> Transition:
        step = self.template.step(number)
        if step.is_approval:
            if self.statuses[number] != APPROVED:
                raise WorkflowError(f"Step {number} is not approved, so there is nothing to reopen.")
            return self.reopen_approval(number)
        if self.statuses[number] != DONE:
            raise WorkflowError(f"Step {number} is not done, so there is nothing to reopen.")
        self.check_edit(number)
        return self._with_tasks({number: OPEN})

    def approve(self, number: int) -> Transition:
        self._require_pending(number)
        return Transition(self._replace({number: APPROVED}))

    def reject(self, number: int, comment: str) -> Transition:
        self._require_pending(number)
        if not comment or is_blank(comment):
            raise WorkflowError("A rejection needs a comment that says what to change.")
        approval = self.template.step(number)
        changes = {covered: OPEN for covered in approval.covers}
        changes[number] = REJECTED
        return Transition(self._replace(changes))

    def reopen_approval(self, number: int) -> Transition:
        """Take back a granted approval so its steps can be changed; it goes back to the queue."""
        step = self.template.step(number)
        if not step.is_approval:
            raise WorkflowError(f"Step {number} is not an approval.")
        if self.statuses[number] != APPROVED:
            raise WorkflowError(f"“{step.title}” is not approved, so there is nothing to reopen.")
        return Transition(self._replace({number: PENDING}), submitted=(number,))

    def withdraw_rejection(self, number: int) -> Transition:
        """Take back a rejection (an undo): the approval is in the queue again and the steps it sent back are
        done again, as they were when it was decided. Refused once any of those steps was redone or changed."""
        step = self.template.step(number)
        if not step.is_approval or self.statuses[number] != REJECTED:
            raise WorkflowError(f"“{step.title}” is not rejected, so there is no rejection to take back.")
        redone = [covered for covered in step.covers if self.statuses[covered] != OPEN]
        if redone:
            raise WorkflowError(f"{_steps_text(redone).capitalize()} of “{step.title}” changed since the rejection: "
                                "redo the rest to resubmit it instead.")
        return Transition(self._replace({**{covered: DONE for covered in step.covers}, number: PENDING}))

    # Helpers -----------------------------------------------------------------------------------------
    def _require_pending(self, number: int) -> None:
        step = self.template.step(number)
        if not step.is_approval:
            raise WorkflowError(f"Step {number} is a task, not an approval.")
        status = self.statuses[number]
        if status != PENDING:
            if status == APPROVED:
                raise WorkflowError(f"“{step.title}” is already approved.")
            todo = [n for n in step.covers if self.statuses[n] != DONE]
            raise WorkflowError(f"“{step.title}” is not submitted yet: {_steps_text(todo)} still to do.")

    def _replace(self, changes: Mapping[int, str]) -> RunState:
        return RunState(self.template, {**self.statuses, **changes})

    def _with_tasks(self, changes: Mapping[int, str]) -> Transition:
        """Apply task changes, then move the approvals covering them between waiting/rejected and pending."""
        statuses = {**self.statuses, **changes}
        submitted, withdrawn = [], []
        for approval in self.template.approvals:
            if not any(number in approval.covers for number in changes):
                continue
            all_done = all(statuses[n] == DONE for n in approval.covers)
            current = statuses[approval.number]
            if all_done and current in (WAITING, REJECTED):
                statuses[approval.number] = PENDING
                submitted.append(approval.number)
            elif not all_done and current == PENDING:
                statuses[approval.number] = WAITING
                withdrawn.append(approval.number)
        return Transition(RunState(self.template, statuses), tuple(submitted), tuple(withdrawn))
