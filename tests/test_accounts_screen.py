"""The account list, driven with keys at 80x24: what the screen shows and what the database holds."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import pytest

from acct_tui.app import AcctApp
from acct_tui.screens.account_form import AccountForm, ArchiveDialog
from acct_tui.screens.accounts import AccountCommands, AccountsScreen
from acct_tui.store.models import Account
from acct_tui.store.queries import AccountRow, account_detail, account_rows
from acct_tui.store.services import archive_account, create_account, edit_account
import acct_tui.widgets.account_table as account_table
from acct_tui.widgets.account_table import AccountTable, ListedAccount, fit_columns, prepare_rows
from acct_tui.workflow.query import QUERIED_FIELDS
from tests.ui_support import screen_text, settle, type_text

SIZE = (80, 24)


@pytest.fixture
def app(db, db_path) -> AcctApp:
    """The app on the test database, opened first by the `db` fixture as the CLI does."""
    return AcctApp(db_path)


HOSTILE_NAMES = ("[red]x[/red]", "a[/]b", "[@click=app.quit]q", "[link=http://a]l", "[$accent]v", "\\[b]z")


def accounts_screen(app) -> AccountsScreen:
    screen = app.screen
    assert isinstance(screen, AccountsScreen)
    return screen


def table(app) -> AccountTable:
    return app.screen.query_one(AccountTable)


def stored_names(include_archived: bool = True) -> list[str]:
    return [row.name for row in account_rows(include_archived=include_archived)]


async def test_empty_database_explains_how_to_start(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "No accounts yet. Press a to add an account, or D to load a demo" in text
        assert "D Demo" in text  # the footer offers the key
        assert "0 of 0 accounts" in text
        assert accounts_screen(app).check_action("edit", ()) is None  # greyed: nothing to edit
        await pilot.press("e", "x")
        assert isinstance(app.screen, AccountsScreen)  # no dialog opened


async def test_add_account_with_the_form(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        assert isinstance(app.screen, AccountForm)
        await type_text(pilot, "Acme Ltd")
        await pilot.press("tab")
        await type_text(pilot, "alice")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        [row] = account_rows()
        assert (row.name, row.owner, row.segment, row.stage) == ("Acme Ltd", "alice", "Transactional", "Prospecting")
        assert table(app).shown_names == ["Acme Ltd"]
        assert table(app).selected.row.id == row.id
        text = screen_text(app)
        assert "▶ Acme Ltd" in text
        assert "1 of 1 accounts" in text


async def test_duplicate_name_is_refused_next_to_the_name(app):
    create_account("Acme Ltd")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await type_text(pilot, "ACME LTD")
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, AccountForm)
        error = form.query_one("#name-error")
        assert error.display
        assert "already exists" in str(error.render())
        assert error.region.y == form.query_one("#name").region.y + 1  # right under its field
        assert "An account named “Acme Ltd” already exists" in screen_text(app)
        assert stored_names() == ["Acme Ltd"]


async def test_bad_revenue_and_empty_name_show_next_to_their_fields(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await pilot.press("tab", "tab", "tab", "tab", "tab")  # name, owner, segment, stage, industry, revenue
        form = app.screen
        assert form.focused is form.query_one("#annual_revenue")
        await type_text(pilot, "lots")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AccountForm)
        text = screen_text(app)
        assert "Account name cannot be empty." in text
        assert "Annual revenue “lots” is not a number" in text
        revenue_error = form.query_one("#annual_revenue-error")
        assert revenue_error.region.y == form.query_one("#annual_revenue").region.y + 1
        assert form.focused is form.query_one("#name")  # the first problem gets the cursor
        assert stored_names() == []
        await type_text(pilot, "Fixed")
        assert not form.query_one("#name-error").display  # typing clears the message about that field
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        assert stored_names() == []


async def test_edit_changes_the_account(app):
    account_id = create_account("Acme Ltd", owner="bob", annual_revenue="1250000")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, AccountForm)
        assert form.query_one("#annual_revenue").value == "1,250,000.00"
        await pilot.press("tab", "ctrl+u")  # owner: clear it
        await type_text(pilot, "carol")
        await pilot.press("ctrl+s")
        await settle(pilot)
        detail = account_detail(account_id)
        assert (detail.owner, detail.version) == ("carol", 2)
        assert "carol" in screen_text(app)


async def test_edit_after_another_session_saved_keeps_the_entries(app):
    account_id = create_account("Acme Ltd", owner="bob")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e", "tab", "ctrl+u")
        await type_text(pilot, "mine")
        await asyncio.to_thread(edit_account, account_id, owner="theirs")  # another connection saves first
        await pilot.press("ctrl+s")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, AccountForm)
        assert "changed in another session" in screen_text(app)
        assert form.query_one("#owner").value == "mine"
        assert account_detail(account_id).owner == "theirs"
        await pilot.press("ctrl+s")  # saving again, knowingly, replaces their value
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        assert account_detail(account_id).owner == "mine"


async def test_filter_narrows_as_you_type_and_escape_clears_it(app):
    create_account("Alpha", owner="bob")
    create_account("Beta", owner="alice")
    create_account("Gamma", owner="Bobby")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "bob")
        assert table(app).shown_names == ["Alpha", "Gamma"]  # owner matches, ignoring case
        assert "2 of 3 accounts matching “bob” · by account ▲" in screen_text(app)
        await pilot.press("backspace", "backspace", "backspace")
        await type_text(pilot, "et")
        assert table(app).shown_names == ["Beta"]  # name matches
        await pilot.press("escape")
        assert table(app).shown_names == ["Alpha", "Beta", "Gamma"]
        assert app.focused is table(app)
        await pilot.press("slash")
        await type_text(pilot, "zzz")
        assert "No account matches “zzz”" in screen_text(app)
        await pilot.press("enter")  # keeps the filter, back to the list
        assert app.focused is table(app)
        assert table(app).filter_text == "zzz"


async def test_a_filter_key_filters_the_list_in_its_own_turn(app):
    """The frame after a key shows the list it makes: the filter does not wait for a message to reach the
    screen (a frame with the letter alone would come first, and the list 17 ms later)."""
    create_account("Alpha", owner="bob")
    create_account("Beta", owner="alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        screen.filter_input.insert_text_at_cursor("be")  # what the key handler does; no message handled yet
        assert table(app).filter_text == "be"
        assert table(app).shown_names == ["Beta"]
        assert "1 of 2 accounts matching “be”" in str(screen.status_line.render())
        await settle(pilot)
        assert "1 of 2 accounts matching “be”" in screen_text(app)


async def test_sort_by_columns_and_reverse(app):
    create_account("Alpha", owner="carol", segment="Key")
    create_account("Beta", owner="alice", segment="Transactional")
    create_account("Gamma", owner="bob", segment="Strategic")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert table(app).shown_names == ["Alpha", "Beta", "Gamma"]
        await pilot.press("s")  # owner
        assert table(app).shown_names == ["Beta", "Gamma", "Alpha"]
        assert "by owner ▲" in screen_text(app)
        await pilot.press("S")
        assert table(app).shown_names == ["Alpha", "Gamma", "Beta"]
        assert "by owner ▼" in screen_text(app)
        await pilot.press("s")  # segment, in the order of the segment scale
        assert table(app).shown_names == ["Beta", "Gamma", "Alpha"]


async def test_cursor_moves_and_stays_visible(app):
    for number in range(40):
        create_account(f"Account {number:02}")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "▶ Account 00" in screen_text(app)
        await pilot.press("j", "down", "j")
        assert table(app).selected.row.name == "Account 03"
        await pilot.press("k")
        assert table(app).selected.row.name == "Account 02"
        await pilot.press("end")
        assert table(app).selected.row.name == "Account 39"
        assert "▶ Account 39" in screen_text(app)  # scrolled into view
        await pilot.press("pageup")
        assert "▶ " + table(app).selected.row.name in screen_text(app)
        await pilot.press("home")
        assert "▶ Account 00" in screen_text(app)
        await pilot.press("pagedown")
        assert table(app).selected.row.name == f"Account {table(app).scrollable_content_region.height - 1:02}"


async def test_archive_hides_and_toggle_shows_archived(app):
    create_account("Alpha")
    beta = create_account("Beta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "x")
        dialog = app.screen
        assert isinstance(dialog, ArchiveDialog)
        assert "Archive “Beta”?" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert Account.get_by_id(beta).archived
        assert table(app).shown_names == ["Alpha"]
        assert "1 of 1 accounts · by account ▲ · 1 archived hidden (z)" in screen_text(app)
        await pilot.press("z")
        assert table(app).shown_names == ["Alpha", "Beta"]
        assert "⊘ Beta" in screen_text(app)  # marked without colour
        assert "2 of 2 accounts · by account ▲ · archived shown (z)" in screen_text(app)
        await pilot.press("j", "x")
        assert "Restore “Beta”" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert not Account.get_by_id(beta).archived


async def test_archive_can_be_cancelled(app):
    account_id = create_account("Alpha")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("x", "escape")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        assert not Account.get_by_id(account_id).archived


async def test_every_account_archived_says_how_to_see_them(app):
    archive_account(create_account("Alpha"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Every account is archived. Press z to show archived accounts" in screen_text(app)


async def test_hostile_names_render_literally_and_harmlessly(app):
    for name in HOSTILE_NAMES:
        create_account(name, owner=name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        listing = table(app)
        text = screen_text(app)
        for name in HOSTILE_NAMES:
            assert name in text, name
        assert f"{len(HOSTILE_NAMES)} of {len(HOSTILE_NAMES)} accounts" in text
        for row in range(len(HOSTILE_NAMES)):  # a click action hidden in markup would quit the app
            await pilot.click(AccountTable, offset=(4, 1 + row))
            assert listing.selected.row.name == listing.shown_names[row]
        await pilot.press("home", "e")
        assert f"Edit “{listing.selected.row.name}”" in screen_text(app)
        await pilot.press("escape", "x")
        assert f"“{listing.selected.row.name}”" in screen_text(app)
        await pilot.press("n", "slash")
        await type_text(pilot, "a[/]b")
        assert listing.shown_names == ["a[/]b"]
        assert "matching “a[/]b”" in screen_text(app)
        await pilot.press("escape")
        assert app.is_running


def test_control_characters_in_stored_text_never_reach_the_terminal():
    """The services refuse control characters, but a database written by something else may hold them."""
    row = AccountRow(uuid.uuid4(), "\x1b]0;X\x07evil\x1b[2J", "own\x9ber", "Key", "Retention", 3, 20, 4, 5, 0,
                     datetime(2026, 1, 2, 3, 4), False)
    [listed] = map(ListedAccount._make, prepare_rows([row]))
    assert listed.name == "␛]0;X␇evil␛[2J"
    assert "\x1b" not in listed.owner and "\x9b" not in listed.owner


async def test_control_characters_render_as_symbols(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = AccountRow(uuid.uuid4(), "\x1b]0;X\x07evil", "bob", "Key", "Retention", 3, 20, 4, 5, 0,
                         datetime(2026, 1, 2, 3, 4), False)
        table(app).set_rows(prepare_rows([row]))
        await pilot.pause()
        text = screen_text(app)
        assert "▶ ␛]0;X␇evil" in text
        assert "\x1b" not in text and "\x07" not in text


async def test_enter_opens_the_checklist_of_the_selected_account(app):
    create_account("Alpha")
    beta = create_account("Beta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "enter")
        await settle(pilot)
        assert app.current_account_id == beta
        assert app.current_mode == "checklist"


async def test_demo_portfolio_loads_with_one_key(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        await settle(pilot)  # the demo worker's success starts the reload
        assert len(stored_names()) == 36
        assert table(app).total_count == 36
        assert "36 of 36 accounts" in screen_text(app)
        assert accounts_screen(app).check_action("load_demo", ()) is False  # offered on an empty database only
        assert "D Demo" not in screen_text(app)


async def test_columns_fit_80_and_widen_on_a_wider_terminal(app):
    create_account("Müller Maschinenbau GmbH & Co. KG Niederlassung Süd", owner="a-very-long-owner-name",
                   stage="Relationship building", segment="Transactional")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        lines = screen_text(app).splitlines()
        assert len(lines) == 24
        header = next(line for line in lines if "Account▲" in line)
        for title in ("Owner", "Stage", "Progress", "Step", "Appr", "Late", "Last"):
            assert title in header
        row = next(line for line in lines if line.startswith("▶"))
        assert "Müller Maschinenbau …" in row  # cut with an ellipsis, never silently
        assert "Relations…" in row
        await pilot.resize_terminal(160, 24)
        await pilot.pause()
        wide = screen_text(app)
        for title in ("Segment", "Stage", "Approval", "Overdue", "Last activity"):
            assert title in wide
        assert "Müller Maschinenbau GmbH & Co. KG Niederlassung" in wide
        assert "Relationship building" in wide


def test_column_layout_uses_the_whole_width():
    for width in (60, 78, 80, 100, 120, 200):
        placed = fit_columns(width)
        assert sum(column.width for column in placed) + len(placed) - 1 + 2 == width
        assert placed[0].column.key == "name"


async def test_hundred_thousand_accounts_filter_and_sort_in_memory(app):
    """At 100,000 accounts the list holds plain rows and draws only the lines on screen."""
    rows = [AccountRow(uuid.uuid4(), f"Account {n:06}", f"owner{n % 97}", "Key", "Retention", n % 21, 20,
                       None, None, n % 3, datetime(2026, 1, 1), False) for n in range(100_000)]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table(app).set_rows(prepare_rows(rows))
        await pilot.press("slash")
        await type_text(pilot, "owner7")
        expected = sum(1 for n in range(100_000) if str(n % 97).startswith("7"))
        assert table(app).shown_count == expected
        assert f"{expected:,} of 100,000 accounts" in screen_text(app)
        await pilot.press("enter", "s", "s", "s", "s", "s", "s", "s")  # owner ... overdue, most first
        assert table(app).sort_column.key == "overdue"
        assert table(app).selected.row.name == "Account 000007"  # the cursor stays on its account
        await pilot.press("home")
        assert table(app).selected.row.overdue == 2
        assert len(table(app).children) == 0  # no widget per row


async def test_command_palette_offers_what_is_possible_and_sorts_by_any_column(app):
    create_account("Alpha", owner="zed")
    create_account("Beta", owner="amy")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        provider = AccountCommands(app.screen)
        titles = [hit.text async for hit in provider.discover()]
        assert "Edit account" in titles
        assert "Load demo portfolio" not in titles  # not on a database with accounts
        assert {f"Sort by {title}" for title in ("owner", "stage", "overdue", "last activity")} <= set(titles)
        [hit] = [hit async for hit in provider.search("sort by owner")]
        hit.command()
        await pilot.pause()
        assert table(app).shown_names == ["Beta", "Alpha"]
        assert "by owner ▲" in screen_text(app)


async def test_the_first_screenful_shows_before_the_whole_portfolio(app, monkeypatch):
    import acct_tui.screens.accounts as accounts_module

    for name in ("Delta", "Alpha", "Echo", "Charlie", "Bravo"):
        create_account(name)
    monkeypatch.setattr(accounts_module, "FIRST_PAGE", 2)
    shown: list[tuple[list[str], bool]] = []
    show_rows = AccountsScreen._show_rows

    def noted(screen, accounts, complete=True):
        shown.append(([ListedAccount._make(account).row.name for account in accounts], complete))
        return show_rows(screen, accounts, complete)

    monkeypatch.setattr(AccountsScreen, "_show_rows", noted)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown[0] == (["Alpha", "Bravo"], False)
        assert shown[-1] == (["Alpha", "Bravo", "Charlie", "Delta", "Echo"], True)
        assert "5 of 5 accounts" in screen_text(app)


async def test_coming_back_to_the_list_reloads_only_after_a_change(app, monkeypatch):
    account_id = create_account("Alpha")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = accounts_screen(app)
        loads = []
        start_reload = screen._start_reload
        monkeypatch.setattr(screen, "_start_reload", lambda: (loads.append("load"), start_reload()))
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert loads == []  # nothing changed: the rows shown are current
        app.open_account(account_id)
        await settle(pilot)
        await pilot.press("d")  # step 1 done, in this session
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert loads == ["load"]
        assert table(app).selected.row.done == 1


async def test_taking_back_typed_text_shows_what_typing_it_showed(app):
    """Backspace reuses the list kept for the shorter filter: the same rows, the cursor on the same account."""
    rows = [AccountRow(uuid.uuid4(), f"Account {n:04} {word}", "bob", "Key", "Retention", n % 21, 20, None, None,
                       0, datetime(2026, 1, 1), False) for n, word in enumerate(["alpha", "alps", "beta"] * 30)]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table(app).set_rows(prepare_rows(rows))
        await pilot.press("slash")
        await type_text(pilot, "al")
        typed = table(app).shown_names
        await pilot.press("enter", "down", "down", "slash", "end")  # to the third match, back to the filter
        selected = table(app).selected.row.name
        await type_text(pilot, "p")
        assert table(app).shown_names == typed  # "alp" matches what "al" did
        await type_text(pilot, "h")
        assert table(app).shown_names == [name for name in typed if "alph" in name]
        await pilot.press("backspace", "backspace")
        assert table(app).filter_text == "al"
        assert table(app).shown_names == typed
        assert table(app).selected.row.name == selected
        assert f"{len(typed)} of 90 accounts" in screen_text(app)
        await pilot.press("backspace", "backspace")
        assert table(app).filter_text == ""
        assert len(table(app).shown_names) == 90
        assert table(app).selected.row.name == selected


def test_rows_hold_what_the_query_reads_first_then_the_columns_by_name():
    row = AccountRow(uuid.uuid4(), "Acme", "Bob", "Key", "Retention", 5, 20, 6, 7, 2, datetime(2026, 1, 2), True, 7,
                     True)
    [listed] = prepare_rows([row])
    assert ListedAccount._fields[:len(QUERIED_FIELDS)] == QUERIED_FIELDS
    for field in ListedAccount._fields[len(QUERIED_FIELDS):]:
        assert ListedAccount._fields[getattr(account_table, field.upper())] == field
    view = ListedAccount._make(listed)
    assert view.row == row
    assert (view.search_text, view.owner_key, view.percent_done, view.waiting, view.rejected) == (
        "acme\nbob", "bob", 25.0, True, True)
