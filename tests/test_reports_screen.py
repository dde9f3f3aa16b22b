"""The Reports screen at 80x24: the portfolio and one account, charts and their numbers, and exports with
the overwrite question, checked on the screen and in the files written."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from acct_tui.app import AcctApp
from acct_tui.messages import DataChanged
from acct_tui.screens.export_dialog import ExportDialog, ReplaceDialog
from acct_tui.screens.reports import ReportsScreen
from acct_tui.store import services
from acct_tui.widgets.charts import ReportView
from tests.portfolio_builder import HOSTILE_COMMENT, build_small_portfolio
from tests.ui_support import screen_text, settle

SIZE = (80, 24)
MARKUP_NAME = "[bold]Markup[/bold] [@click=app.quit]x"


@pytest.fixture
def app(db, db_path, monkeypatch) -> AcctApp:
    monkeypatch.setenv("NO_COLOR", "1")
    app = AcctApp(db_path)
    app.portfolio = build_small_portfolio(monkeypatch)
    return app


def report_view(app: AcctApp) -> ReportView:
    return app.screen.query_one("#report", ReportView)


def report_lines(app: AcctApp) -> list[str]:
    return report_view(app).text.plain.splitlines()


def line_starting(app: AcctApp, start: str) -> str:
    return next(line for line in report_lines(app) if line.startswith(start))


async def open_reports(pilot) -> None:
    await settle(pilot)
    await pilot.press("4")
    await settle(pilot)


async def test_the_portfolio_shows_charts_and_their_numbers_at_80_columns(app):
    async with app.run_test(size=SIZE) as pilot:
        await open_reports(pilot)
        assert isinstance(app.screen, ReportsScreen)
        text = screen_text(app)
        assert "Portfolio · charts (n: numbers) · e: export" in text
        assert "── Accounts by lifecycle stage ──" in text
        assert "n Numbers" in text and "v Account" in text and "e Export" in text
        onboarding = line_starting(app, "Onboarding ")
        assert "█" in onboarding and onboarding.endswith(" 2")
        width = report_view(app).content_size.width
        assert width <= 80 and all(len(line) <= width for line in report_lines(app))

        await pilot.press("n")
        await settle(pilot)
        assert "Portfolio · numbers (n: charts)" in screen_text(app)
        assert "n Charts" in screen_text(app)
        assert not any("█" in line for line in report_lines(app))
        assert line_starting(app, "Onboarding ").split() == ["Onboarding", "2"]
        gate = line_starting(app, "5. Account Stat")  # the gate table: waiting, decided, rejected, rate, times
        assert gate.split()[-11:] == ["1", "2", "1", "50", "%", "8.0", "h", "6.0", "h", "10.0", "h"]
        csat = line_starting(app, "Customer satisfaction (CSAT")
        assert csat.split()[-4:] == ["2", "3.9/5", "3/5", "4.8/5"]
        assert line_starting(app, "carol ").split() == ["carol", "2", "in", "1", "acc."]

        await pilot.press("pagedown", "pagedown")
        await settle(pilot)
        assert "── Accounts by lifecycle stage ──" not in screen_text(app)  # the body scrolls


async def test_the_account_report_shows_trends_objectives_and_decisions_literally(app):
    app.current_account_id = app.portfolio.acme
    async with app.run_test(size=SIZE) as pilot:
        await open_reports(pilot)
        await pilot.press("v")
        await settle(pilot)
        text = screen_text(app)
        assert "Account: Acme · charts (n: numbers)" in text
        assert "v Portfolio" in text
        lines = report_lines(app)
        assert lines[0] == "Acme"
        assert any(line.startswith("CSAT    ▁▅█ ") and "latest 4.8/5 on 2026-06-20, +0.8 since 2026-03-01" in line
                   for line in lines)
        assert line_starting(app, "Progress:").endswith("5 of 20 steps finished (25 %)")
        assert "• Raise CSAT" in lines
        assert line_starting(app, "  Measured:").split(maxsplit=1)[1] == "4.5/5 on 2026-05-01 (meets target)"
        plain = report_view(app).text.plain
        assert HOSTILE_COMMENT.split(" |")[0] in plain and "[here](http://evil.example)" in plain
        assert all(len(line) <= report_view(app).content_size.width for line in lines)

        await pilot.press("n")
        await settle(pilot)
        assert any(line.split() == ["CSAT", "2026-05-01", "4.5/5"] for line in report_lines(app))

        await pilot.press("v")
        await settle(pilot)
        assert "Portfolio · numbers" in screen_text(app)


async def test_without_a_chosen_account_the_account_view_says_how_to_choose_one(app):
    async with app.run_test(size=SIZE) as pilot:
        await open_reports(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert "No account is chosen. Open one from the account list (1, then enter)" in screen_text(app)
        assert app.screen.check_action("export", ()) is None  # nothing to export


async def test_user_text_with_markup_shows_as_typed(app):
    account = services.create_account(MARKUP_NAME)
    app.current_account_id = account
    async with app.run_test(size=SIZE) as pilot:
        await open_reports(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert app.is_running
        assert f"Account: {MARKUP_NAME}" in screen_text(app)
        assert report_lines(app)[0] == MARKUP_NAME


async def test_the_report_follows_changes_made_elsewhere(app):
    async with app.run_test(size=SIZE) as pilot:
        await open_reports(pilot)
        assert line_starting(app, "Closure ").endswith(" 0")
        services.create_account("Zeta", stage="Closure")
        app.screen.post_message(DataChanged())
        await settle(pilot)
        assert line_starting(app, "Closure ").endswith(" 1")


async def test_export_writes_the_file_and_asks_before_replacing_it(app, tmp_path):
    target = tmp_path / "documents" / f"acct-portfolio-{date.today().isoformat()}.csv"
    async with app.run_test(size=SIZE) as pilot:
        await open_reports(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ExportDialog)
        assert "▶ md" in screen_text(app)
        await pilot.press("down")  # csv: the suggested file name follows the format
        await settle(pilot)
        assert app.screen.query_one("#export-path").value == str(target)
        await pilot.press("enter", "enter")  # choose the format, then accept the file name
        await settle(pilot)
        assert isinstance(app.screen, ReportsScreen)
        assert app.screen.notice == f"Saved {target}"
        assert f"Saved {str(target)[:60]}" in screen_text(app)
        rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
        assert [row["name"] for row in rows] == ["Acme", "Beta", "Gamma"]
        assert rows[0]["csat"] == "4.80"
        assert (target.stat().st_mode & 0o777) == 0o600
        assert app.screen.query_one("#reports-progress").percentage == 1.0

        target.write_text("my own edits")
        await pilot.press("e", "down", "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ReplaceDialog)
        question = app.screen.query_one("#replace-question").content.plain
        assert question == f"{target} already exists. Replace it with this report?"
        await pilot.press("n")  # back to the file name, to type another or be asked again
        await settle(pilot)
        assert target.read_text() == "my own edits"
        assert isinstance(app.screen, ExportDialog)
        assert app.screen.focused is app.screen.query_one("#export-path")
        assert str(app.screen.query_one("#export-problem").render()).startswith(f"Kept {target} as it was")

        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert target.read_text(encoding="utf-8-sig").startswith("account_id,name,")


async def test_export_can_be_cancelled_and_takes_a_file_name_of_your_own(app, tmp_path):
    app.current_account_id = app.portfolio.acme
    own = tmp_path / "acme-report.html"
    async with app.run_test(size=SIZE) as pilot:
        await open_reports(pilot)
        await pilot.press("e", "escape")
        await settle(pilot)
        assert isinstance(app.screen, ReportsScreen)
        assert not (tmp_path / "documents").exists()

        await pilot.press("v")
        await settle(pilot)
        await pilot.press("e", "down", "down", "enter")  # html
        await settle(pilot)
        path_input = app.screen.query_one("#export-path")
        path_input.value = str(own)
        await pilot.press("enter")
        await settle(pilot)
        html = own.read_text(encoding="utf-8")
        assert html.startswith("<!DOCTYPE html>") and "<h1>Acme</h1>" in html
