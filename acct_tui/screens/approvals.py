"""The approval queue: every pending approval of every account, oldest first, with what the covered steps
contain, so an approver can decide without leaving the screen.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.worker import Worker, WorkerState

from acct_tui.errors import DomainError
from acct_tui.messages import DataChanged
from acct_tui.screens.binding_commands import ScreenBindingCommands
from acct_tui.screens.dialogs import CommentDialog
from acct_tui.store import queries, services
from acct_tui.store.held import COMMENT, new_held_edit
from acct_tui.store.queries import ApprovalDetail, QueueItem
from acct_tui.text import printable
from acct_tui.widgets.approval_detail import ApprovalDetailView, detail_lines
from acct_tui.widgets.key_footer import KeyFooter
from acct_tui.widgets.step_form import local_time
from acct_tui.widgets.step_list import CursorOptionList
from acct_tui.widgets.write_status import WriteStatus
from acct_tui.workflow import Progress

QUEUE_GROUP = "approvals-queue"
COVERED_GROUP = "approvals-covered"
EMPTY = "Nothing waits for approval."


def _covers(item: QueueItem) -> str:
    return ", ".join(map(str, item.covers))


class QueueList(CursorOptionList):
    """The pending approvals, two lines each."""

    BINDINGS = [
        Binding("enter", "select", "Read", show=False, tooltip="Go into the approval's detail to scroll it",
                id="approvals.read"),
    ]


class ApprovalsScreen(Screen):
    COMMANDS = {ScreenBindingCommands}
    BINDINGS = [
        Binding("y", "approve", "Approve", tooltip="Grant the selected approval", id="approvals.approve"),
        Binding("n", "reject", "Reject", tooltip="Send the selected approval back, with a comment",
                id="approvals.reject"),
        Binding("o", "open_account", "Checklist", tooltip="Show the account's checklist",
                id="approvals.open"),
        Binding("j", "move(1)", "Next approval", show=False, id="approvals.down"),
        Binding("k", "move(-1)", "Previous approval", show=False, id="approvals.up"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._items: list[QueueItem] = []
        self._loaded = False
        # The message line tells the outcome of the last decision until the user moves on to another
        # approval: the one highlighted when the queue was shown after the decision is its anchor.
        self._message_anchor: tuple[object, int] | None = None
        self._anchor_pending = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="queue-summary")
        yield QueueList(id="queue-list")
        yield ApprovalDetailView(id="queue-detail")
        yield Static(id="queue-message")
        yield WriteStatus()
        yield KeyFooter()

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
    def _load_covered(self, item: QueueItem) -> tuple[QueueItem, ApprovalDetail]:
        return item, queries.approval_detail(item.run_id, item.step)

    @on(Worker.StateChanged)
    async def _worker_done(self, event: Worker.StateChanged) -> None:
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
            item, detail = event.worker.result
            if item == self._selected():
                await self.query_one(ApprovalDetailView).show(detail_lines(item, detail))

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
        if self._anchor_pending:
            self._anchor_pending = False
            self._message_anchor = self._key(self._selected())
        if items and self.focused is None:
            queue.focus()
        if items:
            self._request_covered()
        self.refresh_bindings()

    @staticmethod
    def _row(item: QueueItem) -> Content:
        # Two lines that never wrap (the list cuts them with …): the step number comes before the long title.
        return Content.assemble(
            (printable(item.account_name, keep_newlines=False), "bold"),
            f" · step {item.step} · ",
            printable(item.title, keep_newlines=False),
            f"\n  submitted {local_time(item.submitted_at)} by ",
            printable(item.submitted_by or "—", keep_newlines=False),
            f" · covers {_covers(item)}",
        )

    @on(OptionList.OptionHighlighted, "#queue-list")
    def _item_highlighted(self) -> None:
        if self._key(self._selected()) != self._message_anchor:
            self._say("")
        self._request_covered()

    @staticmethod
    def _key(item: QueueItem | None) -> tuple[object, int] | None:
        return None if item is None else (item.run_id, item.step)

    @on(OptionList.OptionSelected, "#queue-list")
    def _item_selected(self) -> None:
        self.query_one("#queue-detail").focus()

    def _request_covered(self) -> None:
        item = self._selected()
        if item is not None:
            self._load_covered(item)

    def _say(self, message: str) -> None:
        """Say the outcome of a decision (or why there was none); it stays until the user moves on."""
        self._anchor_pending = bool(message)
        self._message_anchor = self._key(self._selected()) if message else None
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

    def action_move(self, rows: int) -> None:
        """j/k move in the queue wherever the focus is on this screen (the list, or what the steps contain)."""
        queue = self.query_one("#queue-list", CursorOptionList)
        queue.action_cursor_down() if rows > 0 else queue.action_cursor_up()

    def action_approve(self) -> None:
        item = self._selected()
        if item is None:
            return
        self._say("")  # the outcome of the previous decision is no news while deciding this one
        self.app.writer.submit(lambda: services.approve(item.run_id, item.step),
                               lambda progress, error: self._decided(item, "Approved", progress, error))

    def action_reject(self) -> None:
        item = self._selected()
        if item is None:
            return
        self._say("")
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
