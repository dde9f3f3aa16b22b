"""Dialogs of the report export: choose a format and a file, and confirm before replacing a file."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static

from acct_tui.errors import DomainError
from acct_tui.output_files import check_target, target_path
from acct_tui.reports import FORMAT_NAMES
from acct_tui.text import printable
from acct_tui.widgets.editors import LineEditor
from acct_tui.widgets.step_list import CursorOptionList


class ExportDialog(ModalScreen[tuple[str, Path, bool] | None]):
    """Choose the format (the file name follows it until you edit it) and the file; dismisses with
    (format, path, replace), or None on Escape. A file that exists is replaced only after a yes; after a no
    the dialog stays, on the file name, so another can be typed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export_dialog.cancel")]

    def __init__(self, subject: str, formats: tuple[str, ...], default_path: Callable[[str], Path]) -> None:
        super().__init__()
        self._subject = subject
        self._formats = formats
        self._default_path = default_path
        self._suggested = str(default_path(formats[0]))

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog", classes="dialog"):
            yield Label(Content(f"Export {printable(self._subject, keep_newlines=False)}"), classes="dialog-title")
            yield CursorOptionList(id="export-format")
            yield Label(Content("File:"), classes="dialog-text")
            yield LineEditor(self._suggested, id="export-path", placeholder="where to write the report")
            yield Static(id="export-problem")
            yield Label(Content("↑↓ format · enter: next · enter in the file name: export · esc: cancel"),
                        classes="dialog-hint")

    def on_mount(self) -> None:
        formats = self.query_one("#export-format", CursorOptionList)
        formats.set_rows([Content(f"{fmt:<5} {FORMAT_NAMES[fmt]}") for fmt in self._formats], 0)
        formats.focus()

    def _chosen_format(self) -> str:
        return self._formats[self.query_one("#export-format", CursorOptionList).highlighted or 0]

    @on(OptionList.OptionHighlighted, "#export-format")
    def _format_highlighted(self) -> None:
        path = self.query_one("#export-path", Input)
        if path.value == self._suggested:  # the user has not typed a name of their own: follow the format
            self._suggested = str(self._default_path(self._chosen_format()))
            path.value = self._suggested

    @on(OptionList.OptionSelected, "#export-format")
    def _format_selected(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Input.Submitted, "#export-path")
    def _submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        try:
            if not text:
                raise DomainError("Give a file name to write the report to.")
            path = target_path(text)
            exists = check_target(path)
        except DomainError as error:
            self.query_one("#export-problem", Static).update(Content(printable(str(error), keep_newlines=False)))
            return
        if exists:
            self.app.push_screen(ReplaceDialog(path), lambda replace: self._replace_answered(path, replace))
        else:
            self.dismiss((self._chosen_format(), path, False))

    def _replace_answered(self, path: Path, replace: bool | None) -> None:
        if replace:
            self.dismiss((self._chosen_format(), path, True))
            return
        self.query_one("#export-problem", Static).update(
            Content(printable(f"Kept {path} as it was: type another name, or enter to be asked again.")))
        self.query_one("#export-path", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReplaceDialog(ModalScreen[bool]):
    """Ask before an export replaces an existing file: y replaces, n or Escape keeps it."""

    BINDINGS = [
        Binding("y", "answer(True)", "Replace", id="replace_dialog.yes"),
        Binding("n", "answer(False)", "Keep the file", id="replace_dialog.no"),
        Binding("escape", "answer(False)", "Keep the file", id="replace_dialog.cancel"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="replace-dialog", classes="dialog"):
            yield Label(Content("The file exists"), classes="dialog-title")
            yield Label(Content(printable(f"{self._path} already exists. Replace it with this report?")),
                        id="replace-question", classes="dialog-text")
            yield Label(Content("y: replace it · n or esc: keep it (nothing is written)"), classes="dialog-hint")

    def action_answer(self, replace: bool) -> None:
        self.dismiss(replace)
