"""Dialogs of the account list: add/edit an account, and confirm archiving or restoring one."""

from __future__ import annotations

import uuid

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select

from acct_tui.errors import DomainError, StaleEdit, StoreUnavailable
from acct_tui.store.held import ACCOUNT, WAITING, new_held_edit
from acct_tui.store.queries import AccountDetail
from acct_tui.store.services import (
    ACCOUNT_FIELDS,
    create_account,
    edit_account,
    validate_account,
)
from acct_tui.text import printable
from acct_tui.typeahead import WriterAnswer, hold_keys_for
from acct_tui.widgets.editors import LineEditor
from acct_tui.workflow.fields import SEGMENTS, STAGES

FIELD_LABELS = {
    "name": "Account name",
    "owner": "Owner",
    "segment": "Segment",
    "stage": "Lifecycle stage",
    "industry": "Industry",
    "annual_revenue": "Annual revenue",
}
CHOICES = {"segment": SEGMENTS, "stage": STAGES}
# Shown in empty fields: without colour an empty field is otherwise invisible.
PLACEHOLDERS = {
    "name": "required, unique",
    "owner": "who looks after the account",
    "industry": "optional",
    "annual_revenue": "optional, e.g. 1,250,000",
}


def field_problems(values: dict[str, str]) -> dict[str, str]:
    """The message for each invalid field, so every one shows next to its field at once (the service's
    `validate_account` is the rule book: each field is checked alongside otherwise valid values)."""
    problems = {}
    for key in ACCOUNT_FIELDS:
        try:
            validate_account(**{"name": "valid", key: values[key]})
        except DomainError as error:
            problems[key] = str(error)
    return problems


def _initial_text(account: AccountDetail | None, key: str) -> str:
    if account is None:
        return ""
    value = getattr(account, key)
    if key == "annual_revenue":
        return "" if value is None else f"{value:,.2f}"
    return value


class AccountForm(ModalScreen[uuid.UUID | None]):
    """Add an account (no `account`) or edit one; dismisses with the saved account's id, or None."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="account_form.save"),
        Binding("escape", "cancel", "Cancel", id="account_form.cancel"),
    ]

    def __init__(self, account: AccountDetail | None = None) -> None:
        super().__init__()
        self.account = account
        self.expected_version = account.version if account else None
        self.saving = False
        self._answer = WriterAnswer()  # the writer's answer to the last save, which keys typed after it wait for
        # Where this form's entries are held when a save fails: a new account's form is a place of its own.
        self._held_key = "" if account else uuid.uuid4().hex

    def compose(self) -> ComposeResult:
        with Vertical(id="account-form", classes="dialog"):
            if self.account is None:
                yield Label("Add an account", classes="dialog-title")
            else:
                yield Label(Content(f"Edit “{printable(self.account.name, keep_newlines=False)}”"),
                            classes="dialog-title")
            for key, label in FIELD_LABELS.items():
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield self._editor(key)
                yield Label(id=f"{key}-error", classes="form-error")
            yield Label(id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def _editor(self, key: str) -> Widget:
        if key in CHOICES:
            current = getattr(self.account, key) if self.account else CHOICES[key][0]
            return Select([(Content(choice), choice) for choice in CHOICES[key]], value=current,
                          allow_blank=False, compact=True, id=key)
        return LineEditor(_initial_text(self.account, key), placeholder=PLACEHOLDERS[key], compact=True, id=key)

    def values(self) -> dict[str, str]:
        values = {}
        for key in FIELD_LABELS:
            editor = self.query_one(f"#{key}")
            values[key] = editor.value if isinstance(editor, (Input, Select)) else ""
        return values

    def _show_problems(self, problems: dict[str, str], form_problem: str = "") -> None:
        for key in FIELD_LABELS:
            self._show(f"#{key}-error", problems.get(key, ""))
        self._show("#form-error", form_problem)
        if problems:
            self.query_one(f"#{next(key for key in FIELD_LABELS if key in problems)}").focus()

    def _show(self, selector: str, message: str) -> None:
        label = self.query_one(selector, Label)
        label.update(Content(printable(message)))
        label.display = bool(message)

    @on(Input.Changed)
    def _forget_problem(self, event: Input.Changed) -> None:
        """Typing in a field clears the message about it (it is checked again on save)."""
        if event.input.id:
            self._show(f"#{event.input.id}-error", "")

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.saving:
            return
        values = self.values()
        problems = field_problems(values)
        self._show_problems(problems)
        if not problems:
            self.saving = True
            self._answer = WriterAnswer()
            hold_keys_for(self.app, self._answer)  # keys typed after saving are for what the form closes to
            self._save(values)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def _save(self, values: dict[str, str]) -> None:
        """Hand the save to the app's writer; the entries are held if it cannot be made (see `_saved`)."""
        account, expected_version = self.account, self.expected_version

        def save() -> uuid.UUID:  # on the writer thread
            if account is None:
                return create_account(**values)
            edit_account(account.id, expected_version=expected_version, **values)
            return account.id

        draft = new_held_edit(ACCOUNT, account_id=account.id if account else None,
                              account_name=values["name"] or (account.name if account else ""), value=values,
                              reason="", key=self._held_key, label="account form")
        writer = self.app.writer
        writer.submit(save, self._saved, draft=draft)
        if writer.waiting:
            self._show_problems({}, f"{WAITING} Your entries are held; they are saved as soon as it is free.")

    def _held_here(self) -> list[str]:
        return [edit.id for edit in self.app.held.at_place(ACCOUNT, self.account.id if self.account else None,
                                                           key=self._held_key)]

    def _saved(self, account_id: uuid.UUID | None, error: DomainError | None) -> None:
        self._answer.is_finished = True
        if error is None:
            self.app.held.remove(self._held_here())  # saved from this form: what it held is applied
            if self.is_mounted:
                self.dismiss(account_id)
            return
        if not self.is_mounted:
            return
        self.saving = False
        held = " Your entries are held (H lists held edits)."
        if isinstance(error, StaleEdit):
            # The user's entries stay in the form; saving again replaces the other session's values.
            self.expected_version = error.current_version
            self._show_problems({}, str(error) + held)
        elif isinstance(error, StoreUnavailable):
            self._show_problems({}, str(error) + held)
        else:
            # Every field passed validation before saving, so what the store refuses is the name: only it
            # depends on other accounts (names are unique, ignoring case).
            self._show_problems({"name": str(error)})


class ArchiveDialog(ModalScreen[bool]):
    """Confirm archiving (or restoring) an account; dismisses with True to go ahead."""

    BINDINGS = [
        Binding("y", "confirm", "Yes", id="archive_dialog.confirm"),
        Binding("n,escape", "cancel", "No", id="archive_dialog.cancel"),
    ]

    def __init__(self, account_name: str, archived: bool) -> None:
        super().__init__()
        self.account_name = account_name
        self.restoring = archived

    def compose(self) -> ComposeResult:
        name = printable(self.account_name, keep_newlines=False)
        if self.restoring:
            question = f"Restore “{name}” to the working list?"
            verb = "Restore"
        else:
            question = (f"Archive “{name}”? It leaves the working list (z shows archived accounts); "
                        "nothing is deleted and you can restore it.")
            verb = "Archive"
        with Vertical(id="archive-dialog", classes="dialog"):
            yield Label(Content(question), classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{verb} (y)", id="confirm", variant="warning", compact=True)
                yield Button("Cancel (n)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#confirm", Button).focus()

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
