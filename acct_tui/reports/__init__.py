"""Reports and exports: documents built from the report data (`build`), rendered as Markdown, HTML, CSV or
JSON, and written safely to a file (`files`). Pure: no Textual, and no database access here (the report
data comes from `acct_tui.store.reports`).
"""

from __future__ import annotations

from acct_tui.errors import DomainError
from acct_tui.reports.build import account_document, portfolio_document
from acct_tui.reports.files import ExportExists, default_export_path, slug, write_export
from acct_tui.reports.progress import ProgressCallback
from acct_tui.reports.to_csv import render_csv
from acct_tui.reports.to_html import render_html
from acct_tui.reports.to_json import account_json, dumps, portfolio_json
from acct_tui.reports.to_markdown import render_markdown
from acct_tui.store.reports import AccountReport, PortfolioReport

PORTFOLIO = "portfolio"
ACCOUNT = "account"
FORMATS = {PORTFOLIO: ("md", "csv", "json", "html"), ACCOUNT: ("md", "json", "html")}
FORMAT_NAMES = {"md": "Markdown", "csv": "CSV (one row per account)", "json": "JSON", "html": "HTML (prints well)"}


def _check_format(kind: str, fmt: str) -> None:
    if fmt not in FORMATS[kind]:
        raise DomainError(f"The {kind} report comes as {', '.join(FORMATS[kind])}, not {fmt!r}.")


def render_portfolio(report: PortfolioReport, fmt: str, on_progress: ProgressCallback | None = None) -> str:
    _check_format(PORTFOLIO, fmt)
    if fmt == "csv":
        return render_csv(report, on_progress)
    if fmt == "json":
        return dumps(portfolio_json(report, on_progress))
    document = portfolio_document(report)
    return render_markdown(document, on_progress) if fmt == "md" else render_html(document, on_progress)


def render_account(report: AccountReport, fmt: str, on_progress: ProgressCallback | None = None) -> str:
    _check_format(ACCOUNT, fmt)
    if fmt == "json":
        return dumps(account_json(report))
    document = account_document(report)
    return render_markdown(document, on_progress) if fmt == "md" else render_html(document, on_progress)


__all__ = [
    "ACCOUNT",
    "FORMATS",
    "FORMAT_NAMES",
    "PORTFOLIO",
    "ExportExists",
    "default_export_path",
    "render_account",
    "render_portfolio",
    "slug",
    "write_export",
]
