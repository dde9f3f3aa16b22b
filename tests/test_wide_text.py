"""Emoji with skin tones, joined emoji, wide (CJK) and filler characters keep every column of the account
list aligned at 80 columns, in the app and in the CLI's plain `accounts list`.

Terminals disagree on how wide some characters are drawn, so measuring alone cannot align them: tmux 3.3a
(measured) draws a skin tone as two more cells and the Hangul filler as two cells, where Rich counts none,
and draws `❤` + VS16 as one cell, where Rich counts two. `terminal_cells` below is tmux's measure; the rows
must line up by it and by Rich's alike.
"""

from __future__ import annotations

import json

from processes import acct
from rich.cells import cell_len

from acct_tui.app import AcctApp
from acct_tui.store.services import create_account
from tests.ui_support import screen_text, settle

SIZE = (80, 24)
OWNER = "Ωwner"
NAMES = ("Café 👍🏽 Team", "Fam 👨\u200d👩\u200d👧 ly", "❤\ufe0f Hearts", "\u3164Filler\u3164co",
         "漢字の会社 株式会社 東京支店 営業部",
         "👋🏿👋🏿👋🏿👋🏿👋🏿👋🏿👋🏿👋🏿👋🏿👋🏿👋🏿👋🏿👋🏿", "Zero\u200bwidth\u2060joiner", "Plain Name")


def terminal_cells(text: str) -> int:
    """Cells as tmux 3.3a draws `text`."""
    cells = cell_len(text)
    cells += 2 * sum(1 for character in text if "\U0001f3fb" <= character <= "\U0001f3ff")  # skin tones
    cells += 2 * text.count("\u3164")  # Hangul filler
    cells -= text.count("❤\ufe0f")  # a narrow character does not widen with VS16 there
    return cells


def owner_columns(lines: list[str]) -> set[tuple[int, int]]:
    """Where the owner column starts on each account row, by Rich's measure and by the terminal's."""
    rows = [line for line in lines if OWNER in line]
    assert len(rows) == len(NAMES)
    return {(cell_len(row[:row.index(OWNER)]), terminal_cells(row[:row.index(OWNER)])) for row in rows}


async def test_account_list_columns_line_up_on_any_terminal(db, db_path):
    for name in NAMES:
        create_account(name, owner=OWNER)
    app = AcctApp(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        lines = screen_text(app).splitlines()
    rows = [line for line in lines if OWNER in line]
    assert len(owner_columns(lines)) == 1, rows
    assert all(terminal_cells(row.rstrip("\n")) == 80 for row in rows)
    assert all(row.rstrip().endswith("now") for row in rows)  # the last column is there on every row
    assert any("Café 👍 Team" in row for row in rows) and any("漢字の会社" in row for row in rows)


def test_plain_accounts_list_aligns_wide_characters(db, db_path):
    for name in NAMES:
        create_account(name, owner=OWNER)
    listed = acct("accounts", "list", db=db_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(owner_columns(lines)) == 1, lines
    assert len({terminal_cells(line[:line.index("/20")]) for line in lines}) == 1
    stored = json.loads(acct("accounts", "list", "--json", db=db_path).stdout)
    assert sorted(row["name"] for row in stored) == sorted(NAMES)  # only the display leaves those characters out
