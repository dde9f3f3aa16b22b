"""Documents as Markdown (GitHub-flavoured tables) that paste into an email or a wiki.

User text is escaped so it stays text: no table cell split by `|`, no emphasis, code, link (bare web and
e-mail addresses included), heading, HTML tag or maths made from what someone typed, and no terminal
control character.
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


# Common renderers make links of bare addresses (GitHub's autolinks, CommonMark's autolink extension): a
# scheme's `:` before `//` and the `.` after `www` are escaped, which breaks them; an e-mail address, which
# GitHub links even through escapes, goes into a code span, where no renderer makes a link.
_URL_START = re.compile(r"(?i)(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*)(:)(?=//)|(?<![a-z0-9])(www)(\.)")
_EMAIL = re.compile(r"[A-Za-z0-9.+_-]+@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+")


def _escape_text(text: str) -> str:
    escaped = _ENTITY.sub(r"\\&", _SPECIAL.sub(r"\\\1", text))
    return _URL_START.sub(lambda match: "\\".join(part for part in match.groups() if part), escaped)


def escape(text: object) -> str:
    """Literal Markdown for `text` on one line (line breaks become `<br>`), with no link in it."""
    shown = printable(text)
    parts, start = [], 0
    for email in _EMAIL.finditer(shown):  # only letters, digits and `.+_-@`: literal inside backticks
        parts += [_escape_text(shown[start:email.start()]), f"`{email.group()}`"]
        start = email.end()
    escaped = "".join(parts) + _escape_text(shown[start:])
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
