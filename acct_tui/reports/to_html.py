"""Documents as one self-contained HTML file: inline CSS, inline SVG sparklines, no script, no external
asset (a Content-Security-Policy forbids loading any), laid out to print on A4 or Letter.

All text, user text included, goes through `html.escape` after `printable`.
"""

from __future__ import annotations

import html

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

STYLE = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111; margin: 2rem auto;
       max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid #999; padding-bottom: .15rem; }
h3 { font-size: 1rem; margin: 1rem 0 .3rem; }
.subtitle, .note { color: #444; }
.note { font-style: italic; font-size: .9rem; }
table { border-collapse: collapse; margin: .3rem 0 .6rem; width: 100%; }
th, td { border: 1px solid #bbb; padding: .2rem .45rem; text-align: left; vertical-align: top; }
thead th { background: #eee; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.chart td.bar { width: 55%; }
table.chart .fill { display: block; height: .9rem; background: #3b6ea5; min-width: 1px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .3rem 0 .6rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; white-space: pre-wrap; }
svg.spark { vertical-align: middle; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  h2 { break-after: avoid; }
  table, dl.facts { break-inside: auto; }
  tr, dt, dd { break-inside: avoid; }
  thead { display: table-header-group; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def escape(text: object) -> str:
    return html.escape(printable(text), quote=True).replace("\n", "<br>")


def _table(columns, rows, numeric: frozenset[int], ticker: Ticker) -> list[str]:
    def cell(tag: str, index: int, text: str) -> str:
        return f'<{tag} class="num">{text}</{tag}>' if index in numeric else f"<{tag}>{text}</{tag}>"

    out = ["<table><thead><tr>"
           + "".join(cell("th", index, escape(column)) for index, column in enumerate(columns))
           + "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(cell("td", index, escape(text)) for index, text in enumerate(row)) + "</tr>")
        ticker.advance()
    out.append("</tbody></table>")
    return out


def _sparkline_svg(values: list[float], label: str) -> str:
    width, height = 120, 24
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{index * step:.1f},{height - 2 - (value - low) / span * (height - 4) if high != low else height / 2:.1f}"
        for index, value in enumerate(values)
    )
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(label)} trend"><polyline points="{points}" fill="none" stroke="#3b6ea5" '
            'stroke-width="1.5"/></svg>')


def render_html(document: Document, on_progress: ProgressCallback | None = None) -> str:
    ticker = Ticker(document.row_count, on_progress)
    body: list[str] = [f"<h1>{escape(document.title)}</h1>", f'<p class="subtitle">{escape(document.subtitle)}</p>']
    for block in document.blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{escape(block.text)}</p>")
        elif isinstance(block, Facts):
            body.append('<dl class="facts">' + "".join(
                f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in block.items) + "</dl>")
        elif isinstance(block, Table):
            body += _table(block.columns, block.rows, block.numeric, ticker) if block.rows else [
                f"<p>{escape(block.empty)}</p>"]
            if block.note:
                body.append(f'<p class="note">{escape(block.note)}</p>')
        elif isinstance(block, BarChart):
            if not block.bars:
                body.append(f"<p>{escape(block.empty)}</p>")
                continue
            top = max(item.value for item in block.bars) or 1.0
            body.append(f'<table class="chart"><thead><tr><th>{escape(block.label_header)}</th><th>Chart</th>'
                        f'<th class="num">{escape(block.value_header)}</th></tr></thead><tbody>')
            for item in block.bars:
                share = 100 * max(item.value, 0) / top
                fill = f'<span class="fill" style="width:{share:.1f}%"></span>' if item.value > 0 else ""
                body.append(f'<tr><th scope="row">{escape(item.label)}</th><td class="bar">{fill}</td>'
                            f'<td class="num">{escape(item.text)}</td></tr>')
                ticker.advance()
            body.append("</tbody></table>")
        elif isinstance(block, TrendChart):
            if not block.trends:
                body.append(f"<p>{escape(block.empty)}</p>")
                continue
            body.append('<table class="trends"><thead><tr><th>Metric</th><th>Trend</th><th>Summary</th></tr>'
                        "</thead><tbody>")
            for trend in block.trends:
                svg = _sparkline_svg([value for _, value, _ in trend.points], trend.label)
                body.append(f"<tr><th scope=\"row\">{escape(trend.label)}</th><td>{svg}</td>"
                            f"<td>{escape(trend.summary)}</td></tr>")
                ticker.advance()
            body.append("</tbody></table>")
            numbers = block.numbers()
            body += _table(numbers.columns, numbers.rows, numbers.numeric, ticker)
    ticker.finish()
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(document.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )
