"""Helpers for the KPI, report and export tests: build accounts and walk them through the workflow with the
real service functions, under a clock the test controls so turnaround times are known exactly.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import NamedTuple

import pytest

from acct_tui.store import services
from acct_tui.store.queries import account_detail
from acct_tui.template import SINGLE


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


def finish_steps(run_id: uuid.UUID, last_step: int, approver: str = "manager") -> None:
    """Complete every task and grant every approval up to `last_step`; a required choice still empty gets
    its first option."""
    from acct_tui.store.models import Run
    from acct_tui.store.queries import run_view

    steps = run_view(Run.get_by_id(run_id).account_id).steps
    for step in steps[:last_step]:
        if step.status in ("done", "approved"):
            continue
        if step.is_approval:
            services.approve(run_id, step.number, "Fine.", actor=approver)
            continue
        for field in step.fields:
            if field.required and field.type == SINGLE and not field.value:
                services.set_field(run_id, step.number, field.key, field.options[0])
        services.complete_step(run_id, step.number)


# The small portfolio the report, export and screen tests share -------------------------------------------

START = datetime(2026, 6, 1, 9, 0)
TODAY = date(2026, 6, 30)
HOSTILE_COMMENT = "Need *all* invoices | see <b>ledger</b> [here](http://evil.example) `now` # _asap_"


class SmallPortfolio(NamedTuple):
    acme: uuid.UUID
    beta: uuid.UUID
    gamma: uuid.UUID
    delta: uuid.UUID  # archived: left out of every number but the archived count
    raise_csat: uuid.UUID
    renew: uuid.UUID


def build_small_portfolio(monkeypatch: pytest.MonkeyPatch) -> SmallPortfolio:
    """Four accounts built through the services at known times (see the expected numbers in the tests):

    - Acme (alice, Strategic, Onboarding): steps 1-4 done at 09:00, gate 5 rejected 6 h later, steps redone
      at 16:00, gate 5 approved 10 h after that; step 6 overdue and unassigned; CSAT 4.0 then 4.5, revenue
      1,000; objectives "Raise CSAT" (4.4, due June 15, not judged) and "Renew the contract" (missed).
    - Beta (bob, Key, Onboarding): steps 1-4 done on June 2, gate 5 pending since then (28 days by June 30);
      steps 6 and 7 overdue, assigned to carol; CSAT 3.0.
    - Gamma (no owner, Transactional, Prospecting): step 1 overdue, nobody assigned.
    - Delta (archived, Key): satisfied and measured, but archived.
    """
    from acct_tui.store import kpis

    clock = install_clock(monkeypatch, START)
    acme = services.create_account("Acme", owner="alice", segment="Strategic", stage="Onboarding")
    beta = services.create_account("Beta", owner="bob", segment="Key", stage="Onboarding")
    gamma = services.create_account("Gamma", segment="Transactional", stage="Prospecting")
    delta = services.create_account("Delta", owner="dan", segment="Key", stage="Retention")

    acme_run = run_of(acme)
    services.set_field(acme_run, 4, "satisfaction", "Satisfied")
    services.set_field(acme_run, 3, "history_issues", ["Late payments", "Billing errors"])
    finish_steps(acme_run, 4)  # gate 5 submitted at 09:00
    clock.advance(hours=6)
    services.reject(acme_run, 5, HOSTILE_COMMENT, actor="manager")
    clock.advance(hours=1)
    for step in (1, 2, 3, 4):
        services.complete_step(acme_run, step)  # resubmitted at 16:00
    clock.advance(hours=10)
    services.approve(acme_run, 5, "Fine now.", actor="manager")
    services.set_field(acme_run, 6, "due", "2026-06-20")
    kpis.add_kpi(acme, "csat", "4.0", "2026-03-01", step=10, today=TODAY)
    kpis.add_kpi(acme, "csat", "4.5", "2026-05-01", step=13, today=TODAY)
    kpis.add_kpi(acme, "revenue", "1000", "2026-05-01", step=13, today=TODAY)
    kpis.add_kpi(acme, "csat", "4.8", "2026-06-20", step=10, today=TODAY)  # after the objective's due date
    raise_csat = kpis.add_objective(acme_run, "Raise CSAT", "4.4", "2026-06-15", metric="csat")
    renew = kpis.add_objective(acme_run, "Renew the contract", "Signed by June")
    kpis.record_result(renew, "They chose a competitor.", False)

    clock.now = datetime(2026, 6, 2, 9, 0)
    beta_run = run_of(beta)
    services.set_field(beta_run, 4, "satisfaction", "Neutral")
    services.set_field(beta_run, 3, "history_issues", ["Late payments"])
    finish_steps(beta_run, 4)
    for step, due in ((6, "2026-06-10"), (7, "2026-06-25")):
        services.set_field(beta_run, step, "due", due)
        services.set_field(beta_run, step, "assignee", "carol")
    kpis.add_kpi(beta, "csat", "3", "2026-06-01", today=TODAY)

    services.set_field(run_of(gamma), 1, "due", "2026-06-29")

    delta_run = run_of(delta)
    services.set_field(delta_run, 4, "satisfaction", "Very Satisfied")
    services.set_field(delta_run, 1, "due", "2026-06-01")
    kpis.add_kpi(delta, "csat", "1", "2026-06-01", today=TODAY)
    services.archive_account(delta)
    return SmallPortfolio(acme, beta, gamma, delta, raise_csat, renew)
