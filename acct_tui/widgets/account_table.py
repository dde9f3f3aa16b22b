"""The account list: a Line API widget that draws only the lines on screen from rows held in memory, so a
portfolio of 100,000 accounts filters and scrolls as quickly as one of 20 (one widget per row, or a
DataTable holding every row, takes seconds per keystroke at that size).

Rows arrive as plain tuples prepared off the UI thread (`prepare_rows`); the filter is a query
(`acct_tui.workflow.query`: text looked for in the pre-folded name and owner, plus terms such as
`owner:alice overdue`) tested in Python over those rows; sorting is Python's stable sort over them.
Results of earlier filters are kept, so taking back what was typed costs nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import compress, count, filterfalse, islice, repeat
from operator import is_, itemgetter
from typing import Callable, Collection, Iterable, Literal, NamedTuple, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from acct_tui.store.queries import AccountRow
from acct_tui.text import column_text, fit_cells
from acct_tui.workflow.fields import SEGMENTS, STAGES
from acct_tui.workflow.query import (
    LAST_ACTIVITY,
    OVERDUE,
    OWNER_KEY,
    QUERIED_FIELDS,
    AccountQuery,
    parse_query,
)

CURSOR_GLYPH = "▶"
ARCHIVED_GLYPH = "⊘"
ORDERS_KEPT = 4  # sorted copies of the loaded rows kept (each 0.8 MB at 100,000 accounts)
FILTERED_ROWS_KEPT = 300_000  # rows in the filter results kept for backspace (8 bytes each)
FILTERED_CURSORS_KEPT = 64  # where the cursor was in the rows of each recent query
CONFLICT_GLYPH = "≠"  # a sync found a value changed on both sides (the Conflicts view, `!`, settles it)
REJECTED_GLYPH = "✘"  # an approval was rejected: its steps wait to be redone (the checklist's mark too)
MARKER_WIDTH = 2  # the cursor glyph and a space: the selected row is visible without colour
NAME_COLUMN = "name"
LINES_KEPT = 500  # drawn rows kept to draw again (a filter taken back shows the same rows)
ROW_STYLES = ("account-table--archived", "account-table--cursor", "account-table--overdue")


class ListedAccount(NamedTuple):
    """One account of the list, by name: a view made when one is wanted (the selected account, a message).
    The list holds its rows as plain tuples of these fields, in this order (`prepare_rows`): first what a
    filter query reads (`acct_tui.workflow.query.QueryableAccount`), computed once per load since a query
    tests them on every row at each keystroke, then the account's columns as stored. At 100,000 accounts an
    object per row (a named tuple too: the garbage collector walks each one at every full pass) or display
    strings made ahead doubled the app's memory; what is shown is made from the row per line drawn."""

    search_text: str  # folded "name\nowner": what the filter looks in
    owner_key: str
    stage_key: str
    segment_key: str
    overdue: int
    rejected: bool  # an approval of its run was refused and waits for the covered steps again
    waiting: bool  # an approval of its run waits for a decision
    percent_done: float  # -1 without a run
    last_activity: datetime  # naive UTC
    id_hex: str  # the account's id as 32 hex digits
    stored_name: str  # user text as stored: shown through `name`
    stored_owner: str
    segment: str
    stage: str
    done: int
    total: int
    current_step: int | None
    next_approval: int | None
    archived: bool
    rejected_gate: int | None  # an approval sent back, whose steps wait to be redone
    conflicted: bool  # a sync left a conflict on one of its values

    @property
    def name(self) -> str:
        """The name as shown: without the characters terminals draw at different widths (`column_text`),
        so columns line up."""
        return column_text(self.stored_name)

    @property
    def owner(self) -> str:
        return column_text(self.stored_owner)

    @property
    def row(self) -> AccountRow:
        """The account's row as `account_rows` returns it."""
        return AccountRow(uuid.UUID(self.id_hex), self.stored_name, self.stored_owner, self.segment, self.stage,
                          self.done, self.total, self.current_step, self.next_approval, self.overdue,
                          self.last_activity, self.archived, self.rejected_gate, self.waiting)


Row = tuple  # one account of the list: `ListedAccount`'s fields, in its order
# Rows the list holds (every account, an order, a filter's matches) are tuples of rows, not lists: see
# `AccountQuery.filter` (the garbage collector stops walking a tuple of plain-valued rows after one look).
Rows = tuple[Row, ...]
# Positions in a row after the query's own (`acct_tui.workflow.query.SEARCH_TEXT`…), in the fields' order.
(ID_HEX, STORED_NAME, STORED_OWNER, SEGMENT, STAGE, DONE, TOTAL, CURRENT_STEP, NEXT_APPROVAL, ARCHIVED,
 REJECTED_GATE, CONFLICTED) = range(len(QUERIED_FIELDS), len(ListedAccount._fields))


def prepare_rows(rows: Iterable[AccountRow | tuple], conflicted: Collection[uuid.UUID] = ()) -> Rows:
    """The list's rows, everything per-row it needs computed once (in the loading worker, not on the UI
    thread), from rows in `AccountRow`'s field order (`account_list`'s plain tuples, or `AccountRow`s). They
    come in name order, which is also the list's default order; `conflicted` are the accounts a sync left
    a conflict on. Strings and numbers that repeat across rows (owners, stages, segments, progress) are kept
    once. Written for speed: it runs over every account."""
    conflicted = {account.hex for account in conflicted}
    folded: dict[str, tuple[str, str]] = {}  # owner, stage or segment -> (the one copy kept, folded)
    percents: dict[tuple[int, int], float] = {}
    listed: list[Row] = []
    append = listed.append
    for (account_id, name, owner, segment, stage, done, total, current_step, next_approval, overdue, activity,
         archived, rejected_gate, waiting) in rows:
        if account_id.__class__ is not str:
            account_id = account_id.hex
        owner, owner_key = folded.get(owner) or folded.setdefault(owner, (owner, owner.casefold()))
        segment, segment_key = folded.get(segment) or folded.setdefault(segment, (segment, segment.casefold()))
        stage, stage_key = folded.get(stage) or folded.setdefault(stage, (stage, stage.casefold()))
        progress = (done, total)
        percent = percents.get(progress)
        if percent is None:
            percent = percents[progress] = 100 * done / total if total else -1.0
        append((f"{name}\n{owner}".casefold(), owner_key, stage_key, segment_key, overdue,
                rejected_gate is not None, waiting, percent, activity, account_id, name, owner, segment, stage, done,
                total, current_step, next_approval, archived, rejected_gate, account_id in conflicted))
    return tuple(listed)


def owners_of(rows: Iterable[Row]) -> tuple[str, ...]:
    """The owners named in `rows`, each once, in alphabetical order (what completion offers)."""
    return tuple(sorted({row[STORED_OWNER] for row in rows if row[STORED_OWNER]}, key=str.casefold))


def _index_of(row: Row, rows: Rows, start: int, end: int, backwards: bool = False) -> int | None:
    """Where this very `row` is in `rows[start:end]` (looked for from `end` down with `backwards`), or None.
    Compared by identity (the list holds the loaded tuples themselves), which reads no row: comparing by
    value reads every row passed, and at 100,000 rows that was a few milliseconds of a keystroke."""
    if backwards:
        positions = range(min(end, len(rows)) - 1, start - 1, -1)
        return next(compress(positions, map(is_, map(rows.__getitem__, positions), repeat(row))), None)
    return next(compress(count(start), map(is_, islice(rows, start, end), repeat(row))), None)


def _local_time(utc: datetime) -> datetime:
    return utc.replace(tzinfo=timezone.utc).astimezone()


def _age(utc: datetime, now: datetime) -> str:
    """How long ago, in at most four characters: now, 5m, 3h, 12d, 6w, 2y."""
    seconds = max(0, (now - utc.replace(tzinfo=timezone.utc)).total_seconds())
    for unit, size in (("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit in "yw" else 1):
            return f"{int(seconds // size)}{unit}"
    return "now"


def _progress(row: ListedAccount, bar_width: int) -> str:
    if not row.total:
        return "no run"
    filled = round(bar_width * row.done / row.total)
    return f"{row.done:>2}/{row.total:<2} " + "█" * filled + "░" * (bar_width - filled)


def _step(row: ListedAccount) -> str:
    if row.current_step is not None:
        return str(row.current_step)
    return "✓" if row.total and row.done == row.total else "—"


def _name(account: ListedAccount) -> str:
    if account.conflicted:
        return f"{CONFLICT_GLYPH} {account.name}"
    if account.archived:
        return f"{ARCHIVED_GLYPH} {account.name}"
    if account.rejected_gate is not None:
        return f"{REJECTED_GLYPH} {account.name}"
    return account.name


def _approval(row: ListedAccount) -> str:
    if row.next_approval is None:
        return "—"
    return f"{row.next_approval}{REJECTED_GLYPH}" if row.next_approval == row.rejected_gate else str(row.next_approval)


def _position(value: str, order: tuple[str, ...]) -> int:
    return order.index(value) if value in order else len(order)


def _missing_last(number: int | None) -> tuple[bool, int]:
    return (number is None, number or 0)


Cell = Callable[[ListedAccount, bool, datetime], str]


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    short_title: str
    width: int  # full width
    short_width: int  # abbreviated width, used when the terminal is narrow
    cell: Cell  # (account, abbreviated, now) -> text
    sort_key: Callable[[Row], object] | None  # None: the order rows are loaded in (by name)
    align: Literal["left", "right"] = "left"
    descending_first: bool = False  # the direction most useful on the first press of "sort"


COLUMNS: tuple[Column, ...] = (
    Column(NAME_COLUMN, "Account", "Account", 30, 20, lambda a, short, now: _name(a), None),
    Column("owner", "Owner", "Owner", 16, 8, lambda a, short, now: a.owner or "—", itemgetter(OWNER_KEY)),
    Column("segment", "Segment", "Seg", 13, 6, lambda a, short, now: a.segment,
           lambda a: _position(a[SEGMENT], SEGMENTS)),
    Column("stage", "Stage", "Stage", 21, 10, lambda a, short, now: a.stage,
           lambda a: _position(a[STAGE], STAGES)),
    Column("progress", "Progress", "Progress", 16, 11,
           lambda a, short, now: _progress(a, 5 if short else 10),
           lambda a: a[DONE] / a[TOTAL] if a[TOTAL] else -1.0),
    Column("step", "Step", "Step", 4, 4, lambda a, short, now: _step(a),
           lambda a: _missing_last(a[CURRENT_STEP]), align="right"),
    Column("approval", "Approval", "Appr", 8, 4,
           lambda a, short, now: _approval(a),
           lambda a: _missing_last(a[NEXT_APPROVAL]), align="right"),
    Column("overdue", "Overdue", "Late", 7, 4, lambda a, short, now: str(a.overdue) if a.overdue else "·",
           itemgetter(OVERDUE), align="right", descending_first=True),
    Column("activity", "Last activity", "Last", 16, 4,
           lambda a, short, now: _age(a.last_activity, now) if short
           else _local_time(a.last_activity).strftime("%Y-%m-%d %H:%M"),
           itemgetter(LAST_ACTIVITY), descending_first=True),
)
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}
# Which columns stay when the terminal is narrow, most important first (the name is always shown), and
# which are widened first when there is room to spare.
KEEP_ORDER = ("name", "progress", "step", "owner", "approval", "overdue", "stage", "activity", "segment")
WIDEN_ORDER = ("name", "progress", "stage", "owner", "activity", "segment", "approval", "overdue")


@dataclass(frozen=True, slots=True)
class PlacedColumn:
    column: Column
    width: int
    short: bool


def fit_columns(width: int, wanted: Collection[str] = tuple(COLUMN_BY_KEY)) -> list[PlacedColumn]:
    """Choose among the `wanted` columns (the name is always shown) and their widths for `width` cells:
    abbreviated columns in order of importance while they fit, then each widened (in `WIDEN_ORDER`) while
    that fits, then the rest of the line to the name."""
    available = width - MARKER_WIDTH
    chosen = {NAME_COLUMN: COLUMN_BY_KEY[NAME_COLUMN].short_width}
    used = chosen[NAME_COLUMN]
    for key in KEEP_ORDER[1:]:
        if key not in wanted:
            continue
        needed = COLUMN_BY_KEY[key].short_width + 1
        if used + needed <= available:
            chosen[key] = COLUMN_BY_KEY[key].short_width
            used += needed
    for key in WIDEN_ORDER:
        if key in chosen:
            extra = COLUMN_BY_KEY[key].width - chosen[key]
            if used + extra <= available:
                chosen[key] += extra
                used += extra
    chosen[NAME_COLUMN] += max(0, available - used)
    return [
        PlacedColumn(column, chosen[column.key], chosen[column.key] < column.width and column.key != NAME_COLUMN)
        for column in COLUMNS
        if column.key in chosen
    ]


class AccountTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Accounts, one per line, under a header line that stays put while the rows scroll."""

    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Open the account's checklist", id="accounts.open"),
        Binding("down,j", "cursor_down", "Down", show=False, id="accounts.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="accounts.up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="accounts.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="accounts.page_up"),
        Binding("home", "first", "First account", show=False, id="accounts.first"),
        Binding("end", "last", "Last account", show=False, id="accounts.last"),
    ]

    COMPONENT_CLASSES = {
        "account-table--header",
        "account-table--cursor",
        "account-table--archived",
        "account-table--overdue",
        "account-table--hint",
    }

    # The look that makes the list usable at all lives with the widget: the cursor row is reversed and
    # bold (and marked with a glyph), so it shows with NO_COLOR too.
    DEFAULT_CSS = """
    AccountTable {
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        & > .account-table--header { text-style: bold underline; }
        & > .account-table--cursor { text-style: bold reverse; }
        & > .account-table--archived { text-style: dim italic; }
        & > .account-table--overdue { text-style: bold; color: $text-error; }
        & > .account-table--hint { color: $text-muted; }
    }
    """

    class Highlighted(Message):
        """The cursor moved to another account (None: the list shows no account)."""

        def __init__(self, table: AccountTable, account: ListedAccount | None) -> None:
            super().__init__()
            self.table = table
            self.account = account

        @property
        def control(self) -> AccountTable:
            return self.table

    class Opened(Message):
        """Enter (or a double click) on an account."""

        def __init__(self, table: AccountTable, account: ListedAccount) -> None:
            super().__init__()
            self.table = table
            self.account = account

        @property
        def control(self) -> AccountTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._by_name: Rows = ()  # every loaded account, in name order
        self._candidates: Rows = ()  # in sort order, archived ones only when shown
        self._shown: Rows = ()  # the candidates that pass the filter
        self._shown_query = AccountQuery()  # the filter `_shown` was computed for
        self._filtered: dict[AccountQuery, Rows] = {}  # earlier results over `_candidates`
        # The selected row and the cursor when each query's rows were shown last: backspace finds the cursor
        # without looking through tens of thousands of rows for the account.
        self._cursor_in: dict[AccountQuery, tuple[Row | None, int]] = {}
        self._orders: dict[tuple[str, bool, bool], Rows] = {}  # (column, descending, archived)
        self._active_count = 0
        self._cursor = 0
        self._selected: Row | None = None
        self._filter = ""
        self.show_archived = False
        self.sort_column: Column = COLUMN_BY_KEY[NAME_COLUMN]
        self.sort_descending = False
        self.column_keys: tuple[str, ...] = tuple(COLUMN_BY_KEY)  # the columns chosen (those that fit show)
        self.query_problems: tuple[str, ...] = ()  # filter terms left out, in words
        self.empty_message = ""
        self._layout_width = -1
        self._layout: list[PlacedColumn] = []
        # Drawn rows by row (its id, and whether it is the cursor's): (row, time-dependent text, line); holding
        # the row keeps its id its own. Valid while the styles and columns they were drawn with hold.
        self._drawn: dict[tuple[int, bool], tuple[Row, str, Strip]] = {}
        self._drawn_with: tuple[object, ...] = ()
        self._base_style = Style()
        self._row_styles: tuple[Style, ...] = ()
        self._now = datetime.now(timezone.utc)
        self._hint: tuple[tuple[object, ...], list[Strip]] = ((), [])

    # What the screen reads --------------------------------------------------------------------------

    @property
    def total_count(self) -> int:
        """Accounts loaded, archived ones included."""
        return len(self._by_name)

    @property
    def active_count(self) -> int:
        return self._active_count

    @property
    def shown_count(self) -> int:
        return len(self._shown)

    @property
    def filter_text(self) -> str:
        return self._filter

    @property
    def selected(self) -> ListedAccount | None:
        row = self._cursor_row
        return None if row is None else ListedAccount._make(row)

    @property
    def _cursor_row(self) -> Row | None:
        return self._shown[self._cursor] if self._shown else None

    @property
    def shown_names(self) -> list[str]:
        """The names in the order shown."""
        return [row[STORED_NAME] for row in self._shown]

    # What the screen changes ------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[Row], select: uuid.UUID | None = None) -> None:
        """Show freshly loaded rows (`prepare_rows`, in name order). The cursor moves to the account
        `select`, else stays on the account it was on when that is still shown."""
        wanted = select.hex if select else (self._selected[ID_HEX] if self._selected else None)
        self._selected = next((row for row in rows if row[ID_HEX] == wanted), None)
        self._by_name = tuple(rows)
        self._orders.clear()
        self._active_count = sum(1 for row in rows if not row[ARCHIVED])
        self._sort()

    def set_filter(self, text: str) -> None:
        self._filter = text
        self._apply_filter()

    def set_show_archived(self, show: bool) -> None:
        self.show_archived = show
        self._sort()

    def set_columns(self, keys: Collection[str]) -> None:
        """Show these columns (in their usual order, as many as fit); the name is always shown."""
        self.column_keys = tuple(key for key in COLUMN_BY_KEY if key in keys or key == NAME_COLUMN)
        self._layout_width = -1
        self.refresh()

    def apply_view(self, filter_text: str, sort_key: str, descending: bool, show_archived: bool,
                   columns: Collection[str]) -> None:
        """Switch to a saved view at once: one sort and one filter pass, whatever changes."""
        self._filter = filter_text
        self.show_archived = show_archived
        self.sort_column = COLUMN_BY_KEY.get(sort_key, COLUMN_BY_KEY[NAME_COLUMN])
        self.sort_descending = descending
        self.set_columns(columns)
        self._sort()

    def sort_by(self, key: str, descending: bool | None = None) -> None:
        """Sort by the column `key`; without a direction, the one most useful for that column."""
        self.sort_column = COLUMN_BY_KEY[key]
        self.sort_descending = self.sort_column.descending_first if descending is None else descending
        self._sort()

    def reverse_sort(self) -> None:
        self.sort_descending = not self.sort_descending
        self._sort()

    def _sort(self) -> None:
        """Order by the current column; the sort is stable, so ties stay in name order either way. The last
        few orders are kept until new rows arrive: switching between saved views then sorts nothing."""
        order = (self.sort_column.key, self.sort_descending, self.show_archived)
        if order not in self._orders:
            accounts = self._by_name if self.show_archived else tuple(filterfalse(itemgetter(ARCHIVED), self._by_name))
            if self.sort_column.sort_key is None:
                self._orders[order] = accounts[::-1] if self.sort_descending else accounts
            else:
                self._orders[order] = tuple(sorted(accounts, key=self.sort_column.sort_key,
                                                   reverse=self.sort_descending))
            if len(self._orders) > ORDERS_KEPT:
                del self._orders[next(iter(self._orders))]
        self._candidates = self._orders[order]
        self._filtered.clear()
        self._cursor_in.clear()
        self._shown_query = AccountQuery()
        self._shown = self._candidates
        self._apply_filter()

    def _apply_filter(self) -> None:
        query = parse_query(self._filter, datetime.now(timezone.utc).replace(tzinfo=None))  # rows hold naive UTC
        self.query_problems = query.problems
        earlier, earlier_query = self._shown, self._shown_query
        if len(self._cursor_in) > FILTERED_CURSORS_KEPT:
            self._cursor_in.clear()
        self._cursor_in[earlier_query] = (self._selected, self._cursor)
        self._shown, self._shown_query = self._matches(query), query
        # Where the selected account can be now: where it was when this query's rows were shown last (typed
        # text taken back), else a narrower query keeps the rows it had before the cursor (or fewer), a wider
        # one keeps every row it had, in the same order.
        selected, cursor = self._cursor_in.get(query, (None, -1))
        if selected is not None and selected is self._selected and cursor < len(self._shown) \
                and self._shown[cursor] is selected:
            self._cursor = cursor
        elif not (self._cursor < len(earlier) and earlier[self._cursor] is self._selected):
            self._restore_cursor(0, len(self._shown))
        elif query.narrows(earlier_query):
            # At or before the cursor, and the nearer it the more rows still match: looked for from there.
            self._restore_cursor(0, self._cursor + 1, backwards=True)
        elif earlier_query.narrows(query):
            self._restore_cursor(self._cursor, len(self._shown))
        else:
            self._restore_cursor(0, len(self._shown))
        self.virtual_size = Size(self.size.width, len(self._shown) + 1)
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.Highlighted(self, self.selected))

    def _matches(self, query: AccountQuery) -> Rows:
        """The candidates that match `query`. Results are kept until the candidates change, so taking back
        what was typed (backspace) filters nothing; a new query is tested only over the shortest result shown
        or kept that it narrows (typing on in a word), else over every candidate."""
        if query.is_empty:
            return self._candidates
        matches = self._filtered.get(query)
        if matches is None:
            bases = [kept for earlier, kept in (*self._filtered.items(), (self._shown_query, self._shown))
                     if query.narrows(earlier)]
            matches = query.filter(min(bases, key=len, default=self._candidates))
            if query.is_timed:  # not-touched:N is tested anew each time, against the time then
                return matches
            self._filtered[query] = matches
            kept_rows = sum(map(len, self._filtered.values()))
            while kept_rows > FILTERED_ROWS_KEPT and len(self._filtered) > 1:
                kept_rows -= len(self._filtered.pop(next(iter(self._filtered))))
        else:
            self._filtered[query] = self._filtered.pop(query)  # most recently used last
        return matches

    def _restore_cursor(self, start: int, end: int, backwards: bool = False) -> None:
        """Keep the cursor on the selected account when it is still shown (looked for between `start` and
        `end`, from the end with `backwards`), else at the same position."""
        if self._selected is None:
            self._cursor = 0
        elif self._shown_query.matches(self._selected) and (
                found := _index_of(self._selected, self._shown, start, end, backwards)) is not None:
            self._cursor = found
        else:
            self._cursor = max(0, min(self._cursor, len(self._shown) - 1))
        self._selected = self._cursor_row

    # Moving ----------------------------------------------------------------------------------------

    @property
    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_cursor(self, index: int) -> None:
        if not self._shown:
            return
        index = max(0, min(index, len(self._shown) - 1))
        if index != self._cursor:
            self._cursor = index
            self._selected = self._cursor_row
            self.post_message(self.Highlighted(self, self.selected))
        self._scroll_cursor_into_view()
        self.refresh()

    def _scroll_cursor_into_view(self) -> None:
        top = round(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + self._page_rows:
            self.scroll_to(y=self._cursor - self._page_rows + 1, animate=False)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_page_down(self) -> None:
        self.move_cursor(self._cursor + self._page_rows)

    def action_page_up(self) -> None:
        self.move_cursor(self._cursor - self._page_rows)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._shown) - 1)

    def action_open(self) -> None:
        if self.selected is not None:
            self.post_message(self.Opened(self, self.selected))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return self.selected is not None or None
        return True

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        index = round(self.scroll_y) + offset.y - 1
        if index < len(self._shown):
            self.move_cursor(index)
            if event.chain == 2:
                self.action_open()

    # Drawing ---------------------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self._shown) + 1)
        self._scroll_cursor_into_view()

    def _columns(self) -> list[PlacedColumn]:
        width = self.scrollable_content_region.width
        if width != self._layout_width:
            self._layout_width = width
            self._layout = fit_columns(width, self.column_keys)
        return self._layout

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every line is drawn with, worked out once a frame: Textual computes a widget's style anew at
        # each reading, which cost as much as drawing the rows.
        self._base_style = self.rich_style
        self._row_styles = tuple(map(self.get_component_rich_style, ROW_STYLES))
        self._now = datetime.now(timezone.utc)
        drawn_with = (self._base_style, self._row_styles, self.scrollable_content_region.width, self._columns())
        if drawn_with != self._drawn_with or len(self._drawn) > LINES_KEPT:
            self._drawn_with = drawn_with
            self._drawn.clear()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self._base_style
        if y == 0:
            return self._header_line(width, base)
        if not self._shown:
            return self._hint_line(y - 1, width, base)
        index = round(self.scroll_y) + y - 1
        if index >= len(self._shown):
            return Strip.blank(width, base)
        return self._row_line(self._shown[index], index == self._cursor, width)

    def _header_line(self, width: int, base: Style) -> Strip:
        style = base + self.get_component_rich_style("account-table--header")
        arrow = "▼" if self.sort_descending else "▲"
        cells = []
        for placed in self._columns():
            title = placed.column.short_title if placed.short else placed.column.title
            if placed.column is self.sort_column:
                title = f"{title}{arrow}"
            cells.append(fit_cells(title, placed.width, placed.column.align))
        return Strip([Segment(" " * MARKER_WIDTH + " ".join(cells), style)]).adjust_cell_length(width, base)

    def _row_line(self, row: Row, is_cursor: bool, width: int) -> Strip:
        """The row's line, drawn again only when it would look different: the age in a narrow "last
        activity" column is the one part that changes with time alone."""
        columns = self._columns()
        aged = next((_age(row[LAST_ACTIVITY], self._now) for placed in columns
                     if placed.short and placed.column.key == "activity"), "")
        kept = self._drawn.get((id(row), is_cursor))
        if kept is not None and kept[1] == aged:
            return kept[2]
        account = ListedAccount._make(row)
        archived_style, cursor_style, overdue_style = self._row_styles
        style = self._base_style
        if account.archived:
            style += archived_style
        if is_cursor:
            style += cursor_style
        segments = [Segment(f"{CURSOR_GLYPH} " if is_cursor else " " * MARKER_WIDTH, style)]
        for number, placed in enumerate(columns):
            text = fit_cells(placed.column.cell(account, placed.short, self._now), placed.width,
                             placed.column.align)
            cell_style = style
            if placed.column.key == "overdue" and account.overdue:
                cell_style += overdue_style
            if number:
                segments.append(Segment(" ", style))
            segments.append(Segment(text, cell_style))
        line = Strip(segments).adjust_cell_length(width, style)
        self._drawn[id(row), is_cursor] = (row, aged, line)
        return line

    def _hint_line(self, line: int, width: int, base: Style) -> Strip:
        """The empty list explains itself (what to press), wrapped to the width (once, not for each line)."""
        if not self.empty_message:
            return Strip.blank(width, base)
        style = base + self.get_component_rich_style("account-table--hint")
        wrapped_for = (self.empty_message, width, base, style)
        if self._hint[0] != wrapped_for:
            lines = Text(self.empty_message, style=style).wrap(self.app.console, max(10, width - MARKER_WIDTH * 2))
            # Rendered text can carry segments without a style; colour filters (NO_COLOR) need one on each.
            self._hint = (wrapped_for, [
                Strip([Segment(" " * MARKER_WIDTH, base),
                       *Strip(text.render(self.app.console)).apply_style(style)]).adjust_cell_length(width, base)
                for text in lines])
        lines = self._hint[1]
        if line == 0 or line > len(lines):
            return Strip.blank(width, base)
        return lines[line - 1]
