"""Moving a run from one version of its template to another: what it gains, what it loses, where each answer
goes. Pure: the store reads the run, asks for a plan, shows it, and applies it only when nothing is lost or
the user accepts the losses.

Steps and fields are matched by key. An answer moves with its step (whatever the step's new number); a choice
follows an option that was renamed (see `acct_tui.template.diff.option_renames`); an answer whose step or
field is gone, or a choice whose option is gone, is lost. Approvals are settled again under the new version's
coverage: a granted approval that now covers a step not done goes back to waiting for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from acct_tui.errors import DomainError
from acct_tui.template import CHOICE_TYPES, SINGLE, Field, Template
from acct_tui.template.diff import option_renames
from acct_tui.workflow.engine import APPROVED, DONE, PENDING, REJECTED, WAITING, RunState, initial_state
from acct_tui.workflow.field_kinds import normalize_field_value


@dataclass(frozen=True, slots=True)
class AnswerMove:
    step_key: str
    field_key: str
    label: str
    old_number: int
    new_number: int
    old_value: object
    new_value: object


@dataclass(frozen=True, slots=True)
class UpgradePlan:
    old: Template
    new: Template
    state: RunState  # the run's step states under the new version
    moves: tuple[AnswerMove, ...]  # answers kept (perhaps in another step number or with a renamed option)
    losses: tuple[str, ...]  # answers (or parts of answers) the new version has no place for
    gains: tuple[str, ...]  # steps and fields the run gains
    settled: tuple[str, ...]  # approvals whose state changes under the new coverage
    submitted: tuple[str, ...]  # keys of approvals that enter the queue with the upgrade
    dropped: tuple[tuple[str, str], ...]  # (step key, field key) of the stored answers that are not kept

    @property
    def loses_answers(self) -> bool:
        return bool(self.losses)

    def lines(self) -> list[str]:
        """The preview, in words."""
        lines = [f"From version {self.old.version} to version {self.new.version} of “{self.new.name}”:"]
        lines += [f"  gains: {gain}" for gain in self.gains]
        staying = 0
        for move in self.moves:
            if move.old_number == move.new_number and move.old_value == move.new_value:
                staying += 1
                continue
            where = (f"step {move.old_number} → step {move.new_number}" if move.old_number != move.new_number
                     else f"stays in step {move.new_number}")
            change = "" if move.old_value == move.new_value else f", now {_shown(move.new_value)}"
            lines.append(f"  moves: “{move.label}” {_shown(move.old_value)}: {where}{change}")
        if staying:
            lines.append(f"  keeps: {staying} other answer{'s where they are' if staying != 1 else ' where it is'}")
        lines += [f"  approval: {text}" for text in self.settled]
        lines += [f"  LOSES: {loss}" for loss in self.losses]
        if len(lines) == 1:
            lines.append("  nothing changes for this run but the version it follows")
        return lines


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return "“" + ", ".join(value) + "”" if value else "—"
    return f"“{value}”" if value not in (None, "") else "—"


def _is_answer(value: object) -> bool:
    return value not in (None, "", ())


def _carry(old: Field, new: Field, value: object) -> tuple[object, list[str]]:
    """`value` of `old` as a value of `new`, and the labels (or the whole value) that do not fit."""
    if old.type in CHOICE_TYPES and new.type in CHOICE_TYPES:
        renames = option_renames(old, new)
        labels = [renames.get(label, label) for label in (value if isinstance(value, tuple) else (value,))]
        kept = [label for label in labels if label in new.options]
        lost = [label for label in labels if label not in new.options]
        if new.type == SINGLE:
            if len(kept) > 1:
                return kept[0], kept[1:] + lost
            return (kept[0] if kept else None), lost
        return tuple(option for option in new.options if option in kept), lost
    try:
        return normalize_field_value(new, value), []
    except DomainError:
        return None, [str(value)]


def plan_upgrade(state: RunState, answers: Mapping[tuple[str, str], object], new: Template) -> UpgradePlan:
    """How the run in `state` (with its stored `answers` by (step key, field key), in normal form) would
    stand on the template `new`."""
    old = state.template
    if new.key != old.key:
        raise DomainError(f"A run of “{old.name}” can only move to another version of it, not to “{new.name}”.")
    old_steps = {step.key: step for step in old.steps}
    moves, losses, dropped = [], [], []
    for (step_key, field_key), value in answers.items():
        if not _is_answer(value):
            continue
        before = old_steps.get(step_key)
        field = before.field(field_key) if before and any(f.key == field_key for f in before.fields) else None
        if before is None or field is None:
            continue  # not an answer of the version the run follows: nothing shows it now either
        target = new.step_by_key(step_key)
        new_field = next((f for f in target.fields if f.key == field_key), None) if target else None
        if target is None or new_field is None:
            gone = "its step is" if target is None else "the field is"
            losses.append(
                f"step {before.number} “{field.label}” {_shown(value)}: {gone} not in version {new.version}")
            dropped.append((step_key, field_key))
            continue
        carried, lost = _carry(field, new_field, value)
        if lost:
            losses.append(f"step {before.number} “{field.label}”: {_shown(tuple(lost))} "
                          f"{'is not an option' if len(lost) == 1 else 'are not options'} in version {new.version}")
        if _is_answer(carried):
            moves.append(AnswerMove(step_key, field_key, new_field.label, before.number, target.number, value, carried))
        else:
            dropped.append((step_key, field_key))
    gains = [f"step {step.number} “{step.title}” ({'an approval' if step.is_approval else 'to do'})"
             for step in new.steps if step.key not in old_steps]
    statuses = state.statuses_by_key()
    new_statuses = {}
    for step in new.steps:
        before = old_steps.get(step.key)
        kept = before is not None and before.kind == step.kind
        new_statuses[step.number] = statuses[step.key] if kept else initial_state(step)
    settled, submitted = _settle_approvals(new, new_statuses)
    return UpgradePlan(old, new, RunState(new, new_statuses), tuple(moves), tuple(losses), tuple(gains),
                       tuple(settled), tuple(submitted), tuple(dropped))


def _settle_approvals(template: Template, statuses: dict[int, str]) -> tuple[list[str], list[str]]:
    """Put each approval in the state its (new) coverage calls for; in words, what changed."""
    settled, submitted = [], []
    for gate in template.approvals:
        all_done = all(statuses[number] == DONE for number in gate.covers)
        current = statuses[gate.number]
        todo = ", ".join(str(number) for number in gate.covers if statuses[number] != DONE)
        if current in (APPROVED, PENDING) and not all_done:
            statuses[gate.number] = WAITING
            what = "granted" if current == APPROVED else "waiting for a decision"
            settled.append(f"“{gate.title}” was {what}; it now waits for step {todo}, then needs a decision again")
        elif current in (WAITING, REJECTED) and all_done:
            statuses[gate.number] = PENDING
            submitted.append(gate.key)
            settled.append(f"“{gate.title}” has all its steps done: it enters the approval queue")
    return settled, submitted


__all__ = ["AnswerMove", "UpgradePlan", "plan_upgrade"]
