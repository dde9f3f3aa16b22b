"""The account list's fast paths at 80x24: a filter typed on is tested only over what the shorter one matched,
results are kept for backspace, and drawn rows are kept to draw again. Whatever path a keystroke takes, the
list shows exactly what a fresh filter over every account shows, with the cursor on the same account."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acct_tui.app import AcctApp
import acct_tui.widgets.account_table as account_table
from acct_tui.store.queries import AccountRow
from acct_tui.widgets.account_table import AccountTable, prepare_rows
from acct_tui.workflow.fields import SEGMENTS, STAGES
from acct_tui.workflow.query import parse_query
from tests.ui_support import screen_text, settle, type_text

SIZE = (80, 24)
NOW = datetime(2026, 6, 30, 12, 0)
OWNERS = ("alice", "alina", "al", "bob", "Ana Lima", "")
WORDS = ("alpha", "alps", "beta", "north", "northwind", "zeta")


def synthetic_rows(count: int, seed: int = 7) -> list[AccountRow]:
    """Accounts of every kind a query tells apart, in name order (as the store hands them to the list)."""
    rng = random.Random(seed)
    rows = []
    for number in range(count):
        total = rng.choice((0, 20))
        done = rng.randint(0, total)
        rejected_gate = rng.choice((None, None, None, 5))
        rows.append(AccountRow(
            uuid.UUID(int=rng.getrandbits(128)), f"{rng.choice(WORDS)} {number:03}", rng.choice(OWNERS),
            rng.choice(SEGMENTS), rng.choice(STAGES), done, total, None, None, rng.choice((0, 0, 1, 3)),
            NOW - timedelta(days=rng.randint(0, 90)), rng.random() < 0.1, rejected_gate, rng.random() < 0.2))
    return sorted(rows, key=lambda row: row.name.casefold())


ROWS = prepare_rows(synthetic_rows(300))
# Texts typed on and taken back, letter by letter: plain words and every kind of term, including those whose
# meaning changes as they are typed (progress:<5 then progress:<50 matches more) or with the time.
SCRIPTS = ("owner:alina", "stage:onboarding segment:k", "alp -beta", "progress:<50", "-owner:alin",
           "northwind owner:al overdue", "not-touched:30 al", 'owner:"ana lima" waiting', "segment:key -rejected")


@pytest.mark.parametrize(("earlier", "later", "narrows"), [
    ("al", "alp", True),
    ("al", "al beta", True),
    ("al beta", "alps beta", True),
    ("al", "", False),
    ("owner:al", "owner:ali", True),  # any part of the owner: a longer part matches fewer
    ("owner:al", "owner:al overdue", True),
    ("stage:on", "stage:onb", True),  # the start of the stage
    ("segment:k", "segment:ke", True),
    ("owner:ali", "owner:al", False),
    ("-owner:al", "-owner:ali", False),  # negated: a longer value excludes fewer
    ("progress:<5", "progress:<50", False),  # not typing on: another number
    ("progress:>5", "progress:>50", False),
    ("not-touched:30", "not-touched:30 al", False),  # more accounts become untouched as time passes
    ("owner:al", "stage:al", False),
    ("overdue", "overdue waiting", True),
    ("overdue", "-overdue", False),
])
def test_a_query_narrows_another_only_when_it_can_match_no_other_account(earlier, later, narrows):
    assert parse_query(later, NOW).narrows(parse_query(earlier, NOW)) is narrows


term_texts = st.lists(st.sampled_from([*WORDS, "al", "a", "owner:a", "owner:al", "owner:ali", "owner:b",
                                       "stage:o", "stage:on", "stage:onb", "segment:k", "segment:key",
                                       "-owner:al", "-al", "overdue", "-overdue", "waiting", "rejected",
                                       "progress:<5", "progress:<50", "progress:>20", "not-touched:30"]),
                      max_size=4).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(earlier=term_texts, later=term_texts)
def test_a_narrowing_query_over_the_earlier_matches_gives_what_it_gives_over_every_row(earlier, later):
    earlier_query, later_query = parse_query(earlier, NOW), parse_query(later, NOW)
    if later_query.narrows(earlier_query):
        assert later_query.filter(earlier_query.filter(ROWS)) == later_query.filter(ROWS)


def shown_ids(app: AcctApp) -> list[str]:
    return [row[account_table.ID_HEX] for row in table(app)._shown]


def fresh_ids(app: AcctApp, text: str) -> list[str]:
    """What a fresh filter over every account shown gives (archived ones hidden, in name order)."""
    candidates = [row for row in ROWS if not row[account_table.ARCHIVED]]
    query = parse_query(text, datetime.now(timezone.utc).replace(tzinfo=None))
    return [row[account_table.ID_HEX] for row in (query.filter(candidates) if not query.is_empty else candidates)]


def table(app: AcctApp) -> AccountTable:
    return app.screen.query_one(AccountTable)


@pytest.fixture
def app(db, db_path) -> AcctApp:
    return AcctApp(db_path)


async def show_rows(pilot) -> None:
    await settle(pilot)
    table(pilot.app).set_rows(ROWS)
    await pilot.pause()


async def test_typing_on_and_taking_back_terms_shows_what_a_fresh_filter_shows(app):
    async with app.run_test(size=SIZE) as pilot:
        await show_rows(pilot)
        await pilot.press("slash")
        for script in SCRIPTS[:3]:
            typed = ""
            for character in script:
                await type_text(pilot, character)
                typed += character
                assert shown_ids(app) == fresh_ids(app, typed), typed
            for _ in script:
                await pilot.press("backspace")
                typed = typed[:-1]
                assert shown_ids(app) == fresh_ids(app, typed), typed
        assert f"{len(fresh_ids(app, ''))} of {len(fresh_ids(app, ''))} accounts" in screen_text(app)


async def test_any_edit_of_the_filter_keeps_rows_and_the_highlighted_account_exact(app):
    """Random edits (typing on, backspace, replacing the text, sorting, showing archived accounts), each
    checked against a fresh filter; the highlighted account stays highlighted while it is shown."""
    rng = random.Random(11)
    async with app.run_test(size=SIZE) as pilot:
        await show_rows(pilot)
        screen = app.screen
        listed = table(app)
        text = ""
        for _ in range(160):
            action = rng.random()
            if action < 0.08:
                screen.sort_by(rng.choice(("owner", "progress", "name", "overdue")))
            elif action < 0.12:
                screen.action_toggle_archived()
            elif action < 0.20:
                listed.move_cursor(rng.randrange(max(1, listed.shown_count)))
            else:
                if action < 0.30:
                    text = rng.choice(SCRIPTS)[:rng.randint(0, 12)]
                elif action < 0.55 and text:
                    text = text[:-1]
                else:
                    script = next((s for s in SCRIPTS if s.startswith(text) and len(s) > len(text)),
                                  rng.choice(SCRIPTS))
                    text = script[:len(text) + 1] if script.startswith(text) else script[:1]
                highlighted = listed.selected
                screen.filter_input.value = text
                await pilot.pause()
                if highlighted is not None and highlighted.id_hex in shown_ids(app):
                    assert listed.selected.id_hex == highlighted.id_hex, text
            candidates = [row for row in ROWS if listed.show_archived or not row[account_table.ARCHIVED]]
            ordered = (sorted(candidates, key=listed.sort_column.sort_key, reverse=listed.sort_descending)
                       if listed.sort_column.sort_key else candidates[::-1] if listed.sort_descending else candidates)
            query = parse_query(text, datetime.now(timezone.utc).replace(tzinfo=None))
            expected = ordered if query.is_empty else query.filter(ordered)
            assert [row[account_table.ID_HEX] for row in listed._shown] == [row[account_table.ID_HEX]
                                                                            for row in expected], text


async def test_a_row_drawn_again_shows_its_age_now_and_the_cursor_where_it_is(app, monkeypatch):
    """Drawn rows are kept to draw again, but never shown stale: the age in the narrow "last activity"
    column follows the clock, the cursor glyph follows the cursor, and a new theme redraws every row."""
    clock = [datetime.now(timezone.utc)]

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return clock[0]

    monkeypatch.setattr(account_table, "datetime", Clock)
    activity = clock[0].replace(tzinfo=None) - timedelta(seconds=30)
    rows = prepare_rows([AccountRow(uuid.uuid4(), f"Acme {n}", "bob", "Key", "Onboarding", 1, 20, 2, 5, 0,
                                    activity, False) for n in range(3)])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table(app).set_rows(rows)
        await pilot.pause()
        lines = [line for line in screen_text(app).splitlines() if "Acme" in line]
        assert lines[0].lstrip().startswith("▶ Acme 0") and all(line.rstrip().endswith("now") for line in lines)
        clock[0] += timedelta(minutes=5)
        await pilot.press("down")
        lines = [line for line in screen_text(app).splitlines() if "Acme" in line]
        assert lines[1].lstrip().startswith("▶ Acme 1") and not lines[0].lstrip().startswith("▶")
        assert all(line.rstrip().endswith("5m") for line in lines)
        before = list(table(app).render_line(2))
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        assert list(table(app).render_lines(table(app).size.region)[2]) != before


async def test_an_empty_list_says_why_on_every_line_it_needs(app):
    async with app.run_test(size=SIZE) as pilot:
        await show_rows(pilot)
        await pilot.press("slash")
        await type_text(pilot, "qqq")
        text = screen_text(app)
        assert "No account matches “qqq”. Press Escape to clear the filter." in " ".join(text.split())
        await pilot.press("backspace", "backspace", "backspace")
        assert shown_ids(app) == fresh_ids(app, "")


@pytest.mark.parametrize("narrower", ["-zzz", "-alpha", "-owner:bob", "-overdue"])
async def test_a_narrower_filter_keeps_the_highlighted_account_far_down_the_list(app, narrower):
    """The account is looked for at and before the cursor: where it stays (every row before it still
    matches: -zzz) and where it moves up."""
    async with app.run_test(size=SIZE) as pilot:
        await show_rows(pilot)
        listed = table(app)
        expected = fresh_ids(app, narrower)
        deep = next(index for index, row in enumerate(listed._shown)
                    if index > 150 and row[account_table.ID_HEX] in expected)
        listed.move_cursor(deep)
        highlighted = listed.selected.id_hex
        app.screen.filter_input.value = narrower
        await pilot.pause()
        assert shown_ids(app) == expected
        assert listed.selected.id_hex == highlighted
        assert listed._cursor == expected.index(highlighted)
