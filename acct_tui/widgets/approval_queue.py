"""The approval queue's list: two lines per pending approval, drawn with the Line API from the rows of the
pages loaded so far, so 13,918 approvals show as fast as 10 (an OptionList measured and built every one).

The screen loads the queue a page at a time (`acct_tui.store.queries.approval_queue` with a count) and hands
the pages over with `show` and `add_page`; a row the user scrolls or moves to before its page is there is
drawn blank and asked for with `PageWanted`. It looks and moves as the OptionList it replaces did: `▶` and
the cursor colours on the highlighted row, up and down wrap around, a page key moves a screenful.
"""

from __future__ import annotations

from typing import Sequence

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual

from acct_tui.store.queries import QueueItem
from acct_tui.text import printable
from acct_tui.widgets.step_form import local_time
from acct_tui.widgets.step_list import CURSOR

ROW_LINES = 2
OPTION, HIGHLIGHTED, HOVER = "queue-list--option", "queue-list--option-highlighted", "queue-list--option-hover"


def covers_text(item: QueueItem) -> str:
    return ", ".join(map(str, item.covers))


def queue_row(item: QueueItem) -> Content:
    """Two lines that never wrap (the list cuts them with …): the step number comes before the long title."""
    return Content.assemble(
        (printable(item.account_name, keep_newlines=False), "bold"),
        f" · step {item.step} · ",
        printable(item.title, keep_newlines=False),
        f"\n  submitted {local_time(item.submitted_at)} by ",
        printable(item.submitted_by or "—", keep_newlines=False),
        f" · covers {covers_text(item)}",
    )



class RowMessage(Message):
    """About the row `index` of a QueueList."""

    def __init__(self, queue_list: QueueList, index: int) -> None:
        super().__init__()
        self.queue_list = queue_list
        self.index = index

    @property
    def control(self) -> QueueList:
        return self.queue_list


class QueueList(ScrollView, can_focus=True):
    """`count` pending approvals, of which the rows of the pages loaded are known."""

    BINDINGS = [
        Binding("down", "cursor_down", "Down", show=False, id="queue.down"),
        Binding("up", "cursor_up", "Up", show=False, id="queue.up"),
        Binding("home", "first", "First", show=False, id="queue.first"),
        Binding("end", "last", "Last", show=False, id="queue.last"),
        Binding("pagedown", "page_down", "Page Down", show=False, id="queue.page_down"),
        Binding("pageup", "page_up", "Page Up", show=False, id="queue.page_up"),
        Binding("enter", "select", "Read", show=False, tooltip="Go into the approval's detail to scroll it",
                id="approvals.read"),
    ]
    COMPONENT_CLASSES = {OPTION, HIGHLIGHTED, HOVER}
    # The OptionList's look, which this list replaces.
    DEFAULT_CSS = """
    QueueList {
        height: auto;
        max-height: 100%;
        color: $foreground;
        overflow-x: hidden;
        background: $surface;
        & > .queue-list--option-highlighted {
            color: $foreground;
            background: $block-cursor-blurred-background;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > .queue-list--option-highlighted {
                color: $block-cursor-foreground;
                background: $block-cursor-background;
                text-style: $block-cursor-text-style;
            }
        }
        & > .queue-list--option-hover {
            background: $block-hover-background;
        }
    }
    """

    class Highlighted(RowMessage):
        """The cursor moved to the row `index` (its item may still be loading)."""

    class Selected(RowMessage):
        """Enter (or a click) on the row `index`."""

    class PageWanted(RowMessage):
        """The row `index` is to be shown and its page is not loaded: the screen loads it (`add_page`)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._count = 0
        self._items: dict[int, QueueItem] = {}
        self._cursor: int | None = None
        self._hovered: int | None = None
        self._asked: set[int] = set()  # rows whose page was asked for and has not come yet

    # What the screen reads and changes --------------------------------------------------------------
    @property
    def count(self) -> int:
        return self._count

    @property
    def cursor(self) -> int | None:
        return self._cursor

    @property
    def selected(self) -> QueueItem | None:
        """The highlighted approval; None when there is none or its page is still loading."""
        return None if self._cursor is None else self._items.get(self._cursor)

    def item(self, index: int) -> QueueItem | None:
        return self._items.get(index)

    def show(self, count: int, start: int, items: Sequence[QueueItem], cursor: int) -> None:
        """A fresh load: `count` approvals, `items` from position `start`, the cursor on row `cursor`. Rows
        loaded before are forgotten (the queue may have changed around them)."""
        moved = cursor != self._cursor or count != self._count
        self._count = count
        self._items = {}
        self._asked.clear()
        self.add_page(start, items)
        self._cursor = min(cursor, count - 1) if count else None
        self.virtual_size = Size(self.size.width, count * ROW_LINES)
        self._scroll_to_cursor()
        if moved and self._cursor is not None:
            self.post_message(self.Highlighted(self, self._cursor))

    def add_page(self, start: int, items: Sequence[QueueItem]) -> None:
        for index, item in enumerate(items, start):
            self._items[index] = item
            self._asked.discard(index)
        self.refresh()

    # Moving ------------------------------------------------------------------------------------------
    def move_to(self, index: int) -> None:
        if not self._count:
            return
        index = max(0, min(index, self._count - 1))
        if index == self._cursor:
            return
        previous, self._cursor = self._cursor, index
        self._refresh_row(previous)
        self._refresh_row(index)
        self._scroll_to_cursor()
        self._want(index)
        self.post_message(self.Highlighted(self, index))

    def _scroll_to_cursor(self) -> None:
        if self._cursor is not None and self.is_mounted:
            self.scroll_to_region(Region(0, self._cursor * ROW_LINES, self.scrollable_content_region.width,
                                         ROW_LINES), force=True, animate=False)

    def action_cursor_down(self) -> None:
        # As the OptionList did: past the last row comes the first.
        if self._count:
            self.move_to(0 if self._cursor is None else (self._cursor + 1) % self._count)

    def action_cursor_up(self) -> None:
        if self._count:
            self.move_to(self._count - 1 if self._cursor is None else (self._cursor - 1) % self._count)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self._count - 1)

    def _move_page(self, direction: int) -> None:
        # A screenful of lines, as the OptionList moved: to the row on the line that far from the cursor's.
        line = (self._cursor or 0) * ROW_LINES + direction * self.scrollable_content_region.height
        self.move_to(max(0, min(line, self._count * ROW_LINES - 1)) // ROW_LINES)

    def action_page_down(self) -> None:
        if self._cursor is None:
            self.action_last()
        else:
            self._move_page(1)

    def action_page_up(self) -> None:
        if self._cursor is None:
            self.action_first()
        else:
            self._move_page(-1)

    def action_select(self) -> None:
        if self._cursor is not None:
            self.post_message(self.Selected(self, self._cursor))

    # Mouse -------------------------------------------------------------------------------------------
    def _row_at(self, event: events.MouseEvent) -> int | None:
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        index = (offset.y + self.scroll_offset.y) // ROW_LINES
        return index if index < self._count else None

    def on_click(self, event: events.Click) -> None:
        index = self._row_at(event)
        if index is not None:
            self.move_to(index)
            self.action_select()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        index = self._row_at(event)
        if index != self._hovered:
            previous, self._hovered = self._hovered, index
            self._refresh_row(previous)
            self._refresh_row(index)

    def on_leave(self) -> None:
        previous, self._hovered = self._hovered, None
        self._refresh_row(previous)

    # Drawing -----------------------------------------------------------------------------------------
    def _want(self, index: int) -> None:
        if index not in self._items and index not in self._asked:
            self._asked.add(index)
            self.post_message(self.PageWanted(self, index))

    def _refresh_row(self, index: int | None) -> None:
        if index is not None:
            self.refresh(Region(0, index * ROW_LINES - self.scroll_offset.y, self.size.width, ROW_LINES))

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, self._count * ROW_LINES)

    def on_focus(self) -> None:
        self._refresh_row(self._cursor)

    def on_blur(self) -> None:
        self._refresh_row(self._cursor)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index, line = divmod(self.scroll_offset.y + y, ROW_LINES)
        if index >= self._count:
            return Strip.blank(width, self.get_visual_style(OPTION).rich_style)
        if index == self._cursor:
            style = self.get_visual_style(OPTION, HIGHLIGHTED)
        elif index == self._hovered:
            style = self.get_visual_style(OPTION, HOVER)
        else:
            style = self.get_visual_style(OPTION)
        item = self._items.get(index)
        if item is None:
            self._want(index)
            return Strip.blank(width, style.rich_style)
        glyph = CURSOR if index == self._cursor else " "
        strips = Visual.to_strips(self, Content.assemble(glyph, " ", queue_row(item)), width, None, style)
        return strips[line].extend_cell_length(width, style.rich_style) if line < len(strips) else \
            Strip.blank(width, style.rich_style)
