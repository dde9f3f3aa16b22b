"""Every transition of the workflow engine, including the refusals. Pure Python: fast."""

from __future__ import annotations

from datetime import date

import pytest

from acct_tui.errors import DomainError
from acct_tui.template import packaged_template
from acct_tui.workflow import (
    APPROVED,
    DONE,
    LOCKED,
    OPEN,
    PENDING,
    REJECTED,
    WAITING,
    RunState,
    WorkflowError,
)

TEMPLATE = packaged_template()
SATISFIED = {"satisfaction": "Satisfied"}
REVIEW = {"review_frequency": "Quarterly"}


def values_for(step: int) -> dict[str, object]:
    return {4: SATISFIED, 18: REVIEW}.get(step, {})


def done(state: RunState, *steps: int) -> RunState:
    for step in steps:
        state = state.complete(step, values_for(step)).state
    return state


def through_status_approval() -> RunState:
    return done(RunState.new(TEMPLATE), 1, 2, 3, 4).approve(5).state


def test_a_new_run_has_open_tasks_and_waiting_approvals():
    state = RunState.new(TEMPLATE)
    assert [state.status(n) for n in (1, 4, 5, 6, 8, 15, 19, 20)] == [OPEN, OPEN, WAITING, OPEN, WAITING, WAITING,
                                                                        WAITING, OPEN]
    progress = state.progress()
    assert (progress.done, progress.total, progress.current_step, progress.next_approval) == (0, 20, 1, 5)


def test_invalid_stored_state_is_refused():
    with pytest.raises(WorkflowError, match="Step 5 .approve-status. is stored as 'done'"):
        RunState(TEMPLATE, {**RunState.new(TEMPLATE).statuses, 5: DONE})


def test_completing_a_task_marks_it_done_without_touching_others():
    state = RunState.new(TEMPLATE)
    transition = state.complete(1)
    assert transition.state.status(1) == DONE
    assert state.status(1) == OPEN  # immutable: the old state is unchanged
    assert transition.submitted == ()
    assert transition.state.status(5) == WAITING


def test_completing_all_covered_steps_submits_the_approval():
    state = done(RunState.new(TEMPLATE), 1, 2, 3)
    transition = state.complete(4, SATISFIED)
    assert transition.submitted == (5,)
    assert transition.state.status(5) == PENDING
    assert transition.state.mark(5) == PENDING


def test_completing_twice_is_refused():
    state = done(RunState.new(TEMPLATE), 1)
    with pytest.raises(WorkflowError, match="already done"):
        state.complete(1)


def test_required_field_missing_is_refused_with_the_field_label():
    state = done(RunState.new(TEMPLATE), 1, 2, 3)
    with pytest.raises(WorkflowError, match="Customer satisfaction"):
        state.complete(4, {"satisfaction": None})


def test_an_approval_cannot_be_completed_like_a_task():
    with pytest.raises(WorkflowError, match="approval queue"):
        RunState.new(TEMPLATE).complete(5)


def test_a_step_after_an_approval_is_locked_until_it_is_granted():
    state = done(RunState.new(TEMPLATE), 1, 2, 3, 4)
    assert state.mark(6) == LOCKED
    with pytest.raises(WorkflowError, match=r"locked until “Approval: Account Status” \(step 5\)"):
        state.complete(6)
    granted = state.approve(5).state
    assert granted.mark(6) == OPEN
    assert granted.complete(6).state.status(6) == DONE


def test_steps_after_a_later_gate_stay_locked_behind_it():
    state = through_status_approval()
    with pytest.raises(WorkflowError, match=r"step 8"):
        state.complete(9)
    assert state.mark(9) == LOCKED
    assert state.mark(7) == OPEN


def test_locked_steps_stay_editable_as_drafts():
    state = RunState.new(TEMPLATE)
    assert state.edit_refusal(6) is None
    state.check_edit(20)


def test_approve_requires_pending():
    state = done(RunState.new(TEMPLATE), 1, 2)
    with pytest.raises(WorkflowError, match=r"not submitted yet: steps 3 and 4 still to do"):
        state.approve(5)
    with pytest.raises(WorkflowError, match="task, not an approval"):
        state.approve(4)


def test_approving_twice_is_refused():
    state = through_status_approval()
    assert state.status(5) == APPROVED
    with pytest.raises(WorkflowError, match="already approved"):
        state.approve(5)


def test_reject_requires_a_comment():
    state = done(RunState.new(TEMPLATE), 1, 2, 3, 4)
    for comment in ("", "   \n", "\u200b\ufeff", "\u3164\n\u2060"):
        with pytest.raises(WorkflowError, match="needs a comment"):
            state.reject(5, comment)


def test_reject_reopens_the_covered_steps_and_resubmission_makes_it_pending_again():
    state = done(RunState.new(TEMPLATE), 1, 2, 3, 4)
    rejected = state.reject(5, "Records are incomplete").state
    assert [rejected.status(n) for n in (1, 2, 3, 4)] == [OPEN] * 4
    assert rejected.status(5) == REJECTED
    assert rejected.progress().current_step == 1
    assert rejected.progress().blocker == "“Approval: Account Status” was rejected: redo steps 1, 2, 3 and 4 to resubmit it."
    # Gating treats a rejected approval like a waiting one.
    with pytest.raises(WorkflowError, match="locked"):
        rejected.complete(6)
    with pytest.raises(WorkflowError, match="not submitted yet"):
        rejected.approve(5)
    partly = done(rejected, 1, 2, 3)
    assert partly.status(5) == REJECTED
    resubmitted = partly.complete(4, SATISFIED)
    assert resubmitted.submitted == (5,)
    assert resubmitted.state.status(5) == PENDING
    assert resubmitted.state.approve(5).state.mark(6) == OPEN


def test_a_rejection_taken_back_leaves_the_state_before_it_unless_a_step_was_redone():
    state = done(RunState.new(TEMPLATE), 1, 2, 3, 4)
    rejected = state.reject(5, "Records are incomplete").state
    assert rejected.withdraw_rejection(5).state.statuses == state.statuses
    with pytest.raises(WorkflowError, match="Steps 1 and 3 of “Approval: Account Status” changed since the rejection"):
        done(rejected, 1, 3).withdraw_rejection(5)
    with pytest.raises(WorkflowError, match="is not rejected"):
        state.withdraw_rejection(5)


def test_reject_only_pending():
    with pytest.raises(WorkflowError, match="not submitted yet"):
        RunState.new(TEMPLATE).reject(5, "no")


def test_reopening_a_covered_step_withdraws_a_pending_approval():
    state = done(RunState.new(TEMPLATE), 1, 2, 3, 4)
    transition = state.reopen(2)
    assert transition.withdrawn == (5,)
    assert transition.state.status(5) == WAITING
    assert transition.state.status(2) == OPEN


def test_reopening_an_open_step_is_refused():
    with pytest.raises(WorkflowError, match="nothing to reopen"):
        RunState.new(TEMPLATE).reopen(1)


def test_editing_or_reopening_a_step_under_a_granted_approval_is_refused():
    state = through_status_approval()
    assert "reopen that approval" in state.edit_refusal(3)
    with pytest.raises(WorkflowError, match="reopen that approval"):
        state.check_edit(3)
    with pytest.raises(WorkflowError, match="reopen that approval"):
        state.reopen(3)
    assert state.edit_refusal(6) is None


def test_reopening_an_approval_sends_it_back_to_the_queue_and_unfreezes_its_steps():
    state = through_status_approval()
    transition = state.reopen_approval(5)
    assert transition.state.status(5) == PENDING
    assert transition.submitted == (5,)
    assert transition.state.edit_refusal(3) is None
    assert transition.state.mark(6) == LOCKED
    assert state.reopen(5).state.status(5) == PENDING  # reopen on an approval is the same action


def test_reopening_an_approval_that_is_not_granted_is_refused():
    state = done(RunState.new(TEMPLATE), 1, 2, 3, 4)
    with pytest.raises(WorkflowError, match="not approved"):
        state.reopen_approval(5)
    with pytest.raises(WorkflowError, match="not an approval"):
        state.reopen_approval(4)
    with pytest.raises(WorkflowError, match="not approved"):
        state.reopen(5)


def test_approvals_cannot_be_edited():
    assert "approval queue" in RunState.new(TEMPLATE).edit_refusal(8)


def test_unknown_steps_are_refused_in_words():
    with pytest.raises(DomainError, match="There is no step 21: steps run from 1 to 20"):
        RunState.new(TEMPLATE).complete(21)
    with pytest.raises(DomainError, match="There is no step 0"):
        RunState.new(TEMPLATE).status(0)


def test_the_whole_run_to_the_end():
    state = RunState.new(TEMPLATE)
    for step in TEMPLATE.steps:
        if step.is_approval:
            assert state.status(step.number) == PENDING
            state = state.approve(step.number).state
        else:
            state = state.complete(step.number, values_for(step.number)).state
    progress = state.progress()
    assert progress.complete
    assert (progress.done, progress.next_approval) == (20, None)
    assert progress.blocker == "All steps are finished."


def test_progress_counts_done_steps_and_granted_approvals_and_names_the_blocker():
    state = through_status_approval()
    progress = state.progress()
    assert (progress.done, progress.current_step, progress.next_approval) == (5, 6, 8)
    assert progress.blocker == "Next: step 6, Define account management objectives."
    pending = done(state, 6, 7).progress()
    assert pending.current_step == 8
    assert "Waiting for a decision on “Approval: Account Management Plan”" in pending.blocker


def test_overdue_is_open_tasks_past_their_due_date():
    state = done(RunState.new(TEMPLATE), 1)
    today = date(2026, 11, 23)
    due = {1: date(2026, 11, 1), 2: date(2026, 11, 22), 3: date(2026, 11, 23), 4: date(2026, 12, 1)}
    assert state.progress(due, today).overdue == (2,)
