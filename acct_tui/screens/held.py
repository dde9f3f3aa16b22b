"""Held edits: text the user typed that could not be saved, with where it belongs and why, to apply (saved
now, over whatever is stored), copy elsewhere, or discard (asked first). Reached with H or the command
palette; the line above the footer says when there are any. Also the question asked before quitting while
text is held."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static, TextArea

from acct_tui.errors import DomainError
from acct_tui.store.held import HeldEdit, HeldStore
from acct_tui.store.held_changes import apply_held_edit, discard_held_edit
from acct_tui.text import printable
from acct_tui.widgets.step_list import CursorOptionList, one_line

EMPTY = "No edits are held: everything you typed is saved."


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; dismisses with True for yes (y), False for no (n or Escape)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, yes: str, no: str) -> None:
        super().__init__()
        self._question, self._yes, self._no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Label(Content(printable(self._question)), classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Content(f"{self._yes} (y)"), id="yes", variant="warning", compact=True)
                yield Button(Content(f"{self._no} (n)"), id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def _row(edit: HeldEdit) -> Content:
    return Content.assemble(
        (printable(edit.account_name or "new account", keep_newlines=False), "bold"),
        " · ", one_line(edit.where), "\n  ", one_line(edit.text[:200] or "(empty)"),
    )


class HeldEditsScreen(ModalScreen[None]):
    """Every held edit of this database (the app's `HeldStore`), with what can be done with each."""

    BINDINGS = [
        Binding("a", "apply", "Apply", tooltip="Save the held text now, over what is stored", id="held.apply"),
        Binding("c", "copy", "Copy", tooltip="Copy the held text to the clipboard", id="held.copy"),
        Binding("x", "discard", "Discard", tooltip="Throw the held text away (asks first)", id="held.discard"),
        Binding("escape", "close", "Close", id="held.close"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="held-dialog", classes="dialog"):
            yield Label("Unsaved edits held", id="held-title", classes="dialog-title")
            yield CursorOptionList(id="held-list")
            yield Static(id="held-reason")
            yield TextArea(id="held-text", read_only=True, soft_wrap=True)
            yield Static(Content("a apply (saves it now) · c copy · x discard · esc close"), classes="dialog-hint")
            yield Static(id="held-message")

    def __init__(self, first: tuple[str, int | None] | None = None) -> None:
        """`first`: (account id, step) whose held edits are highlighted first, if it has any."""
        super().__init__()
        self._edits: list[HeldEdit] = []
        self._first = first

    def on_mount(self) -> None:
        self._held.flush()  # takes in what other sessions on this database held meanwhile
        self.show_edits()
        listing = self.query_one("#held-list", CursorOptionList)
        if self._first is not None:
            account_id, step = self._first
            listing.highlighted = next((index for index, edit in enumerate(self._edits)
                                        if edit.account_id == account_id and edit.step == step), listing.highlighted)
        listing.focus()

    @property
    def _held(self) -> HeldStore:
        return self.app.held

    def show_edits(self) -> None:
        self._edits = self._held.edits()
        listing = self.query_one("#held-list", CursorOptionList)
        count = len(self._edits)
        self.query_one("#held-title", Label).update(
            Content(f"Unsaved edits held: {count}" if count else EMPTY))
        listing.set_rows([_row(edit) for edit in self._edits],
                         min(listing.highlighted or 0, max(count - 1, 0)))
        self._show_selected()

    @on(OptionList.OptionHighlighted, "#held-list")
    def _show_selected(self) -> None:
        edit = self._selected()
        self.query_one("#held-reason", Static).update(
            Content(printable(f"Not saved: {edit.reason}") if edit else ""))
        self.query_one("#held-text", TextArea).text = printable(edit.text) if edit else ""

    def _selected(self) -> HeldEdit | None:
        index = self.query_one("#held-list", CursorOptionList).highlighted
        return self._edits[index] if index is not None and index < len(self._edits) else None

    def _say(self, text: str) -> None:
        self.query_one("#held-message", Static).update(Content(printable(text)))

    def action_apply(self) -> None:
        edit = self._selected()
        if edit is None:
            return
        self._say(f"Applying the text of {edit.where}…")
        self.app.writer.submit(lambda: apply_held_edit(edit), lambda _, error: self._applied(edit, error), draft=edit)

    def _applied(self, edit: HeldEdit, error: DomainError | None) -> None:
        if error is None:
            self._held.remove([edit.id])
        if not self.is_mounted:
            return
        self._say(f"Not applied, still held: {error}" if error else f"Applied and saved: {edit.where}.")
        self.show_edits()

    def action_copy(self) -> None:
        edit = self._selected()
        if edit is None:
            return
        self.app.copy_to_clipboard(edit.text)
        text_area = self.query_one("#held-text", TextArea)
        text_area.focus()
        text_area.select_all()
        self._say("Copied to the clipboard (where the terminal allows it); the text is also selected below.")

    def action_discard(self) -> None:
        edit = self._selected()
        if edit is None:
            return
        question = (f"Discard the held text of {edit.where} ({len(edit.text):,} characters)? "
                    "It can no longer be applied; the account's history keeps a copy.")
        self.app.push_screen(ConfirmDialog(question, "Discard", "Keep it"),
                             lambda yes: self._discard(edit) if yes else None)

    def _discard(self, edit: HeldEdit) -> None:
        self._held.remove([edit.id])
        self.app.writer.submit(lambda: discard_held_edit(edit))
        self._say(f"Discarded the text of {edit.where}.")
        self.show_edits()

    def action_close(self) -> None:
        self.dismiss(None)
