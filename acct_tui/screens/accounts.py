"""The account list: every account with its progress, filtered as you type (text or a query such as
`owner:alice overdue`), sorted by any column, and saved views that a key switches to."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Callable

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Header, Input, Label, Static
from textual.worker import Worker, WorkerState

from acct_tui.errors import DomainError
from acct_tui.keymap import current_key_display
from acct_tui.messages import DataChanged
from acct_tui.newest_read import newest_read
from acct_tui.screens.account_form import AccountForm, ArchiveDialog
from acct_tui.screens.mode_screen import ModeScreen
from acct_tui.screens.view_dialogs import ColumnsDialog, SaveViewDialog
from acct_tui.store.queries import account_detail, account_list, latest_change
from acct_tui.store.services import archive_account
from acct_tui.store.views import View, delete_view, save_view, saved_views
from acct_tui.sync.conflicts import accounts_with_conflicts
from acct_tui.text import printable
from acct_tui.widgets.account_table import (
    COLUMNS,
    NAME_COLUMN,
    AccountTable,
    Rows,
    owners_of,
    prepare_rows,
)
from acct_tui.widgets.editors import LineEditor
from acct_tui.widgets.key_footer import KeyFooter
from acct_tui.widgets.query_suggester import QuerySuggester
from acct_tui.widgets.write_status import WriteStatus

LOAD_WORKER = "load-accounts"
FIRST_PAGE = 100  # rows shown before the whole portfolio has loaded: more than the tallest terminal


def _shortened(text: str, limit: int = 16) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AccountCommands(Provider):
    """The account list's actions by name in the command palette (ctrl+p), sorting by each column too."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        """(title, help, callback) of what can be done now: the screen's `check_action` decides, as for keys."""
        screen = self.screen
        assert isinstance(screen, AccountsScreen)
        actions = (
            ("add", "Add account", "Add an account"),
            ("edit", "Edit account", "Edit the selected account"),
            ("archive", "Archive or restore account", "Hide the selected account, or bring it back"),
            ("toggle_archived", "Show or hide archived accounts", "Archived accounts in the list or not"),
            ("filter", "Filter accounts", "By name or owner, or a query such as owner:alice overdue"),
            ("load_demo", "Load demo portfolio", "36 accounts to try the app on (empty database only)"),
            ("save_view", "Save this view", "The filter, sort, archived toggle and columns, under a name and a key"),
            ("choose_columns", "Choose columns", "Show or hide columns of the list"),
        )
        keys = {binding.action: current_key_display(self.app, binding) for binding in screen.BINDINGS
                if isinstance(binding, Binding)}
        commands = [
            (title, f"{help_text} (key {keys[action]})", partial(screen.run_action, action))
            for action, title, help_text in actions
            if screen.check_action(action, ())
        ]
        commands += [
            (f"View: {view.name}", f"Switch to this saved view (key {view.key})", partial(screen.apply_view, view))
            for view in screen.views
        ]
        commands += [
            (f"Delete view: {view.name}", f"Forget this saved view (it used key {view.key})",
             partial(screen.forget_view, view))
            for view in screen.views
        ]
        commands += [
            (f"Sort by {column.title.lower()}", f"Sort the account list by {column.title.lower()}",
             partial(screen.sort_by, column.key))
            for column in COLUMNS
        ]
        return commands

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(Content(printable(title, keep_newlines=False)), callback, text=title,
                               help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                # View names are user text: shown as Content, never parsed as markup.
                yield Hit(score, Content(printable(title, keep_newlines=False)), callback, text=title,
                          help=help_text)


class SavedViewCommands(AccountCommands):
    """The user's saved views in the palette of every other screen: each goes to the account list showing it
    (the account list's own commands list them there)."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        accounts = accounts_screen(self.app)
        if accounts is None or isinstance(self.screen, AccountsScreen):
            return []
        return [(f"View: {view.name}", f"The account list with this saved view (key {view.key})",
                 partial(accounts.open_view, view)) for view in accounts.views]


def accounts_screen(app: App) -> AccountsScreen | None:
    """The account list (the first screen of its mode), once it has been shown."""
    stack = app.get_screen_stack("accounts")
    return stack[0] if stack and isinstance(stack[0], AccountsScreen) else None


class FilterInput(LineEditor):
    """The filter line. Letters are typed here, so its footer names the keys that still act: how to get
    to the list (where enter opens an account) and how to add one."""

    BINDINGS = [
        Binding("enter", "submit", "To the list, enter opens", key_display="⏎",
                tooltip="Keep the filter and go to the list, where enter opens the highlighted account",
                id="accounts.filter_done"),
        Binding("ctrl+n", "screen.add", "Add account", tooltip="Add an account", id="accounts.add_from_filter"),
    ]

    def __init__(self, on_change: Callable[[str], None], **kwargs) -> None:
        super().__init__(**kwargs)
        self._on_change = on_change

    def post_message(self, message: Message) -> bool:
        # The filter is applied while the key is handled, not once `Changed` has travelled up to the screen
        # (three message queues, a few ms): the frame after the key then shows the list the key made, not the
        # letter alone and the list a frame (17 ms) later.
        if (isinstance(message, Input.Changed) and message.input is self
                and Input.Changed not in self._get_prevented_messages()):
            self._on_change(message.value)
            return True
        return super().post_message(message)


class AccountsScreen(ModeScreen):
    """Accounts: add (a), edit (e), archive (x), filter (/), sort (s, S), open a checklist (enter)."""

    SUB_TITLE = "Accounts"
    COMMANDS = {AccountCommands}
    # The footer has room at 80 columns for the keys shown here; `?` lists all of them.
    BINDINGS = [
        Binding("a", "add", "Add", tooltip="Add an account", id="accounts.add"),
        Binding("e", "edit", "Edit", tooltip="Edit the selected account", id="accounts.edit"),
        Binding("x", "archive", "Archive", tooltip="Archive or restore the selected account",
                id="accounts.archive"),
        Binding("D", "load_demo", "Demo", tooltip="Load the demo portfolio (only into an empty database)",
                id="accounts.load_demo"),
        # Priority, and focus moved at once (not with `focus()`, which waits its turn): "/name" typed in one
        # read over a slow link must land in the filter, not in the list.
        Binding("slash", "filter", "Filter", key_display="/", show=False, priority=True,
                tooltip="Filter by name or owner as you type", id="accounts.filter"),
        Binding("s", "next_sort", "Sort", show=False, tooltip="Sort by the next column", id="accounts.sort"),
        Binding("S", "reverse_sort", "Reverse sort", show=False, tooltip="Reverse the sort order",
                id="accounts.reverse_sort"),
        Binding("z", "toggle_archived", "Archived", show=False, tooltip="Show or hide archived accounts",
                id="accounts.toggle_archived"),
        Binding("escape", "clear_filter", "Clear", tooltip="Clear the filter", id="accounts.clear_filter"),
        Binding("v", "save_view", "Save view", show=False,
                tooltip="Save the filter, sort, archived toggle and columns as a view on a key",
                id="accounts.save_view"),
        Binding("c", "choose_columns", "Columns", show=False, tooltip="Choose the columns shown",
                id="accounts.choose_columns"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.loaded_once = False
        self.demo_loading = False
        # Set each time freshly loaded rows are on screen: tests (and anything else) can wait on a reload.
        self.rows_loaded = asyncio.Event()  # set when every account is loaded and shown
        self.showing_first_page = False
        self._loaded_change: datetime | None = None
        self._select_after_load: uuid.UUID | None = None
        self._reload_requested = False
        self.views: list[View] = []  # the user's saved views, by name
        # Made here, not in compose, so `check_action` can ask them at any time.
        self.table = AccountTable(id="accounts")
        self.suggester = QuerySuggester()
        self.filter_input = FilterInput(
            self._filter_changed, placeholder="name or owner, or owner: stage: overdue waiting… (→ completes)",
            id="filter", compact=True, suggester=self.suggester)
        self.status_line = Static(id="status")
        self._footer_states: tuple[object, ...] = ()  # what `_binding_states` was when the footer was last told

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filter-bar"):
            yield Label("Filter /", id="filter-label")
            yield self.filter_input
        yield self.table
        yield self.status_line
        yield WriteStatus()
        yield KeyFooter()

    def on_mount(self) -> None:
        self.table.focus()
        self._update_status()

    # Loading ---------------------------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        # Coming back from another screen: at 100,000 accounts a reload costs seconds of a core, so only
        # when something changed since the last load.
        if self.loaded_once and self.rows_loaded.is_set() and latest_change() == self._loaded_change:
            self.show_now()  # the list as it was: no need to wait out Textual's pause after a mode switch
            return
        self.reload()

    @on(DataChanged)
    def _on_data_changed(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Load every account again, off the UI thread. Requests that arrive before the load starts share
        it (switching to this screen brings two resumes at once, a burst of changes several messages):
        at 100,000 accounts each needless load would cost a second of a core."""
        self.rows_loaded.clear()
        if not self._reload_requested:
            self._reload_requested = True
            self.call_later(self._start_reload)

    def _start_reload(self) -> None:
        self._reload_requested = False
        self._load_rows()

    @newest_read(LOAD_WORKER)
    def _load_rows(self) -> tuple[datetime | None, Rows, tuple[str, ...], list[View]]:
        change = latest_change()  # read first: rows at least this new follow
        conflicted = accounts_with_conflicts()
        if not self.loaded_once:  # the first screenful at once, the whole portfolio after it
            first_page = prepare_rows(account_list(include_archived=True, limit=FIRST_PAGE), conflicted)
            self.app.call_from_thread(self._show_rows, first_page, False)
        accounts = prepare_rows(account_list(include_archived=True), conflicted)
        return change, accounts, owners_of(accounts), saved_views()

    @on(Worker.StateChanged)
    def _on_worker_state(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR:
            self.app.post_message(event)  # the app's one handler tells the user
            return
        if event.state != WorkerState.SUCCESS:
            return
        if worker.name == LOAD_WORKER:
            self._loaded_change, accounts, self.suggester.owners, self.views = worker.result
            self._show_rows(accounts)

    def _show_rows(self, accounts: Rows, complete: bool = True) -> None:
        """Show loaded rows: every account, or (`complete` false) the first screenful while the rest loads."""
        self.loaded_once = True
        self.showing_first_page = not complete
        self.table.set_rows(accounts, select=self._select_after_load if complete else None)
        if complete:
            self._select_after_load = None
            self.rows_loaded.set()
        self._update_status()
        self._refresh_bindings_when_changed()
        self.show_now()

    # Status ----------------------------------------------------------------------------------------

    def _empty_message(self) -> str:
        table = self.table
        if self.demo_loading:
            return "Loading the demo portfolio…"
        if table.total_count == 0:
            return ("No accounts yet. Press a to add an account, or D to load a demo portfolio of 36 "
                    "accounts at every point of the workflow.")
        if table.filter_text:
            return (f"No account matches “{printable(table.filter_text, keep_newlines=False)}”. "
                    "Press Escape to clear the filter.")
        return "Every account is archived. Press z to show archived accounts, or a to add one."

    def _update_status(self) -> None:
        table = self.table
        table.empty_message = self._empty_message()
        table.refresh()
        if not self.loaded_once:
            status = "Loading accounts…"
        elif self.showing_first_page:
            status = f"The first {table.total_count:,} accounts by name · loading the rest…"
        else:
            archived = table.total_count - table.active_count
            shown_from = table.total_count if table.show_archived else table.active_count
            status = f"{table.shown_count:,} of {shown_from:,} accounts"
            if table.query_problems:  # what the user typed wrong matters more than the rest of the line
                self.status_line.update(Content(f"{status} · {table.query_problems[0]}"), layout=False)
                return
            if view := self._view_shown():
                status = f"View “{_shortened(printable(view.name, keep_newlines=False))}” ({view.key}) · " + status
            if table.filter_text:
                status += f" matching “{_shortened(printable(table.filter_text, keep_newlines=False))}”"
            status += f" · by {table.sort_column.title.lower()} {'▼' if table.sort_descending else '▲'}"
            if table.show_archived:
                status += " · archived shown (z)"
            elif archived:
                status += f" · {archived:,} archived hidden (z)"
        self.status_line.update(Content(status), layout=False)  # one line, always

    def _binding_states(self) -> tuple[object, ...]:
        """Everything the footer's keys depend on here: what has focus and what `check_action` answers."""
        return (self.focused, self.table.check_action("open", ()),
                *(self.check_action(binding.action, ()) for binding in self.BINDINGS))

    def refresh_bindings(self) -> None:
        self._footer_states = self._binding_states()
        super().refresh_bindings()

    def _refresh_bindings_when_changed(self) -> None:
        """Tell the footer only when one of its keys changed: it rebuilds every key it shows when told, which
        at each filter keystroke took more time than filtering 100,000 accounts."""
        if self._binding_states() != self._footer_states:
            self.refresh_bindings()

    @on(AccountTable.Highlighted)
    def _on_highlighted(self) -> None:
        self._refresh_bindings_when_changed()

    @on(AccountTable.Opened)
    def _on_opened(self, event: AccountTable.Opened) -> None:
        self.app.open_account(event.account.row.id)

    # Filter and sort ---------------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.set_focus(self.filter_input)

    def _filter_changed(self, text: str) -> None:
        self.table.set_filter(text)
        self._update_status()

    @on(Input.Submitted, "#filter")
    def _on_filter_submitted(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        self.filter_input.value = ""
        self.table.focus()

    # Saved views -----------------------------------------------------------------------------------------

    def _current_view(self, name: str = "", key: str = "") -> View:
        table = self.table
        return View(name, key, table.filter_text, table.sort_column.key, table.sort_descending, table.show_archived,
                    tuple(column for column in table.column_keys if column != NAME_COLUMN))

    def _view_shown(self) -> View | None:
        """The saved view the list shows now, if it shows one."""
        current = self._current_view()
        return next((view for view in self.views if replace(current, name=view.name, key=view.key) == view), None)

    def apply_view(self, view: View) -> None:
        """Switch to a saved view: its filter, sort, archived toggle and columns, in one go."""
        self.table.apply_view(view.filter_text, view.sort_column, view.sort_descending, view.show_archived,
                              view.columns)
        with self.filter_input.prevent(Input.Changed):  # the table has the filter already
            self.filter_input.value = view.filter_text
        self._update_status()
        self._refresh_bindings_when_changed()

    def open_view(self, view: View) -> None:
        """Go to the account list (from any screen) and switch it to a saved view."""
        self.app.switch_mode("accounts")
        self.apply_view(view)

    def view_for_key(self, key: str) -> View | None:
        """The user's saved view that `key` switches to, if any."""
        return next((view for view in self.views if view.key == key), None)

    def on_key(self, event: events.Key) -> None:
        view = self.view_for_key(event.key)
        if view is not None:
            event.stop()
            event.prevent_default()
            self.apply_view(view)

    def action_save_view(self) -> None:
        taken = {key: active.binding.description for key, active in self.active_bindings.items()}
        current = self._current_view()
        summary = (f"Filter “{current.filter_text or '(none)'}”, sorted by {self.table.sort_column.title.lower()}"
                   f"{' descending' if current.sort_descending else ''}, archived "
                   f"{'shown' if current.show_archived else 'hidden'}, {len(current.columns) + 1} columns.")
        self.app.push_screen(SaveViewDialog(summary, self.views, taken), self._after_view_named)

    def _after_view_named(self, answer: tuple[str, str] | None) -> None:
        if answer is not None:
            view = self._current_view(*answer)
            self.app.writer.submit(lambda: self._saved_view(save_view(view)), self._views_changed)

    @staticmethod
    def _saved_view(saved: View) -> tuple[str, list[View]]:
        return f"Saved the view “{saved.name}”: {saved.key} switches to it.", saved_views()

    def forget_view(self, view: View) -> None:
        self.app.writer.submit(lambda: self._forgot_view(view), self._views_changed)

    @staticmethod
    def _forgot_view(view: View) -> tuple[str, list[View]]:
        delete_view(view.name)
        return f"Deleted the view “{view.name}”; {view.key} is free again.", saved_views()

    def _views_changed(self, result: tuple[str, list[View]] | None, error: DomainError | None) -> None:
        """A view saved or deleted by the writer: say so (or why not), and know the user's views anew."""
        if error is not None:
            self.notify(printable(str(error)), severity="error", timeout=10, markup=False)
            return
        message, self.views = result
        self.notify(printable(message), markup=False)
        self._update_status()

    def action_choose_columns(self) -> None:
        columns = [(column.key, column.title) for column in COLUMNS if column.key != NAME_COLUMN]
        self.app.push_screen(ColumnsDialog(columns, self.table.column_keys), self._after_columns_chosen)

    def _after_columns_chosen(self, keys: tuple[str, ...] | None) -> None:
        if keys is not None:
            self.table.set_columns(keys)
            self._update_status()

    def sort_by(self, key: str) -> None:
        self.table.sort_by(key)
        self._update_status()

    def action_next_sort(self) -> None:
        keys = [column.key for column in COLUMNS]
        self.sort_by(keys[(keys.index(self.table.sort_column.key) + 1) % len(keys)])

    def action_reverse_sort(self) -> None:
        self.table.reverse_sort()
        self._update_status()

    def action_toggle_archived(self) -> None:
        self.table.set_show_archived(not self.table.show_archived)
        self._update_status()

    # Changes ---------------------------------------------------------------------------------------

    def action_add(self) -> None:
        self.app.push_screen(AccountForm(), self._after_save)

    def action_edit(self) -> None:
        selected = self.table.selected
        if selected is None:
            return
        try:
            account = account_detail(selected.row.id)
        except DomainError as error:  # gone or unreadable since the list was loaded
            self.notify(printable(str(error)), severity="error", markup=False)
            self.reload()
            return
        self.app.push_screen(AccountForm(account), self._after_save)

    def _after_save(self, account_id: uuid.UUID | None) -> None:
        if account_id is not None:
            self._select_after_load = account_id
            self.reload()

    def action_archive(self) -> None:
        selected = self.table.selected
        if selected is not None:
            self.app.push_screen(ArchiveDialog(selected.row.name, selected.row.archived),
                                 partial(self._after_archive_choice, selected.row.id, not selected.row.archived))

    def _after_archive_choice(self, account_id: uuid.UUID, archived: bool, confirmed: bool | None) -> None:
        if confirmed:
            self.app.writer.submit(lambda: archive_account(account_id, archived=archived), self._changed)

    def action_load_demo(self) -> None:
        from acct_tui.demo import load_demo_portfolio

        self.demo_loading = True
        self._update_status()
        self._refresh_bindings_when_changed()
        self.app.writer.submit(load_demo_portfolio, self._demo_loaded)

    def _demo_loaded(self, count: int | None, error: DomainError | None) -> None:
        self.demo_loading = False
        if error is None:
            self.notify(f"Loaded the demo portfolio: {count} accounts.", markup=False)
        self._changed(None, error)

    def _changed(self, _: object, error: DomainError | None) -> None:
        """A change handed to the writer is done: say what went wrong, if anything, and show the list anew."""
        if error is not None:
            self.notify(printable(str(error)), severity="error", timeout=10, markup=False)
        if self.is_mounted:
            self._update_status()
            self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "archive"):
            return self.table.selected is not None or None
        if action == "load_demo":
            # Only offered on an empty database: a stray D must not mix demo data into real accounts.
            return self.loaded_once and self.table.total_count == 0 and not self.demo_loading
        if action == "clear_filter":
            # `focused`, not `has_focus`: the footer is told of a focus change before the widget hears of it
            return bool(self.table.filter_text) or self.focused is self.filter_input
        if action == "filter":
            return self.focused is not self.filter_input  # there, "/" is a character of the filter
        return True
