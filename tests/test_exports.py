"""Exports: every format from the renderers and from the CLI, checked against what was entered; user text
escaped in HTML and Markdown; files written privately, atomically and never over a file unasked."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from acct_tui.cli import main
from acct_tui.errors import DomainError
from acct_tui.reports import (
    FORMATS,
    PORTFOLIO,
    ExportExists,
    default_export_path,
    export_portfolio,
    render_account,
    render_portfolio,
    slug,
    write_export,
)
from acct_tui.reports.document import Document, Facts, Paragraph, Table
from acct_tui.reports.to_csv import _moment, _number, _numbers, _numbers_of_cents, cell
from acct_tui.reports.to_html import render_html
from acct_tui.reports.to_json import FORMAT_VERSION
from acct_tui.reports.to_markdown import escape as markdown_escape
from acct_tui.reports.to_markdown import render_markdown
from acct_tui.store import reports, services
from acct_tui.store.reports import NO_VALUES, account_report, metric_value, portfolio_report
from acct_tui.workflow.kpi import METRICS
from tests.portfolio_builder import HOSTILE_COMMENT, TODAY, build_small_portfolio

README = Path(__file__).resolve().parent.parent / "README.md"
HOSTILE_NAME = "Evil | *Corp* _x_ `y` [a](http://evil.example) <script>alert(1)</script> # $x$ ~~z~~ &amp;"


@pytest.fixture
def portfolio(db, monkeypatch):
    built = build_small_portfolio(monkeypatch)
    services.create_account(HOSTILE_NAME, owner="=cmd|' /C calc'!A0", stage="Closure")
    return built


def csv_rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")  # so spreadsheets read the UTF-8 correctly
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


# Numbers --------------------------------------------------------------------------------------------------

def test_csv_has_one_row_per_active_account_with_the_entered_numbers(portfolio):
    rows = {row["name"]: row for row in csv_rows(render_portfolio(portfolio_report(TODAY), "csv"))}
    assert set(rows) == {"Acme", "Beta", "Gamma", HOSTILE_NAME}  # Delta is archived
    acme, beta = rows["Acme"], rows["Beta"]
    assert (acme["csat"], acme["revenue"], acme["nps"]) == ("4.80", "1000.00", "")
    assert (acme["steps_done"], acme["steps_total"], acme["progress_percent"]) == ("5", "20", "25.0")
    assert (acme["overdue_tasks"], acme["satisfaction"], acme["objectives"], acme["objectives_achieved"]) == (
        "1", "Satisfied", "2", "0")
    assert (beta["current_step"], beta["next_approval"], beta["pending_since"]) == ("5", "5", "2026-06-02T09:00:00Z")
    assert beta["overdue_tasks"] == "2" and beta["csat"] == "3.00"
    assert rows[HOSTILE_NAME]["owner"] == "'=cmd|' /C calc'!A0"  # a formula would run in a spreadsheet


@given(st.lists(st.text(alphabet=st.characters(), max_size=12), min_size=2, max_size=4))
def test_csv_cells_are_quoted_exactly_as_the_csv_module_quotes_them(texts):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(texts)
    assert ",".join(cell(text) for text in texts) + "\r\n" == buffer.getvalue()


@given(st.decimals(allow_nan=False, allow_infinity=False), st.datetimes())
def test_csv_numbers_are_written_out_in_full_and_times_to_the_second(number, moment):
    assert _number(number) == format(number, "f")  # never 1E+16
    assert _moment(moment) == moment.isoformat(timespec="seconds") + "Z"


@given(st.datetimes(), st.integers())
def test_csv_times_and_amounts_as_the_driver_returns_them_are_written_as_their_values(moment, amount):
    """The CSV export writes the text SQLite keeps a timestamp as, and an amount it hands back as an int,
    without making a datetime or a Decimal of them: as the report's datetimes and Decimals are written."""
    assert _moment(str(moment)) == _moment(moment)
    assert _number(amount) == _number(Decimal(amount))


@given(st.lists(st.none() | st.integers(-10**15, 10**15), min_size=len(METRICS), max_size=len(METRICS)))
def test_csv_kpi_cells_from_cents_are_the_cells_of_their_values(cents):
    values = tuple(None if value is None else metric_value(metric, value) for metric, value in zip(METRICS, cents))
    numbers = _numbers_of_cents()
    assert numbers(tuple(cents)) == numbers(tuple(cents)) == _numbers(values)  # again: from its cache
    assert numbers(NO_VALUES) == _numbers(NO_VALUES)


@pytest.mark.both_backends
def test_the_csv_export_writes_the_lines_as_the_report_has_them(portfolio):
    """The CSV export reads the line per account alone, its values as the database driver hands them back
    (amounts, times, KPI cents: `portfolio_lines`), and writes the bytes the report's lines are written as."""
    from acct_tui.store import kpis
    quoted = services.create_account('Quote "and", comma', owner='o,"wner"', industry='"', annual_revenue="2.5")
    formula = services.create_account("=SUM(A1)", owner="+x", industry="-y", annual_revenue="9999999999999.99")
    services.create_account("@home, inc", owner="Évian & Söhne", industry="Tech, AI", segment="Key")
    kpis.add_kpi(quoted, "nps", "-12.5", "2026-06-01", today=TODAY)
    kpis.add_kpi(quoted, "market_share", "0.05", "2026-06-01", today=TODAY)
    kpis.add_kpi(formula, "pipeline", "12345678.9", "2026-06-01", today=TODAY)
    kpis.add_kpi(formula, "revenue", "100", "2026-06-01", today=TODAY)
    exported = export_portfolio("csv", TODAY)
    assert exported == render_portfolio(portfolio_report(TODAY), "csv")
    rows = {row["name"]: row for row in csv_rows(exported)}
    assert (rows['Quote "and", comma']["nps"], rows['Quote "and", comma']["market_share"]) == ("-12.5", "0.05")
    assert (rows["'=SUM(A1)"]["annual_revenue"], rows["'=SUM(A1)"]["pipeline"]) == ("9999999999999.99",
                                                                                     "12345678.90")
    assert rows["'@home, inc"]["owner"] == "Évian & Söhne" and rows["'@home, inc"]["revenue"] == ""


@pytest.mark.both_backends
def test_csv_text_with_commas_and_quotes_reads_back_as_typed(portfolio):
    account = services.create_account('Quote "and", comma', owner='o,"wner"', industry='"', stage="Retention",
                                      annual_revenue="1250000.50")
    [row] = [row for row in csv_rows(render_portfolio(portfolio_report(TODAY), "csv")) if row["stage"] == "Retention"]
    assert (row["name"], row["owner"], row["industry"]) == ('Quote "and", comma', 'o,"wner"', '"')
    assert (row["account_id"], row["annual_revenue"]) == (str(account), "1250000.5")


@pytest.mark.both_backends
def test_each_format_exports_the_report_it_renders(portfolio, monkeypatch):
    """What the CLI and the Reports screen write is the rendered report, byte for byte, although the CSV (one
    row per account) is read as its lines alone (`portfolio_lines`)."""
    monkeypatch.setattr(reports, "utcnow", lambda: datetime(2026, 6, 30, 12, 0))
    assert portfolio_report(TODAY, pending_limit=0).pending == ()
    for fmt in FORMATS[PORTFOLIO]:
        assert export_portfolio(fmt, TODAY) == render_portfolio(portfolio_report(TODAY), fmt)


def test_json_numbers_match_what_was_entered(portfolio):
    data = json.loads(render_portfolio(portfolio_report(TODAY), "json"))
    assert (data["report"], data["format_version"], data["as_of"]) == ("portfolio", FORMAT_VERSION, "2026-06-30")
    assert data["account_counts"] == {"active": 4, "archived": 1}
    assert data["by_stage"]["Onboarding"] == 2 and data["by_stage"]["Closure"] == 1
    assert data["by_segment"] == {"Transactional": 2, "Relationship": 0, "Strategic": 1, "Key": 1}
    [pending] = data["pending_approvals"]
    assert (pending["account"], pending["step"], pending["age_days"], pending["submitted_at"]) == (
        "Beta", 5, 28, "2026-06-02T09:00:00Z")
    gate = data["approval_gates"][0]
    assert (gate["step"], gate["decisions"], gate["approved"], gate["rejected"], gate["rejection_rate"]) == (
        5, 2, 1, 1, 0.5)
    assert gate["turnaround_hours"] == {"decisions_timed": 2, "average": 8.0, "shortest": 6.0, "longest": 10.0}
    assert data["overdue_tasks"] == {"total": 4, "by_owner": [
        {"owner": "carol", "tasks": 2, "accounts": 1}, {"owner": "(no owner)", "tasks": 1, "accounts": 1},
        {"owner": "alice", "tasks": 1, "accounts": 1}]}
    assert data["kpis"]["csat"] == {"accounts": 2, "average": 3.9, "lowest": 3, "highest": 4.8}
    assert data["kpis"]["nps"] == {"accounts": 0, "average": None, "lowest": None, "highest": None}
    assert data["objectives"] == {"total": 2, "achieved": 0, "missed": 1, "not_judged": 1, "overdue": 1}
    assert data["history_issues"]["Late payments"] == 2
    assert data["satisfaction"]["Not assessed"] == 2
    acme = next(line for line in data["accounts"] if line["name"] == "Acme")
    assert acme["kpis"] == {"revenue": 1000, "csat": 4.8, "nps": None, "retention": None, "pipeline": None,
                            "market_share": None}


def test_account_json_has_answers_decisions_trends_and_objectives(portfolio):
    data = json.loads(render_account(account_report(portfolio.acme, TODAY), "json"))
    assert data["account"]["name"] == "Acme"
    assert data["status"]["steps_done"] == 5
    assert data["steps"][3]["answers"]["satisfaction"] == "Satisfied"
    assert data["steps"][2]["answers"]["history_issues"] == ["Late payments", "Billing errors"]
    assert data["steps"][5]["answers"]["due"] == "2026-06-20"
    assert [(d["decision"], d["turnaround_hours"], d["comment"]) for d in data["decisions"]] == [
        ("rejected", 6.0, HOSTILE_COMMENT), ("approved", 10.0, "Fine now.")]
    assert data["kpis"]["csat"] == [{"date": "2026-03-01", "value": 4}, {"date": "2026-05-01", "value": 4.5},
                                    {"date": "2026-06-20", "value": 4.8}]
    assert data["kpis"]["nps"] == []
    raise_csat, renew = data["objectives"]
    assert (raise_csat["target_value"], raise_csat["measured"], raise_csat["measured_on"],
            raise_csat["meets_target"], raise_csat["overdue"]) == (4.4, 4.5, "2026-05-01", True, True)
    assert (renew["achieved"], renew["result"]) == (False, "They chose a competitor.")


def test_markdown_and_html_show_the_same_numbers(portfolio):
    report = portfolio_report(TODAY)
    markdown = render_portfolio(report, "md")
    assert "| Onboarding | 2 | " in markdown
    assert "| 5\\. Account Status | 1 | 2 | 1 | 50 % | 8.0 h | 6.0 h | 10.0 h |" in markdown.replace("5. ", "5\\. ")
    assert "| carol | 2 in 1 acc. |" in markdown
    html = render_portfolio(report, "html")
    assert '<td class="num">8.0 h</td>' in html
    assert "<th scope=\"row\">carol</th>" in html
    account = render_account(account_report(portfolio.acme, TODAY), "md")
    assert "| Raise CSAT | 4.4/5 | 2026-06-15 | 4.5/5 on 2026-05-01 (meets target) | overdue | — |" in account
    assert "| CSAT | ▁▅█ | latest 4.8/5 on 2026-06-20, +0.8 since 2026-03-01 |" in account


def test_every_documented_json_key_is_in_the_readme():
    section = README.read_text(encoding="utf-8").split("## Reports and exports", 1)[1]
    for key in ("report", "format_version", "generated_at", "as_of", "account_counts", "by_stage", "by_segment",
                "progress", "pending_approvals", "approval_gates", "turnaround_hours", "overdue_tasks",
                "satisfaction", "kpis", "objectives", "history_issues", "issue_categories", "accounts", "status",
                "steps", "answers", "decisions", "meets_target"):
        assert f'"{key}"' in section, key


def test_json_keys_are_stable(portfolio):
    data = json.loads(render_portfolio(portfolio_report(TODAY), "json"))
    assert list(data) == ["report", "format_version", "generated_at", "as_of", "account_counts", "by_stage",
                          "by_segment", "progress", "pending_approvals", "approval_gates", "overdue_tasks",
                          "satisfaction", "kpis", "objectives", "history_issues", "issue_categories", "accounts",
                          "templates"]
    assert list(data["accounts"][0]) == [
        "id", "name", "owner", "segment", "stage", "industry", "annual_revenue", "steps_done", "steps_total",
        "current_step", "current_step_title", "next_approval", "pending_since", "overdue_tasks", "satisfaction",
        "kpis", "objectives", "objectives_achieved", "last_activity", "template_version"]
    account = json.loads(render_account(account_report(portfolio.acme, TODAY), "json"))
    assert list(account) == ["report", "format_version", "generated_at", "as_of", "account", "status", "steps",
                             "decisions", "kpis", "objectives", "template"]


# User text stays text -------------------------------------------------------------------------------------

def test_user_text_is_escaped_in_markdown(portfolio):
    markdown = render_portfolio(portfolio_report(TODAY), "md")
    row = next(line for line in markdown.splitlines() if line.startswith("| Evil"))
    assert row.count(" | ") == 7  # eight cells: the name's own `|` did not split the row
    for raw in ("<script>", "*Corp*", "_x_", "`y`", "[a](", "# $x$", "~~z~~", " &amp;"):
        assert raw not in markdown
    assert "\\&amp;" in row  # would otherwise show as a bare &
    assert "\\<script\\>" in row and "\\*Corp\\*" in row and "\\[a\\](http\\://evil.example)" in row
    account = render_account(account_report(portfolio.acme, TODAY), "md")
    assert "Need \\*all\\* invoices \\| see \\<b\\>ledger\\</b\\>" in account
    assert markdown_escape("a\x1b[2Jb\nc|d") == "a␛\\[2Jb<br>c\\|d"


LINKING_NAMES = ("Call http://phish.example.com/reset now", "Visit www.phish.example.com today",
                 "HTTPS://PHISH.EXAMPLE.COM/x", "Mail ceo@phish.example.com", "(www.phish.example.com)",
                 "mailto:a.b@phish.example.com")


def test_markdown_exports_contain_no_links_even_for_renderers_that_link_bare_addresses(portfolio):
    """GitHub and CommonMark with the autolink extension make links of bare URLs, www. and e-mail addresses;
    markdown-it's GFM-like preset with linkify does the same, and stands in for them here."""
    for name in LINKING_NAMES:
        services.create_account(name, owner="write to bob@phish.example.com", stage="Closure")
    markdown = render_portfolio(portfolio_report(TODAY), "md")
    rendered = MarkdownIt("gfm-like").render(markdown)
    linked = MarkdownIt("gfm-like").render("x http://a.example.com www.b.example.com c@d.example.com")
    assert linked.count("<a ") == 3  # the renderer does link bare addresses
    assert "<a " not in rendered and "href" not in rendered
    for shown in ("http://phish.example.com/reset", "www.phish.example.com", "HTTPS://PHISH.EXAMPLE.COM/x",
                  "<code>ceo@phish.example.com</code>", "<code>bob@phish.example.com</code>"):
        assert shown in rendered
    assert markdown_escape("Call http://phish.example.com/reset now") == "Call http\\://phish.example.com/reset now"
    assert markdown_escape("go www.phish.example.com") == "go www\\.phish.example.com"
    assert markdown_escape("to bob@phish.example.com.") == "to `bob@phish.example.com`."


def test_user_text_is_escaped_in_html_and_nothing_external_is_loaded(portfolio):
    html = render_portfolio(portfolio_report(TODAY), "html")
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&amp;amp;" in html
    account = render_account(account_report(portfolio.acme, TODAY), "html")
    assert "<b>ledger" not in account and "&lt;b&gt;ledger&lt;/b&gt;" in account
    for text in (html, account):
        assert not re.search(r"""(src|href)\s*=|url\(|@import|<link|<script|<iframe""", text, re.IGNORECASE)
        assert "Content-Security-Policy" in text and "default-src 'none'" in text
        assert "@media print" in text and "<style>" in text
    document = Document("T\x1b]0;pwned\x07", "", (Facts((("Notes", "line 1\nline <2>"),)),))
    rendered = render_html(document)
    assert "\x1b" not in rendered and "T␛]0;pwned␇" in rendered
    assert "line 1<br>line &lt;2&gt;" in rendered


def test_empty_tables_and_charts_render_as_sentences():
    document = Document("Empty", "nothing", (Table(("A",), (), empty="No rows."), Paragraph("p")))
    assert "No rows." in render_markdown(document)
    assert "<p>No rows.</p>" in render_html(document)


def test_long_exports_report_progress_up_to_the_end(portfolio):
    report = portfolio_report(TODAY)
    for fmt in ("md", "csv", "json", "html"):
        seen: list[float] = []
        render_portfolio(report, fmt, seen.append)
        assert seen and seen == sorted(seen) and seen[-1] == 1.0, fmt
    seen = []
    export_portfolio("csv", TODAY, seen.append)  # its lines counted before they are read, one at a time
    assert seen and seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 2


def test_a_format_the_report_does_not_have_is_refused(portfolio):
    with pytest.raises(DomainError, match="comes as md, json, html, not 'csv'"):
        render_account(account_report(portfolio.acme, TODAY), "csv")


# Files ----------------------------------------------------------------------------------------------------

def test_write_export_is_private_atomic_and_never_replaces_unasked(tmp_path):
    path = tmp_path / "report.md"
    assert write_export("first", path) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ExportExists) as exists:
        write_export("second", path)
    assert exists.value.path == path and "already exists" in str(exists.value)
    assert path.read_text() == "first"
    write_export("second ✓", path, force=True)
    assert path.read_text(encoding="utf-8") == "second ✓"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(item.name for item in tmp_path.iterdir()) == ["report.md"]  # no temporary file left


def test_write_export_explains_what_it_cannot_do(tmp_path):
    with pytest.raises(DomainError, match="does not exist"):
        write_export("x", tmp_path / "missing" / "r.md")
    with pytest.raises(DomainError, match="is a folder"):
        write_export("x", tmp_path)
    (tmp_path / "a-file").write_text("")
    with pytest.raises(DomainError, match="is not a folder"):
        write_export("x", tmp_path / "a-file" / "r.md")
    if os.geteuid() != 0:  # root may write anywhere
        (tmp_path / "locked").mkdir(mode=0o500)
        with pytest.raises(DomainError, match="Cannot write"):
            write_export("x", tmp_path / "locked" / "r.md")
    made = write_export("x", tmp_path / "new" / "folder" / "r.md", create_folder=True)
    assert made.read_text() == "x"


def test_default_export_path_is_in_the_documents_folder_named_by_account_and_date(tmp_path):
    path = default_export_path("Müller Maschinenbau GmbH / Köln", date(2026, 6, 30), "html")
    assert path == tmp_path / "documents" / "acct-müller-maschinenbau-gmbh-köln-2026-06-30.html"
    assert slug("../../etc/passwd") == "etc-passwd"
    assert slug("***") == "account"


# The command line -----------------------------------------------------------------------------------------

def test_cli_exports_every_format_and_refuses_to_overwrite_without_force(portfolio, db_path, tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.setenv("ACCT_TUI_DB", str(db_path))
    for fmt in ("md", "csv", "json", "html"):
        target = tmp_path / f"portfolio.{fmt}"
        assert main(["report", "portfolio", "--format", fmt, "-o", str(target)]) == 0
        assert target.stat().st_size > 0 and stat.S_IMODE(target.stat().st_mode) == 0o600
        assert f"Wrote {target}" in capsys.readouterr().out
    for fmt in ("md", "json", "html"):
        assert main(["report", "account", "acme", "--format", fmt, "-o", str(tmp_path / f"acme.{fmt}")]) == 0
    assert json.loads((tmp_path / "acme.json").read_text())["account"]["name"] == "Acme"
    assert len(csv_rows((tmp_path / "portfolio.csv").read_text(encoding="utf-8"))) == 4

    before = (tmp_path / "portfolio.md").read_text()
    assert main(["report", "portfolio", "-o", str(tmp_path / "portfolio.md")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "already exists. Use --force to replace it" in error
    assert (tmp_path / "portfolio.md").read_text() == before
    assert main(["report", "portfolio", "-o", str(tmp_path / "portfolio.md"), "--force"]) == 0


def test_cli_default_location_stdout_and_errors(portfolio, db_path, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ACCT_TUI_DB", str(db_path))
    assert main(["report", "account", "Acme"]) == 0
    written = tmp_path / "documents" / f"acct-acme-{date.today().isoformat()}.md"
    assert written.read_text(encoding="utf-8").startswith("# Acme\n")
    capsys.readouterr()
    assert main(["report", "account", "Beta", "--format", "json", "-o", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["account"]["name"] == "Beta"
    assert main(["report", "account", "Nobody"]) == 2
    assert capsys.readouterr().err == "acct-tui: No account is named “Nobody”.\n"
    with pytest.raises(SystemExit) as usage:
        main(["report", "account", "Acme", "--format", "csv"])
    assert usage.value.code == 2
    assert "invalid choice: 'csv'" in capsys.readouterr().err
    assert main(["report", "portfolio", "-o", str(tmp_path / "no" / "such" / "dir.md")]) == 2
    assert "does not exist" in capsys.readouterr().err
