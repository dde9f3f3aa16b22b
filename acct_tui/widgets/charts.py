"""A report drawn in the terminal: bar charts and sparklines as block characters (see
`acct_tui.reports.charts`), readable without colour and fitted to the widget's width, 80 columns included.

`show_numbers` swaps every chart for the table of its numbers, so what the chart shows is one key away.
The widget never sees the database: it is given a `Document` built from plain report data.
"""

from __future__ import annotations

from rich.text import Text
from textual.events import Resize
from textual.reactive import reactive
from textual.widgets import Static

from acct_tui.reports.document import Document
from acct_tui.reports.to_text import render_text
from acct_tui.text import printable


class ReportView(Static):
    DEFAULT_CSS = """
    ReportView {
        height: auto;
        width: 1fr;
    }
    """

    show_numbers: reactive[bool] = reactive(False)

    def __init__(self, document: Document | None = None, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.document = document
        self.message = ""
        self.text = Text("")  # what is drawn now, as plain data (tests read it)
        self._drawn_width = 0

    def show(self, document: Document | None, message: str = "") -> None:
        """Draw `document`, or `message` (plain text: why there is no document) when it is None."""
        self.document = document
        self.message = message
        self._draw()

    def watch_show_numbers(self) -> None:
        self._draw()

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._drawn_width:  # a new height alone needs no redraw
            self._draw()

    def _draw(self) -> None:
        width = self.content_size.width or self.app.size.width
        self._drawn_width = self.size.width
        if self.document is None:
            self.text = Text(printable(self.message))
        else:
            self.text = render_text(self.document, width, self.show_numbers)
        self.update(self.text)
