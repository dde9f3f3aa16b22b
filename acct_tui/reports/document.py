"""A report as a small document model: headings, paragraphs, facts, tables and charts.

The builders (`acct_tui.reports.build`) decide what a report says once; the renderers (Markdown, HTML, the
terminal) decide only how it looks. Every chart can give its numbers as a table, so a reader who would
rather read than look (or whose terminal has no colour) gets the same information.

All strings here are plain text, user text included: each renderer escapes for its own format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class Heading:
    text: str
    level: int = 2  # 2 for sections, 3 for sub-sections; the document title is level 1


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str


@dataclass(frozen=True, slots=True)
class Facts:
    """Label: value pairs (a value may span several lines)."""

    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int] = frozenset()  # columns aligned right
    empty: str = "None."
    note: str = ""  # e.g. "The 20 oldest of 1,234." under the table
    # Where the table does not fit (80 columns), show each row as a small block of "column: value" lines
    # instead of cutting cells short: for tables whose cells are sentences people typed.
    stack_when_narrow: bool = False


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    text: str  # the value as the reader should see it: "12", "45.6 %", "3.5 h"


@dataclass(frozen=True, slots=True)
class BarChart:
    label_header: str
    value_header: str
    bars: tuple[Bar, ...]
    empty: str = "Nothing to chart yet."

    def numbers(self) -> Table:
        return Table((self.label_header, self.value_header), tuple((bar.label, bar.text) for bar in self.bars),
                     numeric=frozenset({1}), empty=self.empty)


@dataclass(frozen=True, slots=True)
class Trend:
    label: str
    points: tuple[tuple[date, float, str], ...]  # date, value, value as text; oldest first
    summary: str  # "latest 4.6/5 on 2026-05-01, +0.4 since 2026-01-01"


@dataclass(frozen=True, slots=True)
class TrendChart:
    trends: tuple[Trend, ...]
    empty: str = "No values recorded yet."

    def numbers(self) -> Table:
        rows = tuple((trend.label, day.isoformat(), text) for trend in self.trends for day, _, text in trend.points)
        return Table(("Metric", "Date", "Value"), rows, numeric=frozenset({2}), empty=self.empty)


Block = Heading | Paragraph | Facts | Table | BarChart | TrendChart
CHARTS = (BarChart, TrendChart)


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    subtitle: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    @property
    def row_count(self) -> int:
        """Rows of tables and charts: what a long export's progress counts."""
        total = 0
        for block in self.blocks:
            if isinstance(block, Table):
                total += len(block.rows)
            elif isinstance(block, BarChart):
                total += len(block.bars)
            elif isinstance(block, TrendChart):
                total += len(block.trends) + len(block.numbers().rows)
        return total
