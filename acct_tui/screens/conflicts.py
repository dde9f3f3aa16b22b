"""The Conflicts view (`!`, palette "Conflicts"): what was changed on both sides of a sync, each side's value
with who and when; `m` keeps this database's value, `t` takes the other side's, `e` writes a merge. Two
accounts created on both sides with one name are listed too: `M` merges them into one, `r` renames this one.

Every choice is saved through the app's writer, as every other save: it waits for another program's write
lock the same way, and text typed here (a merge, a new name) is held if it cannot be saved."""

from __future__ import annotations

import json
from typing import Any, Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from acct_tui.errors import DomainError
from acct_tui.store.held import ACCOUNT, FIELD, WAITING, HeldEdit, new_held_edit
from acct_tui.store.services import edit_account
from acct_tui.sync.conflicts import Conflict, conflicts, duplicate_names, merge_duplicate, resolve
from acct_tui.text import printable

LOAD_WORKER = "conflicts-load"
CONFLICT_ACTIONS = ("keep_mine", "take_theirs", "edit_merge")
DUPLICATE_ACTIONS = ("merge_accounts", "rename")


def _line(text: str) -> Content:
    return Content(printable(text, keep_newlines=False))


def describe(conflict: Conflict) -> str:
    sides = "  |  ".join(
        f"{'here' if v.local else 'there'}: {v.shown[:60]} ({v.actor}, {v.at:%Y-%m-%d %H:%M})" for v in conflict.versions)
    return f"{conflict.account_name or '—'} · {conflict.what}: {sides}"


def describe_duplicate(name: str) -> str:
    return f"{name}: another account has this name since a sync; M merges the two, r renames this one"


class ConflictsScreen(ModalScreen[None]):
    """Conflicts left by syncs, one per line, then accounts whose name came twice; resolving one writes a
    change that settles it everywhere."""

    BINDINGS = [
        Binding("m", "keep_mine", "Keep mine", id="conflicts.mine"),
        Binding("t", "take_theirs", "Take theirs", id="conflicts.theirs"),
        Binding("e", "edit_merge", "Edit a merge", id="conflicts.merge"),
        Binding("M", "merge_accounts", "Merge accounts", id="conflicts.merge_accounts"),
        Binding("r", "rename", "Rename", id="conflicts.rename"),
        Binding("escape", "close", "Close", id="conflicts.close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[Conflict] = []
        self.duplicates: list[tuple[str, str]] = []  # (account id, name)
        self._submit_edit: Callable[[str], None] | None = None  # what enter in the editor saves

    def compose(self) -> ComposeResult:
        with Vertical(id="conflicts", classes="dialog"):
            yield Label("Conflicts from syncs: both sides changed these", classes="dialog-title")
            yield OptionList(id="conflict-list")
            yield Input(id="conflict-merge", placeholder="The merged value; enter saves it")
            yield Static(id="conflict-problem")
            yield Label("m: keep mine · t: take theirs · e: edit a merge · M: merge accounts · r: rename · escape "
                        "closes", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#conflict-merge", Input).display = False
        self._load()

    @work(thread=True, exclusive=True, name=LOAD_WORKER, exit_on_error=False)
    def _load(self) -> tuple[list[Conflict], list[tuple[str, str]]]:
        return conflicts(), duplicate_names()

    @on(Worker.StateChanged)
    def _on_worker(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.post_message(event)
        elif event.state == WorkerState.SUCCESS and event.worker.name == LOAD_WORKER:
            self.shown, self.duplicates = event.worker.result
            options = self.query_one(OptionList)
            options.clear_options()
            options.add_options(Option(_line(describe(conflict))) for conflict in self.shown)
            options.add_options(Option(_line(describe_duplicate(name))) for _, name in self.duplicates)
            if self.shown or self.duplicates:
                options.highlighted = 0
            else:
                self._say("No conflicts: everything synced agrees.")
            options.focus()
            self.refresh_bindings()

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in CONFLICT_ACTIONS:
            return self._chosen() is not None or None
        if action in DUPLICATE_ACTIONS:
            return self._chosen_duplicate() is not None or None
        return True

    def _index(self) -> int | None:
        return self.query_one(OptionList).highlighted

    def _chosen(self) -> Conflict | None:
        index = self._index()
        return self.shown[index] if index is not None and index < len(self.shown) else None

    def _chosen_duplicate(self) -> tuple[str, str] | None:
        index = self._index()
        if index is None or not len(self.shown) <= index < len(self.shown) + len(self.duplicates):
            return None
        return self.duplicates[index - len(self.shown)]

    def _say(self, text: str) -> None:
        self.query_one("#conflict-problem", Static).update(_line(text))

    # Saving, through the app's writer ------------------------------------------------------------------------
    def _save(self, change: Callable[[], Any], draft: HeldEdit | None = None) -> None:
        writer = self.app.writer
        writer.submit(change, lambda _, error: self._saved(error, draft), draft=draft)
        if writer.waiting:
            self._say(f"{WAITING} {'Your text is held; it' if draft else 'It'} is saved as soon as it is free.")

    def _saved(self, error: DomainError | None, draft: HeldEdit | None) -> None:
        if not self.is_mounted:
            return
        if error is not None:
            held = " Your text is held: H lists held edits." if draft is not None else ""
            self._say(f"Not saved: {error}{held}")
            return
        self._say("")
        self._close_editor()
        self._load()

    def _take(self, local: bool) -> None:
        conflict = self._chosen()
        if conflict is not None:
            version = next(v for v in conflict.versions if v.local == local)
            self._save(lambda: resolve(conflict.key, version.value))

    def action_keep_mine(self) -> None:
        self._take(True)

    def action_take_theirs(self) -> None:
        self._take(False)

    def action_edit_merge(self) -> None:
        conflict = self._chosen()
        if conflict is None:
            return
        field = conflict.text_field
        if field is None:
            self._say("Only a text can be merged by hand; keep one side.")
            return

        def save(text: str) -> None:
            value = json.dumps(text, ensure_ascii=False)
            self._save(lambda: resolve(conflict.key, value), self._merge_draft(conflict, field, text))

        self._open_editor(json.loads(next(v for v in conflict.versions if v.local).value), save)

    @staticmethod
    def _merge_draft(conflict: Conflict, field: str, text: str) -> HeldEdit:
        """Held like a save of the same value from the form it belongs to, so the held-edits list can apply it."""
        if conflict.kind == "field":
            _, run_id, _, key = json.loads(conflict.key)
            return new_held_edit(FIELD, account_id=conflict.account_id, account_name=conflict.account_name,
                                 value=text, reason="", step=conflict.step, key=key, label=conflict.what,
                                 run_id=run_id)
        return new_held_edit(ACCOUNT, account_id=conflict.account_id, account_name=conflict.account_name,
                             value={field: text}, reason="", label=conflict.what)

    def action_merge_accounts(self) -> None:
        duplicate = self._chosen_duplicate()
        if duplicate is not None:
            self._save(lambda: merge_duplicate(duplicate[0]))

    def action_rename(self) -> None:
        duplicate = self._chosen_duplicate()
        if duplicate is None:
            return
        account_id, name = duplicate

        def save(text: str) -> None:
            draft = new_held_edit(ACCOUNT, account_id=account_id, account_name=name, value={"name": text},
                                  reason="", label="account name")
            self._save(lambda: edit_account(account_id, name=text), draft)

        self._open_editor(name, save)

    # The one-line editor (a merged value, a new name) -------------------------------------------------------
    def _open_editor(self, text: str, save: Callable[[str], None]) -> None:
        editor = self.query_one("#conflict-merge", Input)
        editor.value = text
        editor.display = True
        editor.focus()
        self._submit_edit = save

    def _close_editor(self) -> None:
        self.query_one("#conflict-merge", Input).display = False
        self._submit_edit = None
        self.query_one(OptionList).focus()

    @on(Input.Submitted, "#conflict-merge")
    def _edited(self, event: Input.Submitted) -> None:
        if self._submit_edit is not None:
            self._submit_edit(event.value)

    def action_close(self) -> None:
        self.dismiss(None)
