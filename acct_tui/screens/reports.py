"""Reports screen (placeholder until the reports work lands)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class ReportsScreen(Screen):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Reports are coming.")
        yield Footer()
