"""Any valid template (hypothesis draws its steps, approvals, coverage, choice fields and roles) loads, is
installed, runs through the engine to its last step, and every report exports in every format."""

from __future__ import annotations

import itertools
import json
import random
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acct_tui.reports import ACCOUNT, FORMATS, PORTFOLIO, render_account, render_portfolio
from acct_tui.store import kpis, queries, services
from acct_tui.store.reports import account_report, portfolio_report
from acct_tui.store.upgrades import install_template
from acct_tui.template import CHOICE_TYPES, parse_template
from acct_tui.workflow.field_kinds import field_kind

TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip)
SERIAL = itertools.count()


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


@st.composite
def templates(draw: st.DrawFn) -> str:
    """The TOML text of a valid template of 1 to 8 steps."""
    lines = [f'key = "drawn-{next(SERIAL)}"', f"name = {_string(draw(TEXT))}", f"description = {_string(draw(TEXT))}"]
    uncovered: list[str] = []
    roles_left = ["objectives", "results"]
    for index in range(draw(st.integers(1, 8))):
        key = f"step-{index}{draw(st.text('abc_-0', max_size=4))}"
        approval = bool(uncovered) and draw(st.booleans())
        lines += ["", "[[steps]]", f'key = "{key}"', f"title = {_string(draw(TEXT))}",
                  f'kind = "{"approval" if approval else "task"}"']
        if approval:
            covered = draw(st.lists(st.sampled_from(uncovered), min_size=1, unique=True))
            uncovered = [step for step in uncovered if step not in covered]
            lines.append(f"covers = {json.dumps(covered)}")
        else:
            uncovered.append(key)
            role = draw(st.sampled_from([None, "kpi", *roles_left]))
            if role:
                lines.append(f'role = "{role}"')
                if role in roles_left:
                    roles_left.remove(role)
        lines += ["[steps.guidance]", f"purpose = {_string(draw(TEXT))}", f"desired_result = {_string(draw(TEXT))}",
                  f"questions = [{_string(draw(TEXT))}]"]
        if approval:
            continue
        for field_index in range(draw(st.integers(0, 2))):
            options = draw(st.lists(TEXT.map(str.strip), min_size=1, max_size=4, unique_by=str.casefold))
            lines += ["[[steps.fields]]", f'key = "field_{field_index}"', f"label = {_string(draw(TEXT))}",
                      f'type = "{draw(st.sampled_from(CHOICE_TYPES))}"',
                      f"options = [{', '.join(map(_string, options))}]",
                      f"required = {'true' if draw(st.booleans()) else 'false'}"]
    return "\n".join(lines) + "\n"


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=templates(), seed=st.integers(0, 1000))
def test_any_valid_template_loads_runs_to_the_end_and_exports(db, text, seed):
    template = parse_template(text, "drawn.toml")
    installed = install_template(text, "drawn.toml").template
    assert installed.steps == template.steps
    account = services.create_account(f"Account {uuid.uuid4()}")
    view = queries.run_view(account)
    assert (view.template.key, len(view.steps)) == (template.key, len(template.steps))
    run, rng = view.run_id, random.Random(seed)
    for step in template.steps:
        if step.is_approval:
            services.approve(run, step.number, actor="boss")
            continue
        for field in step.fields:
            if field.is_choice and (field.required or rng.random() < 0.5):
                services.set_field(run, step.number, field.key, field_kind(field).example(field, rng))
        if step.role == "kpi":
            kpis.add_kpi(account, "csat", "4.5", f"2020-01-{step.number:02d}", step=step.number)
        if step.role == "objectives":
            kpis.add_objective(run, "Keep them happy", "4", metric="csat")
        services.complete_step(run, step.number)
    progress = queries.run_view(account).progress
    assert progress.complete and progress.done == len(template.steps)

    report = account_report(account)
    for fmt in FORMATS[ACCOUNT]:
        assert render_account(report, fmt).strip()
    exported = json.loads(render_account(report, "json"))
    assert exported["template"]["key"] == template.key
    assert [step["step_key"] for step in exported["steps"]] == [step.key for step in template.steps]
    assert all(step["state"] in ("done", "approved") for step in exported["steps"])
    portfolio = portfolio_report()
    for fmt in FORMATS[PORTFOLIO]:
        assert render_portfolio(portfolio, fmt).strip()
    gates = {gate.key for gate in portfolio.gates}
    assert {gate.key for gate in template.approvals} <= gates
