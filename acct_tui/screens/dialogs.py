"""Small modal dialogs of the approval workflow."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from acct_tui.errors import DomainError
from acct_tui.text import printable
from acct_tui.widgets.editors import LineEditor
from acct_tui.workflow.fields import MAX_COMMENT, multi_line_text


class CommentDialog(ModalScreen[str | None]):
    """Ask for a required comment (why an approval is rejected). Dismisses with the comment, or None on Escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="comment_dialog.cancel")]

    def __init__(self, question: str, hint: str) -> None:
        super().__init__()
        self._question = question
        self._hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="comment-dialog", classes="dialog"):
            yield Label(Content(printable(self._question)), id="comment-question", classes="dialog-title")
            yield Label(Content(printable(self._hint)), id="comment-hint", classes="dialog-text")
            # No max_length: a comment pasted over the limit stays whole, refused with the limit (never cut).
            yield LineEditor(id="comment-input", placeholder="What has to change?")
            yield Static(id="comment-problem")

    @on(Input.Submitted, "#comment-input")
    def _submit(self, event: Input.Submitted) -> None:
        try:
            comment = multi_line_text(event.value, "The comment", MAX_COMMENT).strip()
        except DomainError as error:
            comment, problem = "", str(error)
        else:
            problem = "" if comment else "A rejection needs a comment that says what to change."
        if problem:
            self.query_one("#comment-problem", Static).update(Content(printable(problem)))
            return
        self.dismiss(comment)

    def action_cancel(self) -> None:
        self.dismiss(None)
