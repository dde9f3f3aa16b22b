"""Reports and exports: documents built from the report data (`build`), rendered as Markdown, HTML, CSV or
JSON, and written safely to a file (`files`). Pure: no Textual, and no database access here (the report
data comes from `acct_tui.store.reports`; `export_portfolio` asks it for what a format shows).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Callable

from acct_tui.errors import DomainError
from acct_tui.reports.build import account_document, portfolio_document
from acct_tui.reports.files import ExportExists, default_export_path, slug, write_export
from acct_tui.reports.progress import ProgressCallback
from acct_tui.reports.to_csv import render_csv, render_csv_lines
from acct_tui.reports.to_html import render_html
from acct_tui.reports.to_json import account_json, dumps, portfolio_json
from acct_tui.reports.to_markdown import render_markdown
from acct_tui.store.reports import AccountReport, PortfolioReport, RawLine, portfolio_lines, portfolio_report

PORTFOLIO = "portfolio"
ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """One file format: its extension (also its name on the command line), how the export dialog names it,
    and how it renders each report (None: that report does not come in this format)."""

    extension: str
    name: str
    portfolio: Callable[[PortfolioReport, ProgressCallback | None], str] | None
    account: Callable[[AccountReport, ProgressCallback | None], str] | None
    # how it renders the portfolio's line per account alone, when that is all it shows (read without the rest)
    portfolio_lines: Callable[[Iterable[RawLine], int, ProgressCallback | None], str] | None = None


# Every export format, in the order the CLI and the export dialog offer them; adding one is one entry here.
EXPORT_FORMATS = {fmt.extension: fmt for fmt in (
    ExportFormat("md", "Markdown",
                 lambda report, progress: render_markdown(portfolio_document(report), progress),
                 lambda report, progress: render_markdown(account_document(report), progress)),
    ExportFormat("csv", "CSV (one row per account)", render_csv, None, render_csv_lines),
    ExportFormat("json", "JSON",
                 lambda report, progress: dumps(portfolio_json(report, progress)),
                 lambda report, progress: dumps(account_json(report))),
    ExportFormat("html", "HTML (prints well)",
                 lambda report, progress: render_html(portfolio_document(report), progress),
                 lambda report, progress: render_html(account_document(report), progress)),
)}
FORMATS = {
    PORTFOLIO: tuple(name for name, fmt in EXPORT_FORMATS.items() if fmt.portfolio is not None),
    ACCOUNT: tuple(name for name, fmt in EXPORT_FORMATS.items() if fmt.account is not None),
}
FORMAT_NAMES = {name: fmt.name for name, fmt in EXPORT_FORMATS.items()}


def _export_format(kind: str, fmt: str) -> ExportFormat:
    if fmt not in FORMATS[kind]:
        raise DomainError(f"The {kind} report comes as {', '.join(FORMATS[kind])}, not {fmt!r}.")
    return EXPORT_FORMATS[fmt]


def render_portfolio(report: PortfolioReport, fmt: str, on_progress: ProgressCallback | None = None) -> str:
    return _export_format(PORTFOLIO, fmt).portfolio(report, on_progress)


def export_portfolio(fmt: str, today: date | None = None, on_progress: ProgressCallback | None = None) -> str:
    """The portfolio report as of `today`, read as `fmt` shows it and rendered: how the CLI and the Reports
    screen export it. A format of lines only (CSV) reads the line per account alone (`portfolio_lines`): not
    the rest of the report, nor an `AccountLine` per account (a third of the export at 100,000 accounts)."""
    export_format = _export_format(PORTFOLIO, fmt)
    lines_renderer = export_format.portfolio_lines
    if lines_renderer is not None:
        return portfolio_lines(lambda lines, count: lines_renderer(lines, count, on_progress), today)
    return export_format.portfolio(portfolio_report(today), on_progress)


def render_account(report: AccountReport, fmt: str, on_progress: ProgressCallback | None = None) -> str:
    return _export_format(ACCOUNT, fmt).account(report, on_progress)


__all__ = [
    "ACCOUNT",
    "EXPORT_FORMATS",
    "FORMATS",
    "FORMAT_NAMES",
    "PORTFOLIO",
    "ExportExists",
    "ExportFormat",
    "default_export_path",
    "export_portfolio",
    "render_account",
    "render_portfolio",
    "slug",
    "write_export",
]
