"""Lists whose highlighted row carries a visible glyph, and the checklist's list of steps.

Textual marks the highlighted option with colour and bold only, which is hard to see with NO_COLOR; a
`▶` in front of the highlighted row is readable on any terminal.
"""

from __future__ import annotations

from typing import Collection, Sequence

from textual.binding import Binding
from textual.cache import LRUCache
from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from acct_tui.store.queries import StepView
from acct_tui.text import printable
from acct_tui.workflow import APPROVED, DONE, LOCKED, OPEN, PENDING, REJECTED, WAITING

CURSOR = "▶"
DRAWN_ROWS_KEPT = 256

# Marks are three cells wide and readable without colour. Tasks use square brackets, approval gates angle
# brackets (and bold titles), so a gate stands out in the list even in black and white.
MARKS = {
    OPEN: "[ ]",
    DONE: "[x]",
    LOCKED: "[#]",
    WAITING: "< >",
    PENDING: "<?>",
    APPROVED: "<✔>",
    REJECTED: "<✘>",
}

MARK_WORDS = {
    OPEN: "open",
    DONE: "done",
    LOCKED: "locked",
    WAITING: "waiting for its steps",
    PENDING: "waiting for a decision",
    APPROVED: "approved",
    REJECTED: "rejected",
}


def one_line(text: str) -> Content:
    """User or stored text as one line of literal Content: controls made visible, line breaks shown as ⏎."""
    return Content(printable(text, keep_newlines=False))


def mark_text(mark: str) -> str:
    """The glyph and the word for a step mark, e.g. `[#] locked`."""
    return f"{MARKS[mark]} {MARK_WORDS[mark]}"


class CursorOptionList(OptionList):
    """An OptionList of one-or-more-line rows; the highlighted row starts with `▶`, the others with a blank."""

    # A list that drives what the screen shows keeps its marker when focus moves away; a form's list
    # shows it only while it has focus, so only one form field looks "current".
    SHOW_CURSOR_WHEN_BLURRED = True

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        self._rows: list[Content] = []
        # Rows drawn before, by what they show: Textual forgets every drawn row when one prompt is replaced,
        # and most rows of the next account's steps look just like rows drawn for an earlier one (a third of
        # the time it took to draw the checklist).
        self._drawn_rows: LRUCache[tuple, list[Strip]] = LRUCache(DRAWN_ROWS_KEPT)

    def _get_option_render(self, option: Option, style: Style) -> list[Strip]:
        key = (self._option_to_index[option], option.prompt, option._divider, style,
               self.get_component_styles("option-list--option").padding,
               self.scrollable_content_region.width - self._get_left_gutter_width())
        strips = self._drawn_rows.get(key)
        if strips is None:
            strips = self._drawn_rows[key] = super()._get_option_render(option, style)
        return strips

    def _prompt(self, index: int) -> Content:
        shown = self.SHOW_CURSOR_WHEN_BLURRED or self.has_focus
        glyph = CURSOR if shown and index == self.highlighted else " "
        return Content.assemble(glyph, " ", self._rows[index])

    def set_rows(self, rows: Sequence[Content], highlight: int | None = None) -> None:
        """Show `rows` (Content only, so user text is never parsed as markup) and highlight one of them.

        When the number of rows is unchanged the prompts are replaced in place: unless `highlight` says
        otherwise the highlight stays and no highlight message is sent, so a reload does not disturb the user.
        """
        same_shape = len(rows) == len(self._rows)
        self._rows = list(rows)
        if same_shape:
            for index in range(len(rows)):
                self.replace_option_prompt_at_index(index, self._prompt(index))
            if highlight is not None and highlight != self.highlighted:
                self.highlighted = highlight
            return
        self.clear_options()
        self.add_options([Option(self._prompt(index)) for index in range(len(rows))])
        if rows:
            self.highlighted = min(highlight or 0, len(rows) - 1)

    def _redraw(self, *indexes: int | None) -> None:
        for index in set(indexes):
            if index is not None and index < len(self._rows) and index < self.option_count:
                self.replace_option_prompt_at_index(index, self._prompt(index))

    def watch_highlighted(self, old: int | None, new: int | None) -> None:
        self._redraw(old, new)
        super().watch_highlighted(new)

    def on_focus(self) -> None:
        self._redraw(self.highlighted)

    def on_blur(self) -> None:
        self._redraw(self.highlighted)


class StepList(CursorOptionList):
    """The steps of one run, one line each: cursor, number, mark, title (approval gates in bold)."""

    BINDINGS = [
        Binding("enter,space", "select", "Fields", show=False,
                tooltip="Go into the step's fields (escape comes back)", id="step_list.open"),
        Binding("j", "cursor_down", "Next step", show=False, id="checklist.next_step"),
        Binding("k", "cursor_up", "Previous step", show=False, id="checklist.previous_step"),
    ]

    def show_steps(self, steps: Sequence[StepView], highlight_step: int | None = None,
                   conflicted: Collection[int] = ()) -> None:
        """`conflicted`: numbers of the steps a sync left a conflict on (marked with ≠ until it is settled)."""
        rows = [self.row(step, step.number in conflicted) for step in steps]
        self.set_rows(rows, None if highlight_step is None else highlight_step - 1)

    @classmethod
    def row(cls, step: StepView, conflicted: bool = False) -> Content:
        row = Content.assemble(f"{step.number:>2} {MARKS[step.mark]} ", "≠ " if conflicted else "",
                               one_line(step.title))
        return row.stylize("bold") if step.is_approval else row

    @property
    def highlighted_step(self) -> int | None:
        return None if self.highlighted is None else self.highlighted + 1
