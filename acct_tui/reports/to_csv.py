"""The portfolio as CSV: one row per active account, for a spreadsheet.

UTF-8 with a byte-order mark (so Excel reads accented names correctly), RFC 4180 quoting and CRLF line
ends. A text cell that a spreadsheet would run as a formula (it starts with = + - @, a tab or a carriage
return) gets a leading apostrophe: account names are user text, and user text is never code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from operator import getitem
from typing import Callable

from acct_tui.reports.progress import ProgressCallback, Ticker
from acct_tui.store.reports import NO_VALUES, AccountLine, PortfolioReport, RawLine, metric_value
from acct_tui.text import printable
from acct_tui.workflow.kpi import METRIC_KEYS, METRICS, Metric

COLUMNS = (
    "account_id", "name", "owner", "segment", "stage", "industry", "annual_revenue", "steps_done", "steps_total",
    "progress_percent", "current_step", "current_step_title", "next_approval", "pending_since", "overdue_tasks",
    "satisfaction", *METRIC_KEYS, "objectives", "objectives_achieved", "last_activity",
    "template_version",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_QUOTES = re.compile('[,"\r\n]')
LINE_END = "\r\n"
_STORED_TIME_LENGTHS = (19, 26)  # str(datetime) without and with microseconds


def cell(text: str) -> str:
    """One cell as RFC 4180 (and `csv.writer`'s default dialect) writes it: in quotes, with its quotes
    doubled, when it holds a comma, a quote or a line break; else as it is. Only text cells can: ids,
    numbers and timestamps are written as they are."""
    return '"' + text.replace('"', '""') + '"' if _NEEDS_QUOTES.search(text) else text


def _text(value: str | None) -> str:
    """User text: printable, never a formula, quoted as needed."""
    text = printable(value or "", keep_newlines=False)
    return cell("'" + text if text.startswith(_FORMULA_START) else text)


def _number(value: Decimal | int | None) -> str:
    """A decimal written out in full: `str` does that (seven times faster than `format(value, "f")`) unless
    it would write an exponent (1E+16); an int as the Decimal made of it would be written."""
    if value is None:
        return ""
    if value.__class__ is int:
        return str(value)
    text = str(value)
    return format(value, "f") if "E" in text else text


NO_NUMBERS = "," * (len(METRIC_KEYS) - 1)


def _numbers(values: tuple[Decimal | None, ...]) -> str:
    """The latest value of each metric, as cells; most accounts have none yet."""
    if values.count(None) == len(values):
        return NO_NUMBERS
    return ",".join(map(_number, values))


class _MetricCells(dict):
    """One metric's cells by the cents of its values, each written once (`_number` of its value)."""

    def __init__(self, metric: Metric) -> None:
        super().__init__({None: ""})
        self.metric = metric

    def __missing__(self, cents: int) -> str:
        text = self[cents] = _number(metric_value(self.metric, cents))
        return text


def _numbers_of_cents() -> Callable[[tuple[int | None, ...]], str]:
    """`_numbers` for the latest values in cents, as `portfolio_lines` reads them."""
    cells = [_MetricCells(metric) for metric in METRICS]

    def numbers(cents: tuple[int | None, ...]) -> str:
        return NO_NUMBERS if cents is NO_VALUES else ",".join(map(getitem, cells, cents))

    return numbers


def _progress(done: int, total: int, current: int | None) -> str:
    """The cells steps_done, steps_total, progress_percent and current_step."""
    percent = f"{100 * done / total:.1f}" if total else ""
    return f"{done},{total},{percent},{current or ''}"


def _moment(value: datetime | str | None) -> str:
    """To the second, in UTC: the naive timestamp's ISO form cut after the seconds (`isoformat()` with no
    argument costs two thirds of `isoformat(timespec="seconds")`). Also from the text SQLite stores a
    timestamp as ("2026-11-30 12:34:56" and its microseconds, if any), without making a datetime of it."""
    if not value:
        return ""
    if value.__class__ is str:
        if len(value) in _STORED_TIME_LENGTHS and value[10] == " ":
            return f"{value[:10]}T{value[11:19]}Z"
        value = datetime.fromisoformat(value)
    return value.isoformat()[:19] + "Z"


def render_csv(report: PortfolioReport, on_progress: ProgressCallback | None = None) -> str:
    return _render(report.accounts, len(report.accounts), _numbers, on_progress)


def render_csv_lines(lines: Iterable[RawLine], count: int, on_progress: ProgressCallback | None = None) -> str:
    """The CSV of `count` lines as `portfolio_lines` reads them, without an `AccountLine` or a Decimal made of
    each: the same cells as `render_csv` writes of the same lines."""
    return _render(lines, count, _numbers_of_cents(), on_progress)


def _render(lines: Iterable[AccountLine | RawLine], count: int, numbers: Callable[[tuple], str],
            on_progress: ProgressCallback | None) -> str:
    """Each line is written with one f-string: `csv.writer` costs four times as much per line, for quoting
    that only the text cells can need (`cell`)."""
    ticker = Ticker(count, on_progress)
    # Owners, industries, stages, titles and progress recur line after line: each cell is made once.
    shared_text, shared_cell, progress = (lru_cache(maxsize=4096)(make) for make in (_text, cell, _progress))
    out = ["\ufeff" + ",".join(COLUMNS)]
    for (account_id, name, owner, segment, stage, industry, revenue, done, total, current, title, next_gate,
         pending_since, overdue, satisfaction, latest, objectives, achieved, last_activity, version) in lines:
        out.append(
            f"{account_id},{_text(name)},{shared_text(owner)},{shared_cell(segment)},{shared_cell(stage)},"
            f"{shared_text(industry)},{_number(revenue)},{progress(done, total, current)},"
            f"{shared_cell(title)},{next_gate or ''},{_moment(pending_since)},{overdue},"
            f"{shared_cell(satisfaction or '')},{numbers(latest)},{objectives},{achieved},"
            f"{_moment(last_activity)},{version or ''}")
        ticker.advance()
    ticker.finish()
    out.append("")
    return LINE_END.join(out)
