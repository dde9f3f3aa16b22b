"""The footer, one line of text: a click on a key presses it (the user's own key when the keymap moved it), a
greyed key only rings the bell, hovering a key shows its tooltip, and keys that do not fit are counted."""

from __future__ import annotations

from acct_tui.app import AcctApp
from acct_tui.screens.account_form import AccountForm
from acct_tui.store import services
from acct_tui.widgets.key_footer import KeyFooter
from tests.test_keymap import write_keymap
from tests.ui_support import screen_text, settle

SIZE = (80, 24)


def footer_line(app: AcctApp) -> str:
    return screen_text(app).splitlines()[-1]


async def click_on(pilot, text: str) -> None:
    """Click the first cell of `text` where the footer shows it."""
    x = footer_line(pilot.app).index(text)
    await pilot.click(KeyFooter, offset=(x, 0))
    await settle(pilot)


async def test_a_click_on_a_key_presses_it_and_follows_the_keymap(db, db_path):
    write_keymap('"accounts.add" = "n"\n')
    services.create_account("Contoso", owner="bob", actor="bob")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "n Add" in footer_line(app)
        await click_on(pilot, "n Add")
        assert isinstance(app.screen, AccountForm)
        await pilot.press("escape")
        await settle(pilot)
        await click_on(pilot, "Add")  # on the description as well as on the key
        assert isinstance(app.screen, AccountForm)
        await pilot.press("escape")
        await settle(pilot)
        line = footer_line(app)
        x = line.index("1234 Screens") + 3  # the screen keys are one item, each key its own place
        await pilot.click(KeyFooter, offset=(x, 0))
        await settle(pilot)
        assert app.current_mode == "reports"
        assert "n Numbers" in footer_line(app)  # the footer of the screen in front, with its own keys
        await click_on(pilot, "^p palette")
        assert type(app.screen).__name__ == "CommandPalette"


async def test_a_greyed_key_rings_the_bell_and_a_gap_does_nothing(db, db_path):
    app = AcctApp(db_path)
    bells = []
    async with app.run_test(size=SIZE) as pilot:
        app.bell = lambda: bells.append(True)
        await settle(pilot)
        footer = app.screen.query_one(KeyFooter)
        edit = next(key for key in footer.keys if key.description == "Edit")
        assert not edit.enabled  # no account to edit
        await click_on(pilot, "e Edit")
        assert bells == [True] and not isinstance(app.screen, AccountForm)
        await pilot.click(KeyFooter, offset=(footer_line(app).index("^p palette") - 3, 0))  # between keys
        await settle(pilot)
        assert bells == [True] and app.screen is footer.screen


async def test_hovering_a_key_shows_its_tooltip_and_narrow_terminals_count_what_is_hidden(db, db_path):
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(KeyFooter)
        await pilot.hover(KeyFooter, offset=(footer_line(app).index("a Add"), 0))
        assert footer.tooltip == "Add an account"
        await pilot.hover(KeyFooter, offset=(footer_line(app).index("1234 Screens") + 3, 0))
        assert footer.tooltip == "Reports"  # a grouped key says what it is for
        await pilot.hover(KeyFooter, offset=(footer_line(app).index("? Keys"), 0))
        assert footer.tooltip is None  # a binding without a tooltip has none, as in Textual's Footer
        assert footer.hidden_keys == 0
        await pilot.resize_terminal(40, 24)
        await settle(pilot)
        assert footer.hidden_keys > 0
        assert footer_line(app).endswith("▏^p palette ")  # the palette's key stays at the right edge
