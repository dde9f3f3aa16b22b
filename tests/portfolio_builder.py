"""Helpers for the KPI, report and export tests: build accounts and walk them through the workflow with the
real service functions, under a clock the test controls so turnaround times are known exactly.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from acct_tui.store import services
from acct_tui.store.queries import account_detail
from acct_tui.template import SINGLE, packaged_template


class Clock:
    """Replaces `utcnow` in the services so every write happens at a time the test chose."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def install_clock(monkeypatch: pytest.MonkeyPatch, start: datetime) -> Clock:
    from acct_tui.store import kpis

    clock = Clock(start)
    monkeypatch.setattr(services, "utcnow", clock)
    monkeypatch.setattr(kpis, "utcnow", clock)
    return clock


def run_of(account_id: uuid.UUID) -> uuid.UUID:
    return account_detail(account_id).run_id


def fill_required(run_id: uuid.UUID, step_number: int) -> None:
    """Choose the first option of every required choice so the step can be completed."""
    for field in packaged_template().step(step_number).fields:
        if field.required and field.type == SINGLE:
            services.set_field(run_id, step_number, field.key, field.options[0])


def finish_steps(run_id: uuid.UUID, last_step: int, approver: str = "manager") -> None:
    """Complete every task and grant every approval from the first open step up to `last_step`."""
    from acct_tui.store.queries import run_view
    from acct_tui.store.models import Run

    account_id = Run.get_by_id(run_id).account_id
    steps = run_view(account_id).steps
    for step in steps[:last_step]:
        if step.status in ("done", "approved"):
            continue
        if step.is_approval:
            services.approve(run_id, step.number, "Fine.", actor=approver)
        else:
            fill_required(run_id, step.number)
            services.complete_step(run_id, step.number)
