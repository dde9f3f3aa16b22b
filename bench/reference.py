"""The reference the account list is measured against: a bare Line-API list (bench/README.md, "The reference").

A Textual app of two widgets: a filter line and a `ScrollView` whose `render_line` draws rows held in memory
as plain tuples, filtered in Python at each keystroke (a substring of the lower-cased name and owner). Its
rows are the app's list rows for the same portfolio, read with one raw `sqlite3` query (plus the overdue
counts), no ORM and nothing prepared for display. It is what the simplest list over the same rows costs on
this machine with this Textual, so the app's figures are read as a ratio to it, measured in the same run.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from rich.segment import Segment
from textual import on, work
from textual.app import App, ComposeResult
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input

ROWS_SQL = """
SELECT a.name, a.owner, a.segment, a.stage, r.done_count, r.step_count, r.current_step, r.next_approval,
       a.last_activity_at, a.archived, a.id
FROM account AS a LEFT JOIN run AS r ON r.account_id = a.id
ORDER BY a.name_key
"""
OVERDUE_SQL = """
SELECT r.account_id, COUNT(*) FROM step_state AS s JOIN run AS r ON r.id = s.run_id
WHERE s.status = 'open' AND s.due_on < ? GROUP BY r.account_id
"""


def load_rows(db: Path) -> list[tuple]:
    """Every account as one tuple: (folded "name\\nowner", name, owner, segment, stage, done, total, step,
    approval, overdue, last activity, archived)."""
    connection = sqlite3.connect(db)
    try:
        overdue = dict(connection.execute(OVERDUE_SQL, (date.today().isoformat(),)))
        return [(f"{name}\n{owner}".lower(), name, owner, segment, stage, done or 0, total or 0, step, approval,
                 overdue.get(account_id, 0), activity, archived)
                for name, owner, segment, stage, done, total, step, approval, activity, archived, account_id
                in connection.execute(ROWS_SQL)]
    finally:
        connection.close()


class ReferenceList(ScrollView, can_focus=True):
    def __init__(self) -> None:
        super().__init__()
        self.all_rows: list[tuple] = []
        self.shown: list[tuple] = []
        self.filter_text = ""

    @property
    def shown_count(self) -> int:
        return len(self.shown)

    def set_rows(self, rows: list[tuple]) -> None:
        self.all_rows = rows
        self.set_filter(self.filter_text)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        folded = text.lower()
        self.shown = [row for row in self.all_rows if folded in row[0]] if folded else self.all_rows
        self.virtual_size = Size(self.size.width, len(self.shown))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = round(self.scroll_y) + y
        if index >= len(self.shown):
            return Strip.blank(width)
        _, name, owner, segment, stage, done, total, step, approval, overdue, activity, _ = self.shown[index]
        text = (f"{name[:28]:<28} {owner[:14]:<14} {segment[:10]:<10} {stage[:18]:<18} {done:>2}/{total:<2} "
                f"{step or '—':>4} {approval or '—':>4} {overdue or '·':>4} {activity[:16]}")
        return Strip([Segment(text[:width])]).adjust_cell_length(width)


class ReferenceApp(App):
    CSS = "Input { dock: top; } ReferenceList { height: 1fr; }"

    def __init__(self, db: Path) -> None:
        super().__init__()
        self.db = db
        self.rows_loaded = False

    def compose(self) -> ComposeResult:
        yield Input(id="filter", compact=True)
        yield ReferenceList()

    def on_mount(self) -> None:
        self.query_one(ReferenceList).focus()
        self.load()

    @work(thread=True)
    def load(self) -> None:
        rows = load_rows(self.db)
        self.call_from_thread(self.show_rows, rows)

    def show_rows(self, rows: list[tuple]) -> None:
        self.query_one(ReferenceList).set_rows(rows)
        self.rows_loaded = True

    def on_key(self, event) -> None:
        if event.key == "slash" and not isinstance(self.focused, Input):
            event.stop()
            self.set_focus(self.query_one(Input))

    @on(Input.Changed)
    def filter_changed(self, event: Input.Changed) -> None:
        self.query_one(ReferenceList).set_filter(event.value)


if __name__ == "__main__":  # to look at it: python bench/reference.py DB
    import sys

    ReferenceApp(Path(sys.argv[1])).run()
