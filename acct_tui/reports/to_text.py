"""Documents as terminal text (Rich `Text`, never markup) for the Reports screen: every line fits `width`
columns, charts are block characters that read without colour, and `numbers=True` shows each chart's
numbers as a table instead.
"""

from __future__ import annotations

import textwrap

from rich.text import Text

from acct_tui.reports.charts import bar_lines, fit, sparkline
from acct_tui.reports.document import (
    BarChart,
    Document,
    Facts,
    Heading,
    Paragraph,
    Table,
    TrendChart,
)
from acct_tui.text import printable

MIN_COLUMN = 4
GAP = "  "
SPARK_WIDTH = 20


def _clean(text: object) -> str:
    return printable(text, keep_newlines=False)


def column_widths(columns: tuple[str, ...], rows, width: int) -> list[int]:
    """Natural column widths, then the widest columns shrunk one cell at a time until the table fits."""
    widths = [max([len(column)] + [len(row[index]) for row in rows]) for index, column in enumerate(columns)]
    room = width - len(GAP) * (len(columns) - 1)
    while sum(widths) > room:
        widest = max(range(len(widths)), key=lambda index: widths[index])
        if widths[widest] <= MIN_COLUMN:
            break
        widths[widest] -= 1
    return widths


def _stacked_lines(heads: tuple[str, ...], cells, width: int) -> list[Text]:
    """Each row as its first cell (bold) and then one wrapped "column: value" line per other cell."""
    labels = max(len(head) for head in heads[1:]) + 1
    out = []
    for row in cells:
        out += [Text(line, style="bold") for line in wrap("• " + row[0], width)]
        for head, value in zip(heads[1:], row[1:]):
            lines = wrap(value, max(width - labels - 3, 10))
            out.append(Text(f"  {head + ':':<{labels}} {lines[0]}"))
            out += [Text(" " * (labels + 3) + more) for more in lines[1:]]
    return out


def table_lines(columns: tuple[str, ...], rows, numeric: frozenset[int], width: int,
                stack_when_narrow: bool = False) -> list[Text]:
    cells = [tuple(_clean(cell) for cell in row) for row in rows]
    heads = tuple(_clean(column) for column in columns)
    natural = sum(max([len(head)] + [len(row[index]) for row in cells]) for index, head in enumerate(heads))
    if stack_when_narrow and natural + len(GAP) * (len(heads) - 1) > width:
        return _stacked_lines(heads, [tuple(printable(cell) for cell in row) for row in rows], width)
    widths = column_widths(heads, cells, width)

    def line(values: tuple[str, ...]) -> str:
        parts = []
        for index, value in enumerate(values):
            text = fit(value, widths[index])
            parts.append(f"{text:>{widths[index]}}" if index in numeric else f"{text:<{widths[index]}}")
        return GAP.join(parts).rstrip()

    out = [Text(line(heads), style="bold"), Text(GAP.join("─" * size for size in widths))]
    out += [Text(line(row)) for row in cells]
    return out


def wrap(text: str, width: int) -> list[str]:
    """Free text (may hold newlines) as lines of at most `width` characters; blank lines are kept."""
    lines = []
    for paragraph in printable(text).replace("\t", " ").split("\n"):
        lines += textwrap.wrap(paragraph, width, break_long_words=True, break_on_hyphens=False) or [""]
    return lines


def _wrapped(text: str, width: int, style: str = "") -> list[Text]:
    return [Text(line, style=style) for line in wrap(text, width)]


def _facts_lines(facts: Facts, width: int) -> list[Text]:
    labels = min(24, max(len(_clean(label)) for label, _ in facts.items) + 1)
    out = []
    for label, value in facts.items:
        lines = wrap(value, max(width - labels - 1, 10))
        head = Text(f"{fit(_clean(label) + ':', labels):<{labels}} ", style="bold")
        head.append(lines[0])
        out.append(head)
        out += [Text(" " * (labels + 1) + more) for more in lines[1:]]
    return out


def _trend_lines(chart: TrendChart, width: int) -> list[Text]:
    labels = max(len(_clean(trend.label)) for trend in chart.trends)
    sparks = [sparkline([value for _, value, _ in trend.points], SPARK_WIDTH) for trend in chart.trends]
    room = max(len(spark) for spark in sparks)
    return [
        Text(fit(f"{_clean(trend.label):<{labels}} {spark:<{room}} {_clean(trend.summary)}", width))
        for trend, spark in zip(chart.trends, sparks)
    ]


def render_text(document: Document, width: int, numbers: bool = False) -> Text:
    """The whole document as one `Text`, every line at most `width` wide (free text is wrapped)."""
    width = max(width, 20)
    lines: list[Text] = [*_wrapped(document.title, width, "bold"), *_wrapped(document.subtitle, width)]
    for block in document.blocks:
        if isinstance(block, Heading):
            title = _clean(block.text)
            if block.level <= 2:
                head = fit(f"── {title} ", width)
                lines += [Text(""), Text(head + "─" * (width - len(head)), style="bold")]
            else:
                lines += [Text(""), Text(fit(title, width), style="bold underline")]
        elif isinstance(block, Paragraph):
            lines += _wrapped(block.text, width)
        elif isinstance(block, Facts):
            lines += _facts_lines(block, width)
        elif isinstance(block, Table):
            lines += (table_lines(block.columns, block.rows, block.numeric, width, block.stack_when_narrow)
                      if block.rows else _wrapped(block.empty, width))
            if block.note:
                lines += _wrapped(block.note, width, "italic")
        elif isinstance(block, BarChart):
            if not block.bars:
                lines += _wrapped(block.empty, width)
            elif numbers:
                table = block.numbers()
                lines += table_lines(table.columns, table.rows, table.numeric, width)
            else:
                bars = [(_clean(bar.label), bar.value, _clean(bar.text)) for bar in block.bars]
                lines += [Text(line) for line in bar_lines(bars, width)]
        elif isinstance(block, TrendChart):
            if not block.trends:
                lines += _wrapped(block.empty, width)
            elif numbers:
                table = block.numbers()
                lines += table_lines(table.columns, table.rows, table.numeric, width)
            else:
                lines += _trend_lines(block, width)
    return Text("\n").join(lines)
