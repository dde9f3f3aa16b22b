"""Keys typed faster than the app reads them (one read over a slow link) are applied in the order typed."""

from __future__ import annotations

from textual.app import App, ComposeResult

from acct_tui.app import AcctApp
from acct_tui.store.queries import account_rows
from acct_tui.store.services import create_account
from acct_tui.widgets.editors import LineEditor, NotesEditor
from tests.bursts import burst, typed
from tests.ui_support import settle


class Editors(App[None]):
    def compose(self) -> ComposeResult:
        yield LineEditor("abcdef", id="line")
        yield NotesEditor("abcdef", id="notes")


async def test_backspace_then_typing_in_one_read_keeps_the_order_in_a_line():
    app = Editors()
    async with app.run_test() as pilot:
        line = app.query_one("#line", LineEditor)
        line.focus()
        line.cursor_position = len(line.value)
        burst(app, "backspace", "q", "backspace", "backspace", *typed("12"), "left", "left", "<")
        await pilot.pause()
        await pilot.pause()
        assert line.value == "abcd<12"


async def test_backspace_then_typing_in_one_read_keeps_the_order_in_notes():
    app = Editors()
    async with app.run_test() as pilot:
        notes = app.query_one("#notes", NotesEditor)
        notes.focus()
        notes.move_cursor((0, 6))
        burst(app, "backspace", "q", "backspace", *typed("xy"))
        await pilot.pause()
        await pilot.pause()
        assert notes.text == "abcdexy"


# The same in the app: whole bursts of keys, as a fast typist over a slow link sends them -------------------------

async def test_a_filter_typed_in_one_read_lands_in_the_filter(db, db_path):
    for name in ("Coffee Co", "Contoso", "Fabrikam"):
        create_account(name)
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        burst(app, "slash", *typed("co"), "slash", "backspace", "f")
        await settle(pilot)
        assert app.screen.query_one("#filter", LineEditor).value == "cof"


async def test_form_fields_typed_in_one_read_land_in_their_fields(db, db_path):
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        burst(app, *typed("Acmx"), "backspace", "e", "tab", *typed("alice"), "ctrl+s")
        await settle(pilot)
        assert [(row.name, row.owner) for row in account_rows()] == [("Acme", "alice")]
