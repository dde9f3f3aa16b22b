"""The approval queue: every pending approval of every account, oldest first, with what the covered steps
contain, so an approver can decide without leaving the screen.

The queue is read a page at a time with a count (13,918 pending approvals show as quickly as ten): a reload
reads the count and the page around the highlighted approval, which keeps its place; scrolling or moving
further reads the pages it reaches. Keys typed after a move to a row still loading wait for its page, so
`end` then `y` approves the last approval, as it would with every row loaded.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Header, Static
from textual.worker import Worker, WorkerState

from acct_tui.errors import DomainError
from acct_tui.messages import DataChanged
from acct_tui.newest_read import newest_read
from acct_tui.screens.binding_commands import ScreenBindingCommands
from acct_tui.screens.dialogs import CommentDialog
from acct_tui.screens.mode_screen import ModeScreen
from acct_tui.store import queries, services
from acct_tui.store.held import COMMENT, new_held_edit
from acct_tui.store.queries import ApprovalDetail, QueueItem
from acct_tui.text import printable
from acct_tui.typeahead import hold_keys_for
from acct_tui.widgets.approval_detail import ApprovalDetailView, detail_lines
from acct_tui.widgets.approval_queue import QueueList, covers_text
from acct_tui.widgets.key_footer import KeyFooter
from acct_tui.widgets.write_status import WriteStatus
from acct_tui.workflow import Progress

QUEUE_GROUP = "approvals-queue"
PAGE_GROUP = "approvals-page"
COVERED_GROUP = "approvals-covered"
EMPTY = "Nothing waits for approval."
PAGE_SIZE = 100


def _window_start(index: int) -> int:
    """The first row of the page read to show row `index`: rows on both sides of it (moving up or down)."""
    return max(0, index - PAGE_SIZE // 2)


class ApprovalsScreen(ModeScreen):
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
        self._loaded = False
        # Pages of the queue as it was at the last reload (older pages still on their way are dropped), and
        # the windows (first row) being read for it.
        self._generation = 0
        self._pages_loading: set[int] = set()
        # The row the cursor was on when the running reload started: a move meanwhile reloads again from there.
        self._reload_from: int | None = None
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
        queue = self.query_one(QueueList)
        self._reload_from = queue.cursor
        self._load_queue(queue.selected, queue.cursor or 0)

    @newest_read(QUEUE_GROUP)
    def _load_queue(self, anchor: QueueItem | None, index: int) -> tuple[int, int, int, list[QueueItem]]:
        """The count and the rows around the approval `anchor` (where it stands now), else around row `index`
        (the approval there was decided): (count, cursor, first row, rows)."""
        position = None if anchor is None else queries.approval_queue_position(anchor.run_id, anchor.step)
        count = queries.approval_queue_count()
        cursor = position if position is not None else min(index, max(count - 1, 0))
        start = _window_start(cursor)
        return count, cursor, start, queries.approval_queue(start, PAGE_SIZE)

    @work(thread=True, group=PAGE_GROUP, exit_on_error=False)
    def _load_page(self, generation: int, start: int) -> tuple[int, int, list[QueueItem]]:
        return generation, start, queries.approval_queue(start, PAGE_SIZE)

    @newest_read(COVERED_GROUP)
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
            if self.query_one(QueueList).cursor != self._reload_from:
                self.reload()  # the user moved meanwhile: keep the approval they moved to
            else:
                self._show_queue(*event.worker.result)
        elif event.worker.group == PAGE_GROUP:
            self._show_page(*event.worker.result)
        elif event.worker.group == COVERED_GROUP:
            item, detail = event.worker.result
            if item == self._selected():
                await self.query_one(ApprovalDetailView).show(detail_lines(item, detail))

    # Showing ---------------------------------------------------------------------------------------------
    def _show_queue(self, count: int, cursor: int, start: int, items: list[QueueItem]) -> None:
        self._loaded = True
        self._generation += 1
        self._pages_loading.clear()
        self.set_class(not count, "-empty")
        self.query_one("#queue-summary", Static).update(Content(
            EMPTY if not count else
            f"{count} approval{'s' if count != 1 else ''} wait{'s' if count == 1 else ''} for a decision, "
            "oldest first."
        ))
        queue = self.query_one(QueueList)
        queue.show(count, start, items, cursor)
        if self._anchor_pending:
            self._anchor_pending = False
            self._message_anchor = self._key(self._selected())
        if count and self.focused is None:
            queue.focus()
        if count:
            self._request_covered()
        self.refresh_bindings()
        self.show_now()

    def _show_page(self, generation: int, start: int, items: list[QueueItem]) -> None:
        if generation != self._generation:
            return  # read before the queue was reloaded: the rows may have moved since
        self._pages_loading.discard(start)
        queue = self.query_one(QueueList)
        had_selected = queue.selected is not None
        queue.add_page(start, items)
        if not had_selected and queue.selected is not None:
            self._request_covered()

    @on(QueueList.PageWanted, "#queue-list")
    def _page_wanted(self, event: QueueList.PageWanted) -> None:
        if any(start <= event.index < start + PAGE_SIZE for start in self._pages_loading):
            return
        start = _window_start(event.index)
        self._pages_loading.add(start)
        loading = self._load_page(self._generation, start)
        if event.index == event.queue_list.cursor:
            hold_keys_for(self.app, loading)  # keys typed after moving there act on that approval

    @on(QueueList.Highlighted, "#queue-list")
    def _item_highlighted(self) -> None:
        if self._key(self._selected()) != self._message_anchor:
            self._say("")
        self._request_covered()

    @staticmethod
    def _key(item: QueueItem | None) -> tuple[object, int] | None:
        return None if item is None else (item.run_id, item.step)

    @on(QueueList.Selected, "#queue-list")
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
        """The highlighted approval (None while its page is read: keys typed meanwhile wait for it)."""
        if not self.is_mounted:
            return None
        return self.query_one(QueueList).selected

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("approve", "reject", "open_account"):
            return self.is_mounted and self.query_one(QueueList).cursor is not None
        return True

    def action_move(self, rows: int) -> None:
        """j/k move in the queue wherever the focus is on this screen (the list, or what the steps contain)."""
        queue = self.query_one(QueueList)
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
            f"Say what has to change. {covered.capitalize()} {covers_text(item)} reopen to be redone. "
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
