"""The approval queue: every pending approval of every account, oldest first, with what the covered steps
contain, so an approver can decide without leaving the screen.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.worker import Worker, WorkerState

from acct_tui.errors import DomainError
from acct_tui.messages import DataChanged
from acct_tui.screens.binding_commands import ScreenBindingCommands
from acct_tui.screens.dialogs import CommentDialog
from acct_tui.store import queries, services
from acct_tui.store.held import COMMENT, new_held_edit
from acct_tui.store.queries import QueueItem, StepView
from acct_tui.text import printable
from acct_tui.widgets.step_form import local_time, step_summary
from acct_tui.widgets.step_list import CursorOptionList, one_line
from acct_tui.widgets.write_status import WriteStatus
from acct_tui.workflow import Progress

QUEUE_GROUP = "approvals-queue"
COVERED_GROUP = "approvals-covered"
EMPTY = "Nothing waits for approval."


def _covers(item: QueueItem) -> str:
    return ", ".join(map(str, item.covers))


class ApprovalsScreen(Screen):
    COMMANDS = {ScreenBindingCommands}
    BINDINGS = [
        Binding("y", "approve", "Approve", tooltip="Grant the selected approval", id="approvals.approve"),
        Binding("n", "reject", "Reject", tooltip="Send the selected approval back, with a comment",
                id="approvals.reject"),
        Binding("o", "open_account", "Open checklist", tooltip="Show the account's checklist",
                id="approvals.open"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._items: list[QueueItem] = []
        self._loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="queue-summary")
        yield CursorOptionList(id="queue-list")
        with VerticalScroll(id="queue-detail"):
            yield Static(id="queue-covered")
        yield Static(id="queue-message")
        yield WriteStatus()
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Approvals"

    def on_screen_resume(self) -> None:
        self.reload()

    def on_data_changed(self, message: DataChanged) -> None:
        self.reload()

    def reload(self) -> None:
        self._load_queue()

    @work(thread=True, exclusive=True, group=QUEUE_GROUP, exit_on_error=False)
    def _load_queue(self) -> list[QueueItem]:
        return queries.approval_queue()

    @work(thread=True, exclusive=True, group=COVERED_GROUP, exit_on_error=False)
    def _load_covered(self, item: QueueItem) -> tuple[QueueItem, tuple[StepView, ...]]:
        return item, queries.covered_steps(item.run_id, item.step)

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        # Results are applied here on the UI thread; a failure goes to the app's one handler, which shows it
        # (worker state messages do not bubble by themselves).
        if event.state == WorkerState.ERROR:
            self.app.post_message(event)
            return
        if event.state != WorkerState.SUCCESS:
            return
        if event.worker.group == QUEUE_GROUP:
            self._show_queue(event.worker.result)
        elif event.worker.group == COVERED_GROUP:
            item, steps = event.worker.result
            if item == self._selected():
                self._show_covered(item, steps)

    # Showing ---------------------------------------------------------------------------------------------
    def _show_queue(self, items: list[QueueItem]) -> None:
        previous = self._selected()
        self._items = items
        self._loaded = True
        self.set_class(not items, "-empty")
        count = len(items)
        self.query_one("#queue-summary", Static).update(Content(
            EMPTY if not items else
            f"{count} approval{'s' if count != 1 else ''} wait{'s' if count == 1 else ''} for a decision, "
            "oldest first."
        ))
        queue = self.query_one("#queue-list", CursorOptionList)
        keys = [(item.run_id, item.step) for item in items]
        if previous is not None and (previous.run_id, previous.step) in keys:
            highlight = keys.index((previous.run_id, previous.step))
        else:
            highlight = min(queue.highlighted or 0, max(count - 1, 0))
        queue.set_rows([self._row(item) for item in items], highlight)
        if items and self.focused is None:
            queue.focus()
        if not items:
            self.query_one("#queue-covered", Static).update("")
        else:
            self._request_covered()
        self.refresh_bindings()

    @staticmethod
    def _row(item: QueueItem) -> Content:
        return Content.assemble(
            (printable(item.account_name, keep_newlines=False), "bold"),
            " · ",
            printable(item.title, keep_newlines=False),
            f" (step {item.step})\n  submitted {local_time(item.submitted_at)} by ",
            printable(item.submitted_by or "—", keep_newlines=False),
            f" · covers {_covers(item)}",
        )

    @on(OptionList.OptionHighlighted, "#queue-list")
    def _item_highlighted(self) -> None:
        self._request_covered()

    @on(OptionList.OptionSelected, "#queue-list")
    def _item_selected(self) -> None:
        self.query_one("#queue-detail").focus()

    def _request_covered(self) -> None:
        item = self._selected()
        if item is not None:
            self._load_covered(item)

    def _show_covered(self, item: QueueItem, steps: tuple[StepView, ...]) -> None:
        parts = [
            Content.assemble(
                ("Decide: ", "bold"), (printable(item.title, keep_newlines=False), "bold"),
                " for ", (printable(item.account_name, keep_newlines=False), "bold"),
            ),
            one_line(f"Covers steps {_covers(item)}; submitted {local_time(item.submitted_at)} "
                  f"by {item.submitted_by or '—'}."),
        ]
        parts.extend(Content("\n") + step_summary(step) for step in steps)
        self.query_one("#queue-covered", Static).update(Content("\n").join(parts))

    def _say(self, message: str) -> None:
        self.query_one("#queue-message", Static).update(Content(printable(message)))

    # Actions ---------------------------------------------------------------------------------------------
    def _selected(self) -> QueueItem | None:
        if not self.is_mounted:
            return None
        index = self.query_one("#queue-list", CursorOptionList).highlighted
        if index is None or index >= len(self._items):
            return None
        return self._items[index]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("approve", "reject", "open_account"):
            return self._selected() is not None
        return True

    def action_approve(self) -> None:
        item = self._selected()
        if item is None:
            return
        self.app.writer.submit(lambda: services.approve(item.run_id, item.step),
                               lambda progress, error: self._decided(item, "Approved", progress, error))

    def action_reject(self) -> None:
        item = self._selected()
        if item is None:
            return
        covered = "step" if len(item.covers) == 1 else "steps"
        dialog = CommentDialog(
            f"Reject “{item.title}” for {item.account_name}?",
            f"Say what has to change. {covered.capitalize()} {_covers(item)} reopen to be redone. "
            "Enter rejects, Escape cancels.",
        )
        self.app.push_screen(dialog, lambda comment: self._reject(item, comment))

    def _reject(self, item: QueueItem, comment: str | None) -> None:
        if comment is None:
            self._say("Nothing was rejected.")
            return
        # The comment is the user's text: if the rejection cannot be made (decided meanwhile, database
        # unavailable) it is held, to apply on another gate decision, copy or discard.
        draft = new_held_edit(COMMENT, account_id=item.account_id, account_name=item.account_name, value=comment,
                              reason="", step=item.step, label=item.title, run_id=item.run_id)
        self.app.writer.submit(lambda: services.reject(item.run_id, item.step, comment),
                               lambda progress, error: self._decided(item, "Rejected", progress, error, held=True),
                               draft=draft)

    def _decided(self, item: QueueItem, verb: str, progress: Progress | None, error: DomainError | None,
                 held: bool = False) -> None:
        if error is not None:
            self._say(f"{error} Your comment is held: H lists held edits." if held else str(error))
        else:
            self._say(f"{verb} “{item.title}” for {item.account_name}. {progress.blocker}")
        if self.is_mounted:
            self.reload()

    def action_open_account(self) -> None:
        item = self._selected()
        if item is not None:
            self.app.open_account(item.account_id)
