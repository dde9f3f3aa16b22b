"""Pure workflow rules: no Textual, no SQL. See `engine` for run states and `fields` for value rules."""

from acct_tui.workflow.engine import (
    APPROVAL_STATES,
    APPROVE,
    APPROVED,
    DONE,
    LOCKED,
    OPEN,
    PENDING,
    REJECT,
    REJECTED,
    TASK_STATES,
    WAITING,
    Progress,
    RunState,
    Transition,
    WorkflowError,
)

__all__ = [
    "APPROVAL_STATES",
    "APPROVE",
    "APPROVED",
    "DONE",
    "LOCKED",
    "OPEN",
    "PENDING",
    "REJECT",
    "REJECTED",
    "TASK_STATES",
    "WAITING",
    "Progress",
    "RunState",
    "Transition",
    "WorkflowError",
]
