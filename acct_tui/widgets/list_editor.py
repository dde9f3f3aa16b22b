"""What the KPI and objectives editors share: a list read from the store in a thread worker, changes handed
to the app's writer (their results come back on the UI thread, only while the editor still shows what they
were made for), inputs locked while a granted approval covers the step (with the reason shown), one line for
messages, and being shown again for another account or step (`show_for`) instead of being built anew."""

from __future__ import annotations

from typing import Any, Callable

from textual import on
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from acct_tui.errors import DomainError
from acct_tui.newest_read import newest_read
from acct_tui.store.held import HeldEdit
from acct_tui.text import printable
from acct_tui.typeahead import WriterAnswer, hold_keys_for
from acct_tui.widgets.step_list import CursorOptionList

LOAD_GROUP = "list-editor-load"


class ListEditor(Vertical):
    INPUTS = ""  # selector of the inputs to lock while the step cannot be changed
    MESSAGE = ""  # id of the message line

    class Shown(Message):
        """The editor shows what it read from the store (after each read)."""

    def __init__(self, *, refusal: str | None = None, account_name: str = "", items: tuple | None = None,
                 id: str | None = None) -> None:
        """`refusal`: why the step cannot be changed now (a granted approval covers it), or None;
        `account_name`: shown with what this editor holds when a save fails; `items`: what `fetch` would read,
        read already (shown when mounted, without a read of its own)."""
        super().__init__(id=id)
        self._first_items = items
        self.refusal = refusal
        self.account_name = account_name
        self._held_ids: set[str] = set()  # held because a save from this editor failed
        self.has_shown = False  # whether it has shown what it read from the store yet
        self._shown_for = 0  # counts `show_for`: reads and answers of an earlier account or step are dropped

    def on_mount(self) -> None:
        self.set_refusal(self.refusal)
        self._show_or_load(self._first_items)
        self._first_items = None

    def show_for_another(self, *, refusal: str | None, account_name: str, items: tuple | None) -> None:
        """Show the list of another account or step (the subclass has set what it belongs to and emptied its
        inputs): what was read or answered for the last one is no longer shown when it arrives."""
        self._shown_for += 1
        self.account_name = account_name
        self.set_refusal(refusal)
        self._say(refusal or "")
        for listing in self.query(CursorOptionList):
            listing.highlighted = None
        self._show_or_load(items)

    def _show_or_load(self, items: tuple | None) -> None:
        """Show `items`, read already, or (None) read them; `has_shown` says when they are on the screen."""
        if items is None:
            self.has_shown = False
            self.load()
        else:
            self.show(items)
            self.has_shown = True

    def set_refusal(self, refusal: str | None) -> None:
        """Lock the inputs while the step cannot be changed, and say why; unlock when it can again."""
        changed = refusal != self.refusal
        self.refusal = refusal
        for widget in self.query(self.INPUTS):
            widget.disabled = bool(refusal)
        if refusal or changed:  # else the line keeps the outcome of the last save
            self._say(refusal or "")

    def fetch(self) -> tuple:
        """The items to list, read from the store (runs in a thread worker)."""
        raise NotImplementedError

    def show(self, items: tuple) -> None:
        """Show freshly read items (on the UI thread)."""
        raise NotImplementedError

    def load(self) -> None:
        self._read(self._shown_for)

    @newest_read(LOAD_GROUP)
    def _read(self, shown_for: int) -> tuple[int, tuple]:
        return shown_for, self.fetch()

    @on(Worker.StateChanged)
    def _read_done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != LOAD_GROUP:
            return
        if event.state == WorkerState.ERROR:
            self.app.post_message(event)  # the app's one handler shows it
        elif event.state == WorkerState.SUCCESS:
            shown_for, items = event.worker.result
            if shown_for != self._shown_for:
                return
            self.show(items)
            self.has_shown = True
            self.post_message(self.Shown())

    def submit(self, change: Callable[[], Any], done: Callable[[Any, DomainError | None], None], *,
               draft: HeldEdit | None = None) -> None:
        """Hand `change` to the writer; `done(result, error)` runs on the UI thread if the editor still shows what
        it was made for.
        Keys typed after it wait for that answer: it clears or refills the inputs they are typed into."""
        answer = WriterAnswer()
        hold_keys_for(self.app, answer)
        shown_for = self._shown_for

        def answered(result: Any, error: DomainError | None) -> None:
            answer.is_finished = True
            if draft is not None:
                self._track_held(draft, error)
            if self.is_mounted and shown_for == self._shown_for:
                done(result, error)

        self.app.writer.submit(change, answered, draft=draft)
        if self.app.writer.waiting:
            self._say("Waiting for the database: another program is writing. Your entry is held until it is saved.")

    def _track_held(self, draft: HeldEdit, error: DomainError | None) -> None:
        """What this editor held stays in its inputs; once the user has saved from the same inputs (after
        correcting it), it is applied and no longer held."""
        held = self.app.held
        same_place = [edit for edit in held.edits() if edit.place == draft.place]
        if error is not None:
            self._held_ids.update(edit.id for edit in same_place if edit.value == draft.value)
        else:
            held.remove([edit.id for edit in same_place if edit.id in self._held_ids])

    @staticmethod
    def not_saved_message(error: DomainError) -> str:
        return f"{error} Your entry stays here and is held (H lists held edits)."

    def _say(self, text: str) -> None:
        self.query_one(f"#{self.MESSAGE}", Static).update(Content(printable(text)))
