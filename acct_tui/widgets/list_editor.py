"""What the KPI and objectives editors share: a list read from the store in a thread worker, inputs locked
while a granted approval covers the step (with the reason shown), and one line for messages."""

from __future__ import annotations

from textual import on, work
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from acct_tui.text import printable

LOAD_GROUP = "list-editor-load"


class ListEditor(Vertical):
    INPUTS = ""  # selector of the inputs to lock while the step cannot be changed
    MESSAGE = ""  # id of the message line

    def __init__(self, *, refusal: str | None = None, id: str | None = None) -> None:
        """`refusal`: why the step cannot be changed now (a granted approval covers it), or None."""
        super().__init__(id=id)
        self.refusal = refusal

    def on_mount(self) -> None:
        self.set_refusal(self.refusal)
        self.load()

    def set_refusal(self, refusal: str | None) -> None:
        """Lock the inputs while the step cannot be changed, and say why; unlock when it can again."""
        changed = refusal != self.refusal
        self.refusal = refusal
        for widget in self.query(self.INPUTS):
            widget.disabled = bool(refusal)
        if refusal or changed:  # else the line keeps the outcome of the last save
            self._say(refusal or "")

    def load(self) -> None:
        self._read()

    def fetch(self) -> tuple:
        """The items to list, read from the store (runs in a thread worker)."""
        raise NotImplementedError

    def show(self, items: tuple) -> None:
        """Show freshly read items (on the UI thread)."""
        raise NotImplementedError

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False)
    def _read(self) -> tuple:
        return self.fetch()

    @on(Worker.StateChanged)
    def _read_done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != LOAD_GROUP:
            return
        if event.state == WorkerState.ERROR:
            self.app.post_message(event)  # the app's one handler shows it
        elif event.state == WorkerState.SUCCESS:
            self.show(event.worker.result)

    def _say(self, text: str) -> None:
        self.query_one(f"#{self.MESSAGE}", Static).update(Content(printable(text)))
