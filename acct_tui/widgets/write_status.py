"""One line above the footer of every screen, shown only when there is something to say about saving: the
app waits for the database, or text the user typed is held unsaved (and how to review it)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from acct_tui.text import printable


class WriteStatus(Static):
    def on_mount(self) -> None:
        self.watch(self.app, "write_status", self._show)

    def _show(self, status: str) -> None:
        self.update(Content(printable(status)))
        self.display = bool(status)
