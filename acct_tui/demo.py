"""A realistic demo portfolio for trying the app: a few dozen accounts at every point of the workflow,
built through the same service functions a user's keys call, so it is audited like real work.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from acct_tui.errors import DomainError
from acct_tui.store.db import retried_on_conflict, write_transaction
from acct_tui.store.kpis import add_kpi, add_objective, record_result
from acct_tui.store.models import Account
from acct_tui.store.queries import account_detail
from acct_tui.store.services import (
    approve,
    complete_step,
    create_account,
    reject,
    set_field,
)
from acct_tui.store.templates import current_template
from acct_tui.template import (
    ASSIGNEE_KEY,
    DUE_KEY,
    KPI_ROLE,
    NOTES_KEY,
    OBJECTIVES_ROLE,
    RESULTS_ROLE,
    Template,
)
from acct_tui.workflow.field_kinds import field_kind
from acct_tui.workflow.fields import SEGMENTS, STAGES, name_key

DEMO_NAMES = (
    "Northwind Traders", "Contoso Pharmaceuticals", "Fabrikam Robotics", "Tailspin Airlines", "Wingtip Toys",
    "Adventure Works Cycles", "Alpine Ski House", "Blue Yonder Airlines", "Coho Winery", "Fourth Coffee",
    "Graphic Design Institute", "Humongous Insurance", "Litware Software", "Lucerne Publishing",
    "Margie's Travel", "Proseware Analytics", "School of Fine Art", "Southridge Video", "Trey Research",
    "Woodgrove Bank", "Wide World Importers", "Relecloud Hosting", "VanArsdel Foods", "Bellows College",
    "Datum Logistics", "Consolidated Messenger", "City Power & Light", "Munson's Pickles and Preserves",
    "Nod Publishers", "Tasmanian Traders", "Kiruna Mining AB", "Sakura Robotics KK", "Café Lumière SARL",
    "Müller Maschinenbau GmbH", "São Paulo Têxteis", "Øresund Shipping",
)
OWNERS = ("alice", "bob", "chandra", "dmitri", "eve")
INDUSTRIES = ("Retail", "Pharmaceuticals", "Manufacturing", "Aviation", "Banking", "Software", "Logistics",
              "Food & beverage", "Education", "Energy", "Publishing", "Mining")
NOTES = (
    "Met the purchasing lead; budget cycle closes in March.",
    "Contract renewal due next quarter — check the discount terms.",
    "Customer asked for a single monthly invoice instead of weekly.",
    "Escalation from last year is closed; relationship is warming up.",
    "Competitor pitched them in October; keep an eye on pricing.",
)


def _fill_step(run_id, step_number: int, template: Template, rng: random.Random, today: date, finished: bool) -> None:
    step = template.step(step_number)
    for field in step.fields:
        if not field.is_choice:
            continue  # notes, assignee and due date are filled below, with the demo's own values
        if finished and field_kind(field).tick_list:
            set_field(run_id, step_number, field.key, field.options)  # a finished checklist is all ticked
        else:
            set_field(run_id, step_number, field.key, field_kind(field).example(field, rng))
    if rng.random() < 0.6:
        set_field(run_id, step_number, NOTES_KEY, rng.choice(NOTES))
    set_field(run_id, step_number, ASSIGNEE_KEY, rng.choice(OWNERS))
    due = today + timedelta(days=rng.randint(-20, 30) if not finished else rng.randint(-60, -1))
    set_field(run_id, step_number, DUE_KEY, due)


OBJECTIVES = (  # title, target value, the metric that measures it
    ("Raise customer satisfaction", "4.5", "csat"),
    ("Keep the customer", "95", "retention"),
    ("Grow the pipeline", "2000000", "pipeline"),
    ("Win more of their market", "12", "market_share"),
)


def _kpi_history(account_id, step: int, revenue: int, rng: random.Random, today: date) -> None:
    """A year of monthly monitoring (entered in step `step`), drifting the way real accounts do."""
    csat, nps, retention, share = rng.uniform(2.8, 4.4), rng.uniform(-20, 50), rng.uniform(80, 97), rng.uniform(2, 15)
    pipeline = revenue * rng.uniform(0.2, 0.8)
    for months_ago in range(11, -1, -1):
        measured = today - timedelta(days=30 * months_ago + rng.randint(0, 4))
        csat = min(5, max(1, csat + rng.uniform(-0.25, 0.3)))
        nps = min(100, max(-100, nps + rng.uniform(-6, 8)))
        retention = min(100, max(0, retention + rng.uniform(-2, 2)))
        share = min(100, max(0, share + rng.uniform(-0.6, 0.8)))
        pipeline = max(0, pipeline * rng.uniform(0.9, 1.15))
        for metric, value in (("revenue", revenue / 12 * rng.uniform(0.8, 1.2)), ("csat", csat), ("nps", nps),
                              ("retention", retention), ("pipeline", pipeline), ("market_share", share)):
            add_kpi(account_id, metric, f"{value:.1f}", measured, step=step)


def _objectives(run_id, rng: random.Random, today: date) -> list:
    return [
        add_objective(run_id, title, target, today + timedelta(days=rng.randint(-30, 180)), metric=metric)
        for title, target, metric in rng.sample(OBJECTIVES, rng.randint(2, 3))
    ]


def _advance(run_id, account_id, revenue: int, target: int, template: Template, rng: random.Random,
             today: date) -> None:
    """Work through the steps before `target`; approvals are granted, now and then after a rejection."""
    objective_ids: list = []
    monitoring = next(iter(template.with_role(KPI_ROLE)), None)  # the first KPI step: monitoring
    for step in template.steps:
        if step.role == OBJECTIVES_ROLE:
            objective_ids = _objectives(run_id, rng, today)
        if step == monitoring:
            _kpi_history(account_id, step.number, revenue, rng, today)
        if step.role == RESULTS_ROLE:
            for objective_id in objective_ids:
                achieved = rng.random() < 0.6
                record_result(objective_id, "Target reached." if achieved else "Fell short; carried over.", achieved)
        if step.number >= target:
            if not step.is_approval:
                _fill_step(run_id, step.number, template, rng, today, finished=False)
            return
        if step.is_approval:
            if rng.random() < 0.2:
                reject(run_id, step.number, "Please add the latest figures before I sign this off.", actor="manager")
                for covered in step.covers:
                    complete_step(run_id, covered)
            approve(run_id, step.number, "Looks good.", actor="manager")
        else:
            _fill_step(run_id, step.number, template, rng, today, finished=True)
            complete_step(run_id, step.number)


@retried_on_conflict
def load_demo_portfolio(seed: int = 7, today: date | None = None) -> int:
    """Add the demo accounts (refused if they are already there); returns how many were added."""
    template = current_template()
    rng = random.Random(seed)
    today = today or date.today()
    keys = [name_key(name) for name in DEMO_NAMES]
    with write_transaction():
        if Account.select().where(Account.name_key.in_(keys)).exists():
            raise DomainError("The demo portfolio is already loaded (its account names exist).")
        for index, name in enumerate(DEMO_NAMES):
            revenue = rng.randrange(50, 50_000) * 1000
            account_id = create_account(
                name,
                owner=OWNERS[index % len(OWNERS)],
                segment=rng.choice(SEGMENTS),
                stage=rng.choice(STAGES),
                industry=rng.choice(INDUSTRIES),
                annual_revenue=revenue,
            )
            _advance(account_detail(account_id).run_id, account_id, revenue, rng.randint(1, 21), template, rng, today)
    return len(DEMO_NAMES)
