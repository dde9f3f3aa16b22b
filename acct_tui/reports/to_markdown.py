"""Documents as Markdown (GitHub-flavoured tables) that paste into an email or a wiki.

User text is escaped so it stays text: no table cell split by `|`, no emphasis, code, link, heading, HTML
tag or maths made from what someone typed, and no terminal control character.
"""

from __future__ import annotations

import re

from acct_tui.reports.charts import bar, sparkline
from acct_tui.reports.document import (
    BarChart,
    Document,
    Facts,
    Heading,
    Paragraph,
    Table,
    TrendChart,
)
from acct_tui.reports.progress import ProgressCallback, Ticker
from acct_tui.text import printable

BAR_WIDTH = 20
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~$])")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")  # `&amp;` typed by a user must not become `&`


def escape(text: object) -> str:
    """Literal Markdown for `text` on one line (line breaks become `<br>`)."""
    escaped = _ENTITY.sub(r"\\&", _SPECIAL.sub(r"\\\1", printable(text)))
    return escaped.replace("\r", "").replace("\n", "<br>").replace("\t", " ")


def _table(columns: tuple[str, ...], rows, numeric: frozenset[int], ticker: Ticker) -> list[str]:
    lines = [
        "| " + " | ".join(escape(column) for column in columns) + " |",
        "|" + "|".join("---:" if index in numeric else "---" for index in range(len(columns))) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(escape(cell) for cell in row) + " |")
        ticker.advance()
    return lines


def render_markdown(document: Document, on_progress: ProgressCallback | None = None) -> str:
    ticker = Ticker(document.row_count, on_progress)
    out = [f"# {escape(document.title)}", "", escape(document.subtitle), ""]
    for block in document.blocks:
        if isinstance(block, Heading):
            out += [f"{'#' * block.level} {escape(block.text)}", ""]
        elif isinstance(block, Paragraph):
            out += [escape(block.text), ""]
        elif isinstance(block, Facts):
            out += [f"- **{escape(label)}:** {escape(value)}" for label, value in block.items] + [""]
        elif isinstance(block, Table):
            out += (_table(block.columns, block.rows, block.numeric, ticker) if block.rows else [escape(block.empty)])
            out += [""] + ([f"*{escape(block.note)}*", ""] if block.note else [])
        elif isinstance(block, BarChart):
            if not block.bars:
                out += [escape(block.empty), ""]
                continue
            top = max(item.value for item in block.bars)
            rows = [(item.label, item.text, bar(item.value, top, BAR_WIDTH)) for item in block.bars]
            out += _table((block.label_header, block.value_header, "Chart"), rows, frozenset({1}), ticker) + [""]
        elif isinstance(block, TrendChart):
            if not block.trends:
                out += [escape(block.empty), ""]
                continue
            rows = [(trend.label, sparkline([value for _, value, _ in trend.points]), trend.summary)
                    for trend in block.trends]
            out += _table(("Metric", "Trend", "Summary"), rows, frozenset(), ticker) + [""]
            numbers = block.numbers()
            out += _table(numbers.columns, numbers.rows, numbers.numeric, ticker) + [""]
    ticker.finish()
    return "\n".join(out).rstrip("\n") + "\n"
