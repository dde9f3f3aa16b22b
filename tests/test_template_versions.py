"""The organisation's own template, versioned: a second version (a step added in the middle, an option renamed,
a gate covering one more step) is installed; new runs start on it while old runs continue on theirs; an old
run is upgraded after a preview; a version that would lose answers is refused; reports are right with runs
on both versions; and the `template` commands say all that in words."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from acct_tui.cli import main
from acct_tui.errors import DomainError
from acct_tui.reports import render_account, render_portfolio
from acct_tui.store import kpis, queries, services, summaries
from acct_tui.store.models import FieldValue, Run, StepState
from acct_tui.store.reports import account_report, portfolio_report
from acct_tui.store.templates import current_template, template_versions
from acct_tui.store.upgrades import install_template, preview_upgrade, upgrade_run
from acct_tui.template import packaged_template_text, parse_template
from acct_tui.template.diff import diff_templates

TODAY = date(2026, 6, 30)
CREDIT_STEP = '''
[[steps]]
key = "check-credit"
title = "Check the customer's credit"
kind = "task"
[steps.guidance]
purpose = "Know whether the plan can count on the customer paying."
desired_result = "A credit rating on record."
questions = ["What does the credit agency say?"]
[[steps.fields]]
key = "credit_rating"
label = "Credit rating"
type = "single"
options = ["Good", "Fair", "Poor"]
required = true
'''


def version_2_text() -> str:
    """The packaged template with a step added after step 6, "Phone" renamed "Telephone", and the plan approval
    covering the new step too. Step numbers are left out: positions are counted."""
    text = re.sub(r"(?m)^number = \d+\n", "", packaged_template_text())
    text = text.replace("# --- 7 ---", CREDIT_STEP + "\n# --- 7 ---", 1)
    text = text.replace('"Email", "Phone",', '"Email", "Telephone",', 1)
    return text.replace('covers = ["define-objectives", "draft-plan"]',
                        'covers = ["define-objectives", "check-credit", "draft-plan"]', 1)


def _run_to_plan_approval(name: str) -> tuple:
    """An account whose steps 1-8 are done and approved, with answers in steps 4, 7 and 12."""
    account = services.create_account(name, owner="ana")
    run = queries.run_view(account).run_id
    services.set_field(run, 4, "satisfaction", "Satisfied")
    for step in (1, 2, 3, 4):
        services.complete_step(run, step)
    services.approve(run, 5, actor="boss")
    services.set_field(run, 7, "notes", "Plan agreed with the CFO")
    for step in (6, 7):
        services.complete_step(run, step)
    services.approve(run, 8, actor="boss")
    services.set_field(run, 12, "channels", ["Email", "Phone"])
    return account, run


@pytest.fixture
def two_versions(db):
    """An old run on version 1 (approved up to step 8), then version 2 installed and a new run on it."""
    old_account, old_run = _run_to_plan_approval("Old Co")
    installed = install_template(version_2_text(), "v2.toml", actor="owner")
    new_account = services.create_account("New Co", owner="bob")
    return old_account, old_run, new_account, installed


def test_new_runs_start_on_the_new_version_while_old_runs_keep_theirs(two_versions):
    old_account, old_run, new_account, installed = two_versions
    assert installed.template.version == 2 and installed.previous.version == 1
    assert current_template().version == 2
    old, new = queries.run_view(old_account), queries.run_view(new_account)
    assert (old.template.version, len(old.steps), old.upgrade_available) == (1, 20, True)
    assert (new.template.version, len(new.steps), new.upgrade_available) == (2, 21, False)
    assert new.step(7).key == "check-credit" and new.step(9).covers == (6, 7, 8)
    assert new.step(13).field("channels").options[1] == "Telephone"
    # The old run goes on as before: its step 9 is still "Implement", its answers where they were.
    assert old.step(9).title == "Implement account management plan"
    assert old.step(7).field("notes").value == "Plan agreed with the CFO"
    services.complete_step(old_run, 9)
    assert queries.run_view(old_account).step(9).status == "done"
    # The new run asks for the credit rating, and keeps it under the step's key.
    new_run = new.run_id
    assert new.step(7).field("credit_rating").required
    services.set_field(new_run, 7, "credit_rating", "Good")
    assert FieldValue.get(FieldValue.run == new_run, FieldValue.key == "credit_rating").step_key == "check-credit"
    assert [(row.name, row.version, row.runs, row.current) for row in template_versions()] == [
        ("account-management", 1, 1, False), ("account-management", 2, 1, True)]


def test_the_diff_says_what_the_new_version_changes_in_words(two_versions):
    *_, installed = two_versions
    lines = diff_templates(installed.previous, installed.template)
    assert "Step added: step 7 “Check the customer's credit” (check-credit), a task" in lines
    assert ("step 13 “Communicate with account customer” (communicate-with-customer): “Communication channels” "
            "option renamed: “Phone” → “Telephone”") in lines
    assert ("Gate step 9 “Approval: Account Management Plan” (approve-plan) now also covers "
            "“Check the customer's credit”") in lines
    assert any(line.startswith("14 steps keep their key but get a new number: 7→8, 8→9") for line in lines)
    with pytest.raises(DomainError, match="same as version 2"):
        install_template(version_2_text(), "again.toml")


def test_an_upgrade_shows_its_preview_then_moves_every_answer(two_versions):
    old_account, old_run, *_ = two_versions
    plan = preview_upgrade(old_run, 2)
    preview = "\n".join(plan.lines())
    assert "gains: step 7 “Check the customer's credit” (to do)" in preview
    assert "moves: “Notes” “Plan agreed with the CFO”: step 7 → step 8" in preview
    assert ("moves: “Communication channels” “Email, Phone”: step 12 → step 13, now “Email, Telephone”"
            in preview)
    assert ("approval: “Approval: Account Management Plan” was granted; it now waits for step 7, then needs a "
            "decision again") in preview
    assert not plan.loses_answers
    assert queries.run_view(old_account).template.version == 1  # a preview writes nothing

    upgrade_run(old_run, 2, actor="owner")
    view = queries.run_view(old_account)
    assert (view.template.version, len(view.steps)) == (2, 21)
    assert view.step(4).field("satisfaction").value == "Satisfied"
    assert view.step(8).field("notes").value == "Plan agreed with the CFO"
    assert view.step(13).field("channels").value == ("Email", "Telephone")
    assert [view.step(n).status for n in (5, 6, 7, 8, 9)] == ["approved", "done", "open", "done", "waiting"]
    assert summaries.differences() == []  # the report summaries follow the run to its new version
    assert (view.progress.current_step, view.progress.next_approval) == (7, 9)
    assert [decision.step for decision in view.decisions] == [5, 9]  # the plan approval's decision followed it
    run = Run.get_by_id(old_run)
    assert (run.template_version, run.step_count, run.current_step) == (2, 21, 7)
    numbers = dict(StepState.select(StepState.step_key, StepState.number).where(StepState.run == old_run).tuples())
    assert numbers["check-credit"] == 7 and numbers["evaluate-success"] == 21
    assert view.history[0].action == "run.upgrade"
    with pytest.raises(DomainError, match="already follows version 2"):
        preview_upgrade(old_run, 2)
    # Once the credit check is done, the plan approval is requested again.
    services.set_field(old_run, 7, "credit_rating", "Fair")
    services.complete_step(old_run, 7)
    assert queries.run_view(old_account).step(9).status == "pending"


def test_an_upgrade_that_would_lose_answers_is_refused_unless_accepted(two_versions):
    old_account, old_run, *_ = two_versions
    version_3 = version_2_text().replace('"Email", "Telephone", "In-person meetings"', '"In-person meetings"', 1)
    install_template(version_3, "v3.toml")
    plan = preview_upgrade(old_run, 3)
    assert plan.loses_answers
    assert plan.losses == ("step 12 “Communication channels”: “Email, Phone” are not options in version 3",)
    with pytest.raises(DomainError, match="would lose 1 answer .*nothing was changed"):
        upgrade_run(old_run, 3)
    assert queries.run_view(old_account).template.version == 1
    upgrade_run(old_run, 3, allow_loss=True)
    view = queries.run_view(old_account)
    assert view.template.version == 3 and view.step(13).field("channels").value == ()
    assert "Email, Phone" in view.history[0].summary  # the lost answer stays in the history


def test_reports_are_right_with_runs_on_two_versions(two_versions):
    old_account, old_run, new_account, _ = two_versions
    new_run = queries.run_view(new_account).run_id
    services.set_field(new_run, 4, "satisfaction", "Neutral")
    for step in (1, 2, 3, 4):
        services.complete_step(new_run, step)
    services.reject(new_run, 5, "Records are missing", actor="boss")
    # Monitoring is step 11 in version 2.
    kpis.add_kpi(new_account, "csat", "4.1", date(2026, 6, 1), step=11, today=TODAY)
    with pytest.raises(DomainError, match="steps 11 and 14, not step 10"):
        kpis.add_kpi(new_account, "csat", "4.2", date(2026, 6, 2), step=10, today=TODAY)

    report = json.loads(render_portfolio(portfolio_report(TODAY), "json"))
    gates = {gate["step_key"]: gate for gate in report["approval_gates"]}
    assert [gate["step"] for gate in report["approval_gates"]] == [5, 9, 16, 20]  # numbered as version 2 has them
    assert (gates["approve-status"]["decisions"], gates["approve-status"]["rejected"]) == (2, 1)
    assert gates["approve-plan"]["decisions"] == 1
    assert report["satisfaction"]["Satisfied"] == 1 and report["satisfaction"]["Neutral"] == 1
    lines = {line["name"]: line for line in report["accounts"]}
    assert (lines["Old Co"]["template_version"], lines["Old Co"]["steps_total"]) == (1, 20)
    assert lines["Old Co"]["current_step_title"] == "Implement account management plan"
    assert (lines["New Co"]["template_version"], lines["New Co"]["steps_total"]) == (2, 21)
    assert report["templates"] == [{"key": "account-management", "version": 1, "accounts": 1},
                                   {"key": "account-management", "version": 2, "accounts": 1}]
    assert ("Account Management Template, version 2 for new accounts (1 on version 1; 1 on version 2)"
            in render_portfolio(portfolio_report(TODAY), "md"))

    old_report = json.loads(render_account(account_report(old_account, TODAY), "json"))
    assert old_report["template"] == {"key": "account-management", "name": "Account Management Template",
                                      "version": 1, "latest_version": 2}
    assert [decision["step_key"] for decision in old_report["decisions"]] == ["approve-status", "approve-plan"]
    markdown = render_account(account_report(old_account, TODAY), "md")
    assert "Account Management Template, version 1 (version 2 is available)" in markdown


def test_template_commands(db, db_path, tmp_path: Path, capsys):
    _run_to_plan_approval("Old Co")
    v2 = tmp_path / "v2.toml"
    v2.write_text(version_2_text(), encoding="utf-8")
    broken = tmp_path / "broken.toml"
    broken.write_text(version_2_text().replace('kind = "task"', 'kind = "chore"', 2), encoding="utf-8")
    database = ["--db", str(db_path)]

    assert main(["template", "check", str(v2)]) == 0
    assert "21 steps, 4 approvals" in capsys.readouterr().out
    assert main(["template", "check", str(broken)]) == 2
    line = broken.read_text(encoding="utf-8").splitlines().index('kind = "chore"') + 1
    assert capsys.readouterr().err == f"{broken}:{line}: step 1.kind: 'chore' is not one of task, approval\n"

    assert main([*database, "template", "diff", str(v2)]) == 0
    assert "Step added: step 7 “Check the customer's credit” (check-credit), a task" in capsys.readouterr().out
    assert main([*database, "template", "install", str(v2)]) == 0
    assert "Installed version 2" in capsys.readouterr().out
    assert main([*database, "template", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("account-management  version 2")
    assert main([*database, "template", "diff", "1", "2"]) == 0
    assert "option renamed: “Phone” → “Telephone”" in capsys.readouterr().out

    assert main([*database, "template", "upgrade", "--all", "--to", "2"]) == 0
    out = capsys.readouterr().out
    assert "Old Co" in out and "gains: step 7" in out and "Nothing was changed" in out
    assert main([*database, "template", "upgrade", "old co", "--to", "2", "--yes"]) == 0
    assert "1 run now follow version 2" in capsys.readouterr().out
    assert main([*database, "template", "upgrade", "--to", "2"]) == 2
    assert "Name one account" in capsys.readouterr().err


def test_a_template_file_parses_like_the_installed_version():
    parsed = parse_template(version_2_text(), "v2.toml")
    assert [step.number for step in parsed.steps] == list(range(1, 22))


async def test_the_checklist_offers_the_upgrade_with_its_preview(two_versions, db_path):
    from acct_tui.app import AcctApp
    from tests.ui_support import screen_text, settle

    old_account, *_ = two_versions
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_account(old_account)
        await settle(pilot)
        text = screen_text(app)
        assert "follows version 1 of the template; version 2 is available: press U to" in text
        await pilot.press("U")
        await settle(pilot)
        text = screen_text(app)
        assert "Move “Old Co” to version 2 of the template?" in text
        assert "gains: step 7 “Check the customer's credit” (to do)" in text
        assert queries.run_view(old_account).template.version == 1  # the preview changed nothing
        await pilot.press("y")
        await settle(pilot)
        assert "This run now follows version 2 of the template." in screen_text(app)
        assert "press U" not in screen_text(app)
    view = queries.run_view(old_account)
    assert view.template.version == 2 and view.step(8).field("notes").value == "Plan agreed with the CFO"


def test_db_check_reports_runs_whose_template_version_is_missing(two_versions, db_path):
    import sqlite3

    from acct_tui.store.db import close_database
    from acct_tui.store.maintenance import check_database

    close_database()
    assert check_database(db_path).problems == ()
    with sqlite3.connect(db_path) as connection:
        connection.execute("DELETE FROM template_version WHERE version = 2")
    assert check_database(db_path).problems == (
        "1 run follows a template version this database does not hold. Restore a backup made with "
        "`acct-tui db backup`.",)
