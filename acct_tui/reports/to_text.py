"""Documents as terminal text (Rich `Text`, never markup) for the Reports screen: every line fits `width`
columns, charts are block characters that read without colour, and `numbers=True` shows each chart's
numbers as a table instead.
"""

from __future__ import annotations

from rich.text import Text

from acct_tui.reports.charts import bar_lines, fit, sparkline
from acct_tui.reports.document import BarChart, Document, Facts, Heading, Paragraph, Table, TrendChart
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


def table_lines(columns: tuple[str, ...], rows, numeric: frozenset[int], width: int) -> list[Text]:
    cells = [tuple(_clean(cell) for cell in row) for row in rows]
    heads = tuple(_clean(column) for column in columns)
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


def _facts_lines(facts: Facts, width: int) -> list[Text]:
    labels = min(24, max(len(_clean(label)) for label, _ in facts.items) + 1)
    out = []
    for label, value in facts.items:
        lines = printable(value).split("\n")
        head = Text(f"{fit(_clean(label) + ':', labels):<{labels}} ", style="bold")
        head.append(lines[0].replace("\t", " "))
        out.append(head)
        out += [Text(" " * (labels + 1) + more.replace("\t", " ")) for more in lines[1:]]
    return out


def _trend_lines(chart: TrendChart, width: int) -> list[Text]:
    labels = max(len(_clean(trend.label)) for trend in chart.trends)
    return [
        Text(fit(f"{_clean(trend.label):<{labels}} {sparkline([v for _, v, _ in trend.points], SPARK_WIDTH):<{SPARK_WIDTH}}"
                 f" {_clean(trend.summary)}", width))
        for trend in chart.trends
    ]


def render_text(document: Document, width: int, numbers: bool = False) -> Text:
    """The whole document as one `Text`, lines at most `width` wide (long notes wrap where they are shown)."""
    width = max(width, 20)
    lines: list[Text] = [Text(fit(_clean(document.title), width), style="bold"), Text(_clean(document.subtitle))]
    for block in document.blocks:
        if isinstance(block, Heading):
            title = _clean(block.text)
            if block.level <= 2:
                head = fit(f"── {title} ", width)
                lines += [Text(""), Text(head + "─" * (width - len(head)), style="bold")]
            else:
                lines += [Text(""), Text(fit(title, width), style="bold underline")]
        elif isinstance(block, Paragraph):
            lines.append(Text(_clean(block.text)))
        elif isinstance(block, Facts):
            lines += _facts_lines(block, width)
        elif isinstance(block, Table):
            lines += (table_lines(block.columns, block.rows, block.numeric, width) if block.rows
                      else [Text(_clean(block.empty))])
            if block.note:
                lines.append(Text(_clean(block.note), style="italic"))
        elif isinstance(block, BarChart):
            if not block.bars:
                lines.append(Text(_clean(block.empty)))
            elif numbers:
                table = block.numbers()
                lines += table_lines(table.columns, table.rows, table.numeric, width)
            else:
                bars = [(_clean(bar.label), bar.value, _clean(bar.text)) for bar in block.bars]
                lines += [Text(line) for line in bar_lines(bars, width)]
        elif isinstance(block, TrendChart):
            if not block.trends:
                lines.append(Text(_clean(block.empty)))
            elif numbers:
                table = block.numbers()
                lines += table_lines(table.columns, table.rows, table.numeric, width)
            else:
                lines += _trend_lines(block, width)
    return Text("\n").join(lines)
