"""Every screen and dialog reads whole at 80x24 and at 200x50: no input hides part of its value, no text is
cut off or runs past the edge of its pane, no option wraps in a list. One app per size walks them all."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import NamedTuple

import pytest
from textual.geometry import Size

from acct_tui.app import AcctApp
from acct_tui.store import kpis, services
from acct_tui.store.db import close_database, open_database
from acct_tui.widgets.step_list import StepList
from tests.portfolio_builder import finish_steps, run_of
from tests.ui_support import clipped_widgets, screen_text, settle


SMALL, LARGE = Size(80, 24), Size(200, 50)


class Portfolio(NamedTuple):
    northwind: uuid.UUID  # approval 15 waits, with objectives and KPI values; approval 5 was rejected once
    contoso: uuid.UUID  # approval 5 rejected: steps 1-4 to redo


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Portfolio]:
    path = tmp_path_factory.mktemp("read-whole") / "acct.db"
    open_database(path)
    northwind = services.create_account("Northwind Traders", owner="ana", actor="ana")
    run = run_of(northwind)
    services.set_field(run, 1, "notes", "Met the CFO and the head of purchasing.\nBudget review in Q3.", actor="ana")
    services.set_field(run, 1, "assignee", "ana", actor="ana")
    services.set_field(run, 1, "due", "2026-10-01", actor="ana")
    finish_steps(run, 4)
    services.reject(run, 5, "Add last year's complaints to step 3.", actor="carol")
    finish_steps(run, 5)
    kpis.add_objective(run, "Raise customer satisfaction", "4.5", "2026-12-31", metric="csat", actor="ana")
    kpis.add_objective(run, "Grow market share", "12.50", "2027-06-30", metric="market_share", actor="ana")
    finish_steps(run, 9)
    kpis.add_kpi(northwind, "revenue", "1000000.00", "2026-07-01", step=10, actor="ana")
    kpis.add_kpi(northwind, "revenue", "1300000.00", "2026-10-01", step=13, actor="ana")
    kpis.add_kpi(northwind, "market_share", "11.25", "2026-10-01", step=13, actor="ana")
    finish_steps(run, 14)
    contoso = services.create_account("Contoso", owner="bob", actor="bob")
    finish_steps(run_of(contoso), 4)
    services.reject(run_of(contoso), 5, "The history misses the 2025 outage.", actor="carol")
    close_database()
    return path, Portfolio(northwind, contoso)


@pytest.fixture
def portfolio(built, db_path: Path):
    source, accounts = built
    db_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, db_path)
    open_database(db_path)
    yield accounts
    close_database()


async def show_step(pilot, step: int) -> None:
    pilot.app.screen.query_one(StepList).focus()
    await pilot.press("home", *["down"] * (step - 1))
    await settle(pilot)


async def check(pilot, where: str, problems: dict[str, list[str]]) -> None:
    """Look at the screen as it is at 80x24, then at 200x50 (and back): one walk serves both sizes."""
    for size in (SMALL, LARGE):
        if pilot.app.size != size:
            await pilot.resize_terminal(*size)
        await settle(pilot)
        found = clipped_widgets(pilot.app.screen)
        if found:
            problems[f"{where} at {size.width}x{size.height}"] = found
    await pilot.resize_terminal(*SMALL)
    await settle(pilot)


async def walk_the_account_list(pilot, portfolio: Portfolio, problems: dict[str, list[str]]) -> None:
    await check(pilot, "accounts", problems)
    await pilot.press("slash")
    await check(pilot, "accounts, filtering", problems)
    await pilot.press("escape", "a")
    await check(pilot, "add account", problems)
    await pilot.press("escape", "x")
    await check(pilot, "archive dialog", problems)
    await pilot.press("escape", "question_mark")
    await check(pilot, "keys of the account list", problems)
    await pilot.press("escape")


async def walk_the_first_steps(pilot, portfolio: Portfolio, problems: dict[str, list[str]]) -> None:
    pilot.app.open_account(portfolio.northwind)
    await settle(pilot)
    for step in (1, 4, 5, 6):
        await show_step(pilot, step)
        await check(pilot, f"checklist step {step}", problems)


async def walk_the_last_steps_and_the_kpis(pilot, portfolio: Portfolio, problems: dict[str, list[str]]) -> None:
    app = pilot.app
    app.open_account(portfolio.northwind)
    await settle(pilot)
    for step in (13, 15, 20):
        await show_step(pilot, step)
        await check(pilot, f"checklist step {step}", problems)
    await show_step(pilot, 13)
    app.screen.query_one("#kpi-metric").focus()
    await check(pilot, "KPI metric", problems)
    footer = screen_text(app).splitlines()[-1]
    assert all(key in footer for key in ("esc Back", "f1 Keys", "d Done", "^q Quit")), footer
    await pilot.press("enter")
    await check(pilot, "KPI metric dropdown", problems)
    await pilot.press("escape")
    app.screen.query_one("#kpi-entries").focus()
    await pilot.press("home", "down", "enter")  # correct 1,300,000: its number and date fill the inputs
    await check(pilot, "KPI values, correcting", problems)
    await pilot.press("f1")
    await check(pilot, "keys of the checklist", problems)
    await pilot.press("escape")


async def walk_a_rejection_the_approvals_and_the_reports(pilot, portfolio: Portfolio,
                                                         problems: dict[str, list[str]]) -> None:
    app = pilot.app
    app.open_account(portfolio.contoso)
    await settle(pilot)
    await check(pilot, "checklist after a rejection", problems)
    await show_step(pilot, 6)
    app.screen.query_one("#objective-metric").focus()
    await pilot.press("enter")
    await check(pilot, "objective metric dropdown", problems)
    await pilot.press("escape")

    await pilot.press("3")
    await check(pilot, "approvals", problems)
    await pilot.press("down")
    await check(pilot, "approvals, second", problems)
    await pilot.press("y")
    await check(pilot, "approvals, after a decision", problems)
    await pilot.press("n")
    await check(pilot, "rejection comment", problems)
    await pilot.press("escape", "question_mark")
    await check(pilot, "keys of the approvals", problems)
    await pilot.press("escape")

    await pilot.press("4")
    await check(pilot, "reports", problems)
    await pilot.press("e")
    await check(pilot, "export dialog", problems)
    await pilot.press("escape")


# One walk in parts, each from a fresh start on the same portfolio: the parts run side by side on separate
# workers instead of one of them walking everything.
@pytest.mark.parametrize("walk", [walk_the_account_list, walk_the_first_steps, walk_the_last_steps_and_the_kpis,
                                  walk_a_rejection_the_approvals_and_the_reports],
                         ids=["accounts", "first-steps", "last-steps-kpis", "approvals-reports"])
async def test_every_screen_and_dialog_reads_whole(portfolio, db_path, monkeypatch, walk):
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", "/tmp/docs")  # a file name of a usual length in the export dialog
    app = AcctApp(db_path)
    problems: dict[str, list[str]] = {}
    async with app.run_test(size=SMALL) as pilot:
        await walk(pilot, portfolio, problems)
    assert problems == {}, "\n".join(f"{where}: {found}" for where, found in problems.items())
