"""Small modal dialogs of the approval workflow and of template upgrades."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from acct_tui.errors import DomainError
from acct_tui.text import printable
from acct_tui.widgets.editors import LineEditor
from acct_tui.workflow.fields import MAX_COMMENT, is_blank, multi_line_text


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
            problem = "" if not is_blank(comment) else "A rejection needs a comment that says what to change."
        if problem:
            self.query_one("#comment-problem", Static).update(Content(printable(problem)))
            return
        self.dismiss(comment)

    def action_cancel(self) -> None:
        self.dismiss(None)


class UpgradeDialog(ModalScreen[bool]):
    """The preview of moving a run to a newer version of its template: what it gains, which answers move
    where, what it loses. Dismisses with True when the user presses y (refused when answers would be lost),
    False on Escape."""

    BINDINGS = [
        Binding("y", "upgrade", "Upgrade", tooltip="Move the run to the new version", id="upgrade_dialog.upgrade"),
        Binding("escape", "cancel", "Cancel", id="upgrade_dialog.cancel"),
    ]

    def __init__(self, question: str, preview: list[str], refusal: str | None) -> None:
        super().__init__()
        self._question = question
        self._preview = preview
        self._refusal = refusal

    def compose(self) -> ComposeResult:
        with Vertical(id="upgrade-dialog", classes="dialog"):
            yield Label(Content(printable(self._question)), classes="dialog-title")
            with VerticalScroll(id="upgrade-preview"):
                yield Static(Content(printable("\n".join(self._preview))), classes="dialog-text")
            hint = self._refusal or "y: upgrade · esc: cancel"
            yield Label(Content(printable(hint)), id="upgrade-hint", classes="dialog-hint")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self._refusal is None if action == "upgrade" else True

    def action_upgrade(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
