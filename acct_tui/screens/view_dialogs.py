"""Dialogs of the account list's saved views: save the current view under a name and a key, choose columns."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from acct_tui.errors import DomainError
from acct_tui.store.views import (
    MAX_VIEW_NAME,
    VIEW_KEYS_HELP,
    View,
    normalise_view_key,
    view_key_problem,
)
from acct_tui.text import printable
from acct_tui.widgets.editors import LineEditor
from acct_tui.workflow.fields import one_line_text


class SaveViewDialog(ModalScreen[tuple[str, str] | None]):
    """Ask for a view's name and key. Dismisses with (name, key), or None on Escape. A key the screen already
    uses, or that opens another of the user's views, is refused here with the reason."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="save_view_dialog.cancel")]

    def __init__(self, summary: str, views: list[View], taken_keys: dict[str, str]) -> None:
        super().__init__()
        self._summary = summary
        self._views = views
        self._taken_keys = taken_keys  # key -> what it does on the account list

    def compose(self) -> ComposeResult:
        with Vertical(id="save-view-dialog", classes="dialog"):
            yield Label("Save this view", classes="dialog-title")
            yield Label(Content(printable(self._summary, keep_newlines=False)), classes="dialog-text")
            yield LineEditor(id="view-name", max_length=MAX_VIEW_NAME, placeholder="name, such as Late Key accounts")
            yield LineEditor(id="view-key", max_length=10, placeholder=f"key: {VIEW_KEYS_HELP}")
            yield Static(id="view-problem")
            yield Label("enter saves · a name you used before replaces that view · escape cancels",
                        classes="dialog-hint")

    @on(Input.Submitted, "#view-name")
    def _next_field(self) -> None:
        self.query_one("#view-key", Input).focus()

    @on(Input.Submitted, "#view-key")
    def _submit(self) -> None:
        name_text = self.query_one("#view-name", Input).value
        key = normalise_view_key(self.query_one("#view-key", Input).value)
        try:
            name = one_line_text(name_text, "The view's name", MAX_VIEW_NAME, required=True)
        except DomainError as error:
            self._show_problem(str(error))
            return
        problem = view_key_problem(key)
        if problem is None and key in self._taken_keys:
            problem = f"{key} already does “{self._taken_keys[key]}” here; choose another key."
        other = next((view for view in self._views if view.key == key and view.name != name), None)
        if problem is None and other is not None:
            problem = f"{key} already opens your view “{other.name}”; choose another key, or delete that view."
        if problem:
            self._show_problem(problem)
            return
        self.dismiss((name, key))

    def _show_problem(self, problem: str) -> None:
        self.query_one("#view-problem", Static).update(Content(printable(problem)))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ColumnsDialog(ModalScreen[tuple[str, ...] | None]):
    """Choose the columns of the account list (space ticks, enter applies). The name is always shown."""

    BINDINGS = [
        Binding("enter", "apply", "Apply", priority=True, id="columns_dialog.apply"),  # the list would toggle
        Binding("escape", "cancel", "Cancel", id="columns_dialog.cancel"),
    ]

    def __init__(self, columns: list[tuple[str, str]], shown: tuple[str, ...]) -> None:
        super().__init__()
        self._columns = columns  # (key, title) of every column but the name
        self._shown = shown

    def compose(self) -> ComposeResult:
        with Vertical(id="columns-dialog", classes="dialog"):
            yield Label("Columns shown", classes="dialog-title")
            yield SelectionList[str](*(Selection(Content(title), key, key in self._shown)
                                       for key, title in self._columns), id="column-choice")
            yield Label("space shows or hides · enter applies · escape cancels · the account name always shows",
                        classes="dialog-hint")

    def action_apply(self) -> None:
        self.dismiss(tuple(self.query_one(SelectionList).selected))

    def action_cancel(self) -> None:
        self.dismiss(None)
