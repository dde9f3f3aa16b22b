"""A bracketed paste is taken whole or refused whole, never reordered and never partly applied: read from the
terminal as one paste (Textual's parser split it at an Escape), then inserted or refused with a message."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st
from textual import events
from textual.widgets import Input

from acct_tui.app import AcctApp
from acct_tui.screens.account_form import AccountForm
from acct_tui.store.db import close_database, open_database
from acct_tui.store import queries, services
from acct_tui.store.models import ApprovalDecision
from acct_tui.store.queries import account_rows
from acct_tui.terminal_input import PASTE_END, PASTE_START, WholePasteParser
from test_crash import Terminal
from tests.bursts import read
from tests.test_approvals_screen import open_queue, submit_status_approval
from tests.ui_support import settle

SIZE = (80, 24)


def pasted(text: str) -> str:
    return PASTE_START + text + PASTE_END


def notices(app: AcctApp) -> list[str]:
    return [notification.message for notification in app._notifications]


def parsed(*reads: str) -> list[tuple[str, str]]:
    parser = WholePasteParser()
    return [
        ("paste", event.text) if isinstance(event, events.Paste) else ("key", event.key)
        for chunk in reads
        for event in parser.feed(chunk)
        if isinstance(event, (events.Paste, events.Key))
    ]


# Reading the terminal --------------------------------------------------------------------------------------

def test_a_paste_with_escape_and_line_breaks_is_one_paste_between_the_keys_around_it():
    assert parsed("a" + pasted("xx\x1byy\rzz\x1b[A") + "\x1b[B") == [
        ("key", "a"), ("paste", "xx\x1byy\rzz\x1b[A"), ("key", "down")]


@given(
    st.text(alphabet="ab\x1b[]~012\r\n\t\x00é", max_size=40).filter(lambda text: PASTE_END not in text + "\x1b"),
    st.lists(st.integers(min_value=0, max_value=60), max_size=4),
)
def test_a_paste_split_across_reads_anywhere_arrives_whole(text, cuts):
    data = "q" + pasted(text) + "z"
    bounds = sorted({min(cut, len(data)) for cut in cuts} | {0, len(data)})
    reads = [data[start:end] for start, end in zip(bounds, bounds[1:]) if end > start]
    assert parsed(*reads) == [("key", "q"), ("paste", text.replace("\x00", "")), ("key", "z")]


# Pasting into the app --------------------------------------------------------------------------------------

async def test_a_name_pasted_in_the_read_that_opens_the_form_goes_into_it(db, db_path):
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        read(app, "a" + pasted("Acme Ltd\r") + "\tbob\x13")  # \r: the line break a copied line brings along
        await settle(pilot)
        assert [(row.name, row.owner) for row in account_rows()] == [("Acme Ltd", "bob")]


async def test_a_paste_with_escape_is_refused_whole_with_a_message(db, db_path):
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        read(app, "a" + pasted("xx\x1byy\rq"))
        await settle(pilot)
        assert isinstance(app.screen, AccountForm)
        assert app.screen.query_one("#name", Input).value == ""
        assert notices(app) == [
            "Nothing was pasted: the text contains terminal control characters (such as Escape)."]
        read(app, "Acme\x13")
        await settle(pilot)
        assert [row.name for row in account_rows()] == ["Acme"]


async def test_several_lines_pasted_into_a_one_line_field_are_refused_not_cut(db, db_path):
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        read(app, "a" + pasted("Acme\r\nLtd"))
        await settle(pilot)
        assert app.screen.query_one("#name", Input).value == ""
        assert notices(app) == ["Nothing was pasted: this field takes one line and the text has 2."]


async def test_notes_take_a_pasted_text_whole_with_its_line_breaks(db, db_path):
    account = services.create_account("Acme")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        read(app, "\r\r" + pasted("Met the CFO.\rNext: pricing.\r\n\tDone"))  # open the checklist, its form
        await settle(pilot)
        read(app, "\x1b")  # leave the form: the notes are saved
        await settle(pilot)
        notes = queries.run_view(account).step(1).field("notes").value
        assert notes == "Met the CFO.\nNext: pricing.\n\tDone"


async def test_a_line_break_after_escape_in_a_paste_never_submits_a_dialog(db, db_path):
    submit_status_approval("Beta", "bob")
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_queue(pilot)
        await pilot.press("n")
        await settle(pilot)
        read(app, pasted("ok\x1b\rreally"))  # Textual made the part after Escape keys: ^ enter r e...
        await settle(pilot)
        assert ApprovalDecision.select().count() == 0
        assert app.screen.query_one("#comment-input", Input).value == ""
        read(app, "Redo it\r")
        await settle(pilot)
        assert ApprovalDecision.get().comment == "Redo it"


def test_the_real_app_in_a_terminal_takes_a_paste_whole_or_not_at_all(db_path):
    """The terminal's bytes through the app's own driver: one write holding two pastes and keys."""
    terminal = Terminal(db_path)
    try:
        terminal.read_until(b"No accounts yet")
        os.write(terminal.fd, b"a" + pasted("Ac\x1bme\r").encode() + pasted("Acme Ltd").encode() + b"\tbob\x13")
        terminal.read_until(b"1 of 1 accounts")
        os.write(terminal.fd, b"\x11")  # ctrl+q
        terminal.wait_for_exit()
    finally:
        terminal.close()
    open_database(db_path)
    try:
        assert [(row.name, row.owner) for row in account_rows()] == [("Acme Ltd", "bob")]
    finally:
        close_database()
