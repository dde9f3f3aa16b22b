"""The portfolio as CSV: one row per active account, for a spreadsheet.

UTF-8 with a byte-order mark (so Excel reads accented names correctly), RFC 4180 quoting and CRLF line
ends. A text cell that a spreadsheet would run as a formula (it starts with = + - @, a tab or a carriage
return) gets a leading apostrophe: account names are user text, and user text is never code.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from functools import lru_cache

from acct_tui.reports.progress import ProgressCallback, Ticker
from acct_tui.store.reports import PortfolioReport
from acct_tui.text import printable
from acct_tui.workflow.kpi import METRIC_KEYS

COLUMNS = (
    "account_id", "name", "owner", "segment", "stage", "industry", "annual_revenue", "steps_done", "steps_total",
    "progress_percent", "current_step", "current_step_title", "next_approval", "pending_since", "overdue_tasks",
    "satisfaction", *METRIC_KEYS, "objectives", "objectives_achieved", "last_activity",
    "template_version",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    text = printable(value or "", keep_newlines=False)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _number(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def render_csv(report: PortfolioReport, on_progress: ProgressCallback | None = None) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    ticker = Ticker(len(report.accounts), on_progress)
    shared_text = lru_cache(maxsize=4096)(_text)  # owners and industries recur line after line
    for line in report.accounts:
        writer.writerow((
            str(line.id), _text(line.name), shared_text(line.owner), line.segment, line.stage,
            shared_text(line.industry),
            _number(line.annual_revenue), line.done, line.total,
            f"{100 * line.done / line.total:.1f}" if line.total else "",
            line.current_step or "", line.current_title, line.next_approval or "",
            line.pending_since.isoformat(timespec="seconds") + "Z" if line.pending_since else "",
            line.overdue, line.satisfaction or "", *(_number(value) for value in line.latest),
            line.objectives, line.objectives_achieved, line.last_activity.isoformat(timespec="seconds") + "Z",
            line.template_version or "",
        ))
        ticker.advance()
    ticker.finish()
    return buffer.getvalue()
