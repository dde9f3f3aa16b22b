"""Undo and redo from anywhere (`u`, `ctrl+r`): a one-line preview of what will change before it changes,
a confirmation listing everything an undo reaches beyond the change itself, and the undo history (palette).
Plans are looked up by workers; undos are changes, so the app's one writer makes them."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from acct_tui.errors import DomainError
from acct_tui.store.undo import Change, Direction, UndoPlan, carry_out, history, next_plan, plan, undo_each
from acct_tui.text import printable

PLAN_WORKER = "undo-plan"
HISTORY_WORKER = "undo-history"
HISTORY_SHOWN = 50  # newest changes listed: each is checked against the database to describe it

# The app shows what an undo screen dismisses with: (message, is_error), or None when nothing was asked.
Outcome = tuple[str, bool] | None


def _line(text: str) -> Content:
    return Content(printable(text, keep_newlines=False))


class UndoPreview(ModalScreen[Outcome]):
    """The next undo (or redo) in one line at the bottom; the same key again (or enter) does it. When it
    reaches further, everything it touches is listed and only `y` goes ahead."""

    BINDINGS = [
        Binding("u,ctrl+r,enter", "go", "Go ahead", id="undo_preview.go"),
        Binding("y", "confirm", "Yes, all of it", id="undo_preview.confirm"),
        Binding("escape,n", "keep", "Keep", id="undo_preview.keep"),
    ]

    def __init__(self, direction: Direction) -> None:
        super().__init__()
        self.direction = direction
        self.plan: UndoPlan | None = None
        self.looked_up = False
        self.asked = False  # handed to the writer: further keys wait for its answer

    def compose(self) -> ComposeResult:
        with Vertical(id="undo-preview"):
            yield Static(_line(f"Looking up what to {self.direction}…"), id="undo-summary")
            yield Static(id="undo-reaches")
            yield Label(Content(""), id="undo-keys")

    def on_mount(self) -> None:
        self._look_up()

    @work(thread=True, name=PLAN_WORKER, exit_on_error=False)
    def _look_up(self) -> UndoPlan | None:
        return next_plan(self.direction)

    def _carry_out(self, change: Change) -> None:
        self.asked = True
        direction = self.direction
        self.app.writer.submit(lambda: carry_out(change, direction), self._carried_out)

    def _carried_out(self, done: UndoPlan | None, error: DomainError | None) -> None:
        if error is not None:
            self.dismiss((str(error), True))
        else:
            word = "Undone" if self.direction == "undo" else "Redone"
            self.dismiss((f"{word}: {done.summary.split(': ', 1)[1]}", False))

    @on(Worker.StateChanged)
    def _on_worker(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR:
            self.app.post_message(event)
            self.dismiss(None)
        elif event.state == WorkerState.SUCCESS and worker.name == PLAN_WORKER:
            self._show(worker.result)

    def _show(self, found: UndoPlan | None) -> None:
        self.plan, self.looked_up = found, True
        summary, keys = self.query_one("#undo-summary", Static), self.query_one("#undo-keys", Label)
        reaches = self.query_one("#undo-reaches", Static)
        reaches.display = bool(found and (found.refusal or found.needs_confirmation))
        if found is None:
            summary.update(_line(f"Nothing to {self.direction}: no change of yours "
                                 f"{'in effect' if self.direction == 'undo' else 'was undone'}."))
            keys.update("escape closes")
        elif found.refusal:
            summary.update(_line(f"Cannot {found.summary[0].lower()}{found.summary[1:]}"))
            reaches.update(_line(found.refusal))
            keys.update("escape closes")
        elif found.needs_confirmation:
            summary.update(_line(found.summary))
            reaches.update(
                Content("It also changes:\n") + Content("\n").join(_line(f"  · {reach}") for reach in found.reaches))
            keys.update("y does all of this · n or escape keeps everything as it is")
        else:
            summary.update(_line(found.summary))
            again = "u" if self.direction == "undo" else "ctrl+r"
            keys.update(f"enter (or {again} again): {self.direction} · escape: keep")

    def _possible(self) -> bool:
        return self.plan is not None and self.plan.refusal is None and not self.asked

    def action_go(self) -> None:
        if self._possible() and not self.plan.needs_confirmation:
            self._carry_out(self.plan.change)
        elif self.looked_up and not self._possible() and not self.asked:
            self.dismiss(None)

    def action_confirm(self) -> None:
        if self._possible():
            self._carry_out(self.plan.change)

    def action_keep(self) -> None:
        if not self.asked:
            self.dismiss(None)


class UndoHistoryScreen(ModalScreen[Outcome]):
    """Your recent changes, newest first; enter undoes every change down to the chosen one (after `y`)."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="undo_history.close"),
        Binding("y", "confirm", "Yes, undo them", show=False, id="undo_history.confirm"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[Change] = []  # newest first
        self.chosen: int | None = None
        self.asked = False  # handed to the writer: further keys wait for its answer

    def compose(self) -> ComposeResult:
        with Vertical(id="undo-history", classes="dialog"):
            yield Label("Your changes, newest first", classes="dialog-title")
            yield OptionList(id="undo-list")
            yield Static(id="undo-question")
            yield Label("enter: undo down to this change · escape closes", classes="dialog-hint")

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, name=HISTORY_WORKER, exit_on_error=False)
    def _load(self) -> list[tuple[Change, str]]:
        changes = list(reversed(history().done))[:HISTORY_SHOWN]
        return [(change, plan(change, "undo").summary.removeprefix("Undo: ")) for change in changes]

    def _undo_down_to(self, changes: list[Change]) -> None:
        self.asked = True
        self.app.writer.submit(lambda: undo_each(changes), self._undone_down_to)

    def _undone_down_to(self, result: tuple[int, str | None] | None, error: DomainError | None) -> None:
        undone, problem = result if error is None else (0, str(error))
        message = f"Undid {undone} change{'s' if undone != 1 else ''}."
        if problem:
            message += f" Stopped there: {problem}"
        self.dismiss((message, problem is not None))

    @on(Worker.StateChanged)
    def _on_worker(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.post_message(event)
            self.dismiss(None)
        elif event.state == WorkerState.SUCCESS and event.worker.name == HISTORY_WORKER:
            lines = event.worker.result
            self.changes = [change for change, _ in lines]
            options = self.query_one(OptionList)
            options.add_options(Option(_line(f"{change.at:%Y-%m-%d %H:%M}  {summary}")) for change, summary in lines)
            if lines:
                options.highlighted = 0
            else:
                self.query_one("#undo-question", Static).update("No change of yours to undo.")
            options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.chosen = event.option_index
        count = event.option_index + 1
        self.query_one("#undo-question", Static).update(_line(
            f"Undo {count} change{'s' if count != 1 else ''}, newest first, down to this one? "
            "y: yes · escape: no"))

    def action_confirm(self) -> None:
        if self.chosen is not None and not self.asked:
            self._undo_down_to(self.changes[: self.chosen + 1])

    def action_close(self) -> None:
        if self.asked:
            return
        if self.chosen is not None:
            self.chosen = None
            self.query_one("#undo-question", Static).update("")
        else:
            self.dismiss(None)
