"""The Conflicts view (`!`, palette "Conflicts"): what was changed on both sides of a sync, each side's value
with who and when; `m` keeps this database's value, `t` takes the other side's, `e` writes a merge."""

from __future__ import annotations

import json

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from acct_tui.sync.conflicts import Conflict, conflicts, duplicate_names, resolve
from acct_tui.text import printable

LOAD_WORKER = "conflicts-load"
RESOLVE_WORKER = "conflicts-resolve"


def _line(text: str) -> Content:
    return Content(printable(text, keep_newlines=False))


def describe(conflict: Conflict) -> str:
    sides = "  |  ".join(
        f"{'here' if v.local else 'there'}: {v.shown[:60]} ({v.actor}, {v.at:%Y-%m-%d %H:%M})" for v in conflict.versions)
    return f"{conflict.account_name or '—'} · {conflict.what}: {sides}"


class ConflictsScreen(ModalScreen[None]):
    """Conflicts left by syncs, one per line; resolving one writes a change that settles it everywhere."""

    BINDINGS = [
        Binding("m", "keep_mine", "Keep mine", id="conflicts.mine"),
        Binding("t", "take_theirs", "Take theirs", id="conflicts.theirs"),
        Binding("e", "edit_merge", "Edit a merge", id="conflicts.merge"),
        Binding("escape", "close", "Close", id="conflicts.close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[Conflict] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="conflicts", classes="dialog"):
            yield Label("Conflicts from syncs: both sides changed these", classes="dialog-title")
            yield OptionList(id="conflict-list")
            yield Input(id="conflict-merge", placeholder="The merged value; enter saves it")
            yield Static(id="conflict-problem")
            yield Label("m: keep mine · t: take theirs · e: edit a merge · escape closes", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#conflict-merge", Input).display = False
        self._load()

    @work(thread=True, exclusive=True, name=LOAD_WORKER, exit_on_error=False)
    def _load(self) -> tuple[list[Conflict], list[tuple[str, str]]]:
        return conflicts(), duplicate_names()

    @work(thread=True, exclusive=True, name=RESOLVE_WORKER, exit_on_error=False)
    def _resolve(self, key: str, value: str) -> None:
        resolve(key, value)

    @on(Worker.StateChanged)
    def _on_worker(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.post_message(event)
        elif event.state == WorkerState.SUCCESS and event.worker.name == LOAD_WORKER:
            self.shown, duplicates = event.worker.result
            options = self.query_one(OptionList)
            options.clear_options()
            options.add_options(Option(_line(describe(conflict))) for conflict in self.shown)
            options.add_options(Option(_line(f"{name}: another account has this name since a sync; rename one "
                                              "(or archive the one to drop)"), disabled=True)
                                for _, name in duplicates)
            if self.shown:
                options.highlighted = 0
            elif not duplicates:
                self.query_one("#conflict-problem", Static).update("No conflicts: everything synced agrees.")
            options.focus()
        elif event.state == WorkerState.SUCCESS and event.worker.name == RESOLVE_WORKER:
            self.query_one("#conflict-merge", Input).display = False
            self._load()

    def _chosen(self) -> Conflict | None:
        index = self.query_one(OptionList).highlighted
        return self.shown[index] if index is not None and index < len(self.shown) else None

    def _take(self, local: bool) -> None:
        conflict = self._chosen()
        if conflict is not None:
            version = next(v for v in conflict.versions if v.local == local)
            self._resolve(conflict.key, version.value)

    def action_keep_mine(self) -> None:
        self._take(True)

    def action_take_theirs(self) -> None:
        self._take(False)

    def action_edit_merge(self) -> None:
        conflict = self._chosen()
        if conflict is None:
            return
        mine = json.loads(next(v for v in conflict.versions if v.local).value)
        if not isinstance(mine, str):
            self.query_one("#conflict-problem", Static).update("Only a text can be merged by hand; keep one side.")
            return
        editor = self.query_one("#conflict-merge", Input)
        editor.value = mine
        editor.display = True
        editor.focus()

    @on(Input.Submitted, "#conflict-merge")
    def _merged(self, event: Input.Submitted) -> None:
        conflict = self._chosen()
        if conflict is not None:
            self._resolve(conflict.key, json.dumps(event.value, ensure_ascii=False))

    def action_close(self) -> None:
        self.dismiss(None)
