"""The application: four top-level screens as modes, global keys, the change watcher and orderly exit.

The app never opens the database: `acct_tui.cli` (or a test fixture) calls `open_database(path)` first, on
the thread that then runs the app, so the change watcher reads that thread's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Callable, Iterable

import peewee
from textual import events, on, work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import Theme
from textual.worker import Worker, WorkerState

from acct_tui.errors import DomainError
from acct_tui.keymap import current_key_display, load_keymap
from acct_tui.messages import DataChanged
from acct_tui.screens.accounts import AccountsScreen, SavedViewCommands, accounts_screen
from acct_tui.screens.help import KeysScreen
from acct_tui.screens.mode_screen import ModeSwitchApp
from acct_tui.settings import load_settings, save_setting
from acct_tui.store.backend import is_database_url
from acct_tui.store.db import change_watch_seconds, data_version
from acct_tui.store.held import HeldStore, held_path
from acct_tui.store.writer import Writer
from acct_tui.stylesheet import parse_css_once, stylesheet_path
from acct_tui.text import printable
from acct_tui.typeahead import KeysInOrderApp

EXIT_SIGNALS = (signal.SIGHUP, signal.SIGTERM)
# After a hang-up the terminal is gone, and restoring it can block for ever: every edit is saved by the time
# the screens have unmounted, so the process ends itself if the orderly exit has not finished by then.
EXIT_GRACE_SECONDS = 5.0
# At exit, changes still being written get this long to finish; whatever has not is held for next time.
EXIT_WRITE_GRACE_SECONDS = 3.0
# Quitting waits this long for saves just handed to the writer before asking about them.
QUIT_SETTLE_SECONDS = 0.5
QUIT_SETTLE_STEPS = 25
# While held edits could not be written to their file (a full disk), writing them is tried this often.
HELD_RETRY_SECONDS = 5.0
WAITING_STATUS = "Waiting for the database: another program is writing… your edits are held."
SERVER_AWAY_STATUS = "Database server unreachable: your edits are held and saved when it is back."
# The footer shows the four screen keys as one item ("1234 Screens"): room for each screen's own keys at 80.
SCREEN_KEYS = Binding.Group("Screens", compact=True)


# The other screens are imported when first shown: start-up stays quick over a slow link.
def _checklist_screen() -> Screen:
    from acct_tui.screens.checklist import ChecklistScreen

    return ChecklistScreen()


def _approvals_screen() -> Screen:
    from acct_tui.screens.approvals import ApprovalsScreen

    return ApprovalsScreen()


def _reports_screen() -> Screen:
    from acct_tui.screens.reports import ReportsScreen

    return ReportsScreen()


# mode name, key, title, what it is for (command palette help)
SCREENS = (
    ("accounts", "1", "Accounts", "Every account, its progress and what is next"),
    ("checklist", "2", "Checklist", "The 20 steps of the chosen account"),
    ("approvals", "3", "Approvals", "Every approval waiting for a decision"),
    ("reports", "4", "Reports", "The portfolio at a glance"),
)


class AcctApp(ModeSwitchApp, KeysInOrderApp):
    """acct-tui. `current_account_id` is the account the checklist shows (set by `open_account`)."""

    TITLE = "acct-tui"
    CSS_PATH = stylesheet_path()
    COMMANDS = KeysInOrderApp.COMMANDS | {SavedViewCommands}
    MODES = {
        "accounts": AccountsScreen,
        "checklist": _checklist_screen,
        "approvals": _approvals_screen,
        "reports": _reports_screen,
    }
    BINDINGS = [
        *(
            Binding(key, f"app.switch_mode('{mode}')", title, id=f"screen.{mode}", group=SCREEN_KEYS)
            for mode, key, title, _ in SCREENS
        ),
        Binding("question_mark", "app.show_keys", "Keys", key_display="?", id="app.keys"),
        Binding("u", "app.undo", "Undo", show=False, tooltip="Undo your last change (shows it first)",
                id="app.undo"),
        Binding("ctrl+r", "app.redo", "Redo", show=False, tooltip="Redo the change you last undid (shows it first)",
                id="app.redo"),
        Binding("H", "app.show_held", "Held edits", show=False, id="app.held"),
        Binding("exclamation_mark", "app.show_conflicts", "Conflicts", show=False, key_display="!",
                tooltip="What both sides of a sync changed: keep mine, take theirs, or merge", id="app.conflicts"),
        Binding("Y", "app.sync", "Sync", show=False, tooltip="Sync with the host last synced with", id="app.sync"),
        Binding("escape", "app.back", "Back", id="app.back"),
        Binding("ctrl+q", "app.quit", "Quit", priority=True, id="app.quit"),
        # Focus moves as soon as tab is read, before the keys typed after it are handed out: over a slow link
        # "name<tab>owner" arrives in one read, and without priority "owner" would land in the name field.
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True, id="app.focus_next"),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True,
                id="app.focus_previous"),
    ]

    # What the line above every footer says about saving (see WriteStatus); empty hides it.
    write_status = reactive("")

    def __init__(self, db_path: Path | str, *, watch_interval: float | None = None,
                 startup_warnings: Iterable[str] = ()) -> None:
        parse_css_once()
        super().__init__()
        self.db_path = db_path if is_database_url(db_path) else Path(db_path)
        self.watch_interval = watch_interval
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            # Textual glides focus into view at 50 lines a second, a frame every 1/60 s: over a slow SSH link
            # that is a dozen screens sent for one Tab. The app's own scrolls jump; so does everything else
            # unless the user asks for animations.
            self.animation_level = "none"
        user_keymap = load_keymap()
        self.set_keymap(user_keymap.keys)
        self.startup_warnings = (*startup_warnings, *filter(None, [user_keymap.problem]))
        saved_theme = load_settings().get("theme")
        if isinstance(saved_theme, str) and saved_theme in self.available_themes:
            self.theme = saved_theme
        self.current_account_id: uuid.UUID | None = None
        self._seen_data_version: int | None = None
        self._watch_failed = False
        # Text typed that could not be saved, and the one writer every change goes through (off this thread).
        self.held = HeldStore(held_path(self.db_path))
        self.writer: Writer | None = None
        self._write_grace_at_exit = EXIT_WRITE_GRACE_SECONDS

    def on_mount(self) -> None:
        # What exists by now (modules, classes, Textual's own objects) lives as long as the app: kept out of
        # the collector's full passes, which otherwise walk all of it again and again while 100,000 accounts
        # load and now and then between two keystrokes (35-110 ms a pass).
        gc.freeze()
        # Textual handles neither SIGHUP (SSH dropped, terminal closed) nor SIGTERM: without these handlers
        # the process dies at once and leaves the terminal in the alternate screen.
        loop = asyncio.get_running_loop()
        for signal_number in EXIT_SIGNALS:
            loop.add_signal_handler(signal_number, self._exit_on_signal, signal_number)
        self._seen_data_version = data_version()
        self.set_interval(self.watch_interval or change_watch_seconds(), self._check_for_changes,
                          name="data-version watch")
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self.writer = Writer(self.held, self._deliver_from_writer(), self._writer_waiting)
        self.set_interval(HELD_RETRY_SECONDS, self._retry_held_file, name="held edits retry")
        self.show_write_status()
        self.switch_mode("accounts")
        for warning in self.startup_warnings:
            self.notify(printable(warning), title="Warning", severity="warning", timeout=30, markup=False)

    def _remember_theme(self, theme: Theme) -> None:
        if load_settings().get("theme") == theme.name:
            return  # the saved theme applied at start: nothing new to write
        try:
            save_setting("theme", theme.name)
        except OSError as error:
            self.notify(printable(f"Cannot remember the theme: {error}"), severity="warning", markup=False)

    def on_unmount(self) -> None:
        gc.unfreeze()  # another app in this process (tests) starts from a collectable heap
        loop = asyncio.get_running_loop()
        for signal_number in EXIT_SIGNALS:
            loop.remove_signal_handler(signal_number)
        if self.writer is not None:
            # The screens have gone and handed their last edits to the writer: those saves get a moment to
            # finish; the text of any still waiting stays held for the next start.
            self.writer.finish(self._write_grace_at_exit)

    # Saving ----------------------------------------------------------------------------------------------
    def _deliver_from_writer(self) -> Callable[[Callable[[], None]], None]:
        """How the writer thread hands results back: queued on this app's loop, never waiting for it."""
        loop = asyncio.get_running_loop()

        def deliver(callback: Callable[[], None]) -> None:
            # As a message of the app's own (`call_next`): the callback runs with the app active (it may push a
            # screen), in order with the app's other messages.
            loop.call_soon_threadsafe(self.call_next, self._run_writer_callback, callback)

        return deliver

    def _run_writer_callback(self, callback: Callable[[], None]) -> None:
        if not self.is_running:
            return
        # The writer's commits are this app's own: the screen that asked reloads what it needs, so the
        # change watcher does not make the screen in front load everything again for them.
        with contextlib.suppress(sqlite3.Error, peewee.PeeweeException):  # the watcher says it if it fails
            self._seen_data_version = data_version()
        callback()
        self.show_write_status()

    def _writer_waiting(self, waiting: bool) -> None:
        self.show_write_status()

    def _retry_held_file(self) -> None:
        if not self.held.durable:
            self.held.flush()
            self.show_write_status()

    def show_write_status(self) -> None:
        """Say on every screen that the app waits for the database, or that typed text is held unsaved."""
        parts = []
        if self.writer is not None and self.writer.waiting:
            parts.append(SERVER_AWAY_STATUS if self.writer.waiting_for_server else WAITING_STATUS)
        count = len(self.held)
        if count and not parts:
            parts.append(f"{count} unsaved edit{'s' if count != 1 else ''} held: review with H.")
        if self.held.problem:
            parts.append(self.held.problem)
        self.write_status = " ".join(parts)

    def action_show_held(self) -> None:
        from acct_tui.screens.held import HeldEditsScreen

        # A screen showing one account's step offers that step's held edits first.
        held_place = getattr(self.screen, "held_place", None)
        self.push_screen(HeldEditsScreen(held_place() if held_place else None), lambda _: self.show_write_status())

    async def action_quit(self) -> None:
        """Quit; with text held or still waiting for the database, ask first (the text stays held)."""
        from acct_tui.screens.held import ConfirmDialog

        save_pending_edits = getattr(self.screen, "save_pending_edits", None)
        if save_pending_edits is not None:
            save_pending_edits()
        waiting = False
        if self.writer is not None:
            # Saves just handed over normally finish at once; a moment's wait (the UI still answers) tells
            # them from saves waiting for another program's lock, whose text is held before asking.
            for _ in range(QUIT_SETTLE_STEPS):
                if not self.writer.busy:
                    break
                await asyncio.sleep(QUIT_SETTLE_SECONDS / QUIT_SETTLE_STEPS)
            waiting = bool(self.writer.busy)
            if waiting:
                self.writer.hold_unfinished()
        count = len(self.held)
        if not count or isinstance(self.screen, ConfirmDialog):
            self.exit()
            return
        what = f"{count} edit{'s are' if count != 1 else ' is'} held and not saved"
        if waiting:
            what += " (the database is busy: another program is writing)"
        self.push_screen(ConfirmDialog(f"{what}. Quit anyway? They stay held for next time.", "Quit anyway", "Stay"),
                         lambda yes: self._quit_leaving_held() if yes else None)

    def _quit_leaving_held(self) -> None:
        # The user chose to leave the held text for next time: quit now, not after the writer's grace (a save
        # waiting for another program's lock would keep the terminal for another 3 s).
        self._write_grace_at_exit = 0.0
        self.exit()

    def _exit_on_signal(self, signal_number: int) -> None:
        exit_code = 128 + signal_number  # what a shell reports for a process ended by that signal
        if not self.is_headless:  # a daemon timer: it dies with the process when the exit ends in time
            watchdog = threading.Timer(EXIT_GRACE_SECONDS, os._exit, args=(exit_code,))
            watchdog.daemon = True
            watchdog.start()
        self.exit(return_code=exit_code)

    def _check_for_changes(self) -> None:
        """Tell the screen in front to reload when another connection (another session, or one of this
        app's worker threads) has committed since the last look."""
        try:
            version = data_version()
        except (sqlite3.Error, peewee.PeeweeException) as error:
            # Say it once (not every second); the app keeps what it shows and looks again next time.
            if not self._watch_failed:
                self._watch_failed = True
                self.notify(printable(f"Cannot check the database for changes: {error}"), severity="warning",
                            markup=False)
            return
        self._watch_failed = False
        if version != self._seen_data_version:
            self._seen_data_version = version
            self.screen.post_message(DataChanged())

    def open_account(self, account_id: uuid.UUID) -> None:
        """Show the checklist of `account_id`."""
        self.current_account_id = account_id
        if self.current_mode == "checklist":
            self.screen.reload()  # switching to the mode in front would not show the new account
        else:
            self.switch_mode("checklist")

    def on_key(self, event: events.Key) -> None:
        """A saved view's key works on every screen, as a saved search does in mutt: it goes to the account list
        showing that view (the account list itself handles its keys before they get here)."""
        if self.current_mode == "accounts" or len(self.screen_stack) > 1 or event.key in self.screen.active_bindings:
            return  # a dialog in front has the keys, and so has a key this screen uses (F1 in a form)
        accounts = accounts_screen(self)
        view = accounts.view_for_key(event.key) if accounts is not None else None
        if view is not None:
            event.stop()
            accounts.open_view(view)

    def action_back(self) -> None:
        self.switch_mode("accounts")

    def action_show_keys(self) -> None:
        self.push_screen(KeysScreen(self.screen))

    def action_undo(self) -> None:
        from acct_tui.screens.undo import UndoPreview

        self.push_screen(UndoPreview("undo"), self._tell_outcome)

    def action_redo(self) -> None:
        from acct_tui.screens.undo import UndoPreview

        self.push_screen(UndoPreview("redo"), self._tell_outcome)

    def action_undo_history(self) -> None:
        from acct_tui.screens.undo import UndoHistoryScreen

        self.push_screen(UndoHistoryScreen(), self._tell_outcome)

    def action_show_conflicts(self) -> None:
        from acct_tui.screens.conflicts import ConflictsScreen

        self.push_screen(ConflictsScreen(), lambda _: self.screen.post_message(DataChanged()))

    def action_sync(self) -> None:
        from acct_tui.sync.command import LAST_HOST_SETTING

        last = load_settings().get(LAST_HOST_SETTING)
        if not isinstance(last, dict) or not last.get("host"):
            self.notify("No host synced with yet: run `acct-tui sync HOST` once; then this key syncs with it.",
                        severity="warning", markup=False)
            return
        self._sync_with(last)

    @work(thread=True, exclusive=True, name="sync", exit_on_error=False)
    def _sync_with(self, last: dict) -> str:
        from acct_tui.sync.command import sync_with_host

        def progress(text: str) -> None:
            self.call_from_thread(setattr, self, "sub_title", printable(f"sync with {last['host']}: {text}"))

        summary = sync_with_host(str(last["host"]), last.get("remote_db"), last.get("jump"), progress)
        return summary.text()

    @on(Worker.StateChanged)
    def _sync_finished(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "sync" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self.sub_title = ""
        if event.state == WorkerState.SUCCESS:
            self.notify(printable(event.worker.result), markup=False)
            self.screen.post_message(DataChanged())

    def _tell_outcome(self, outcome: tuple[str, bool] | None) -> None:
        if outcome is not None:
            message, failed = outcome
            self.notify(printable(message), severity="error" if failed else "information", markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.current_mode != "accounts"
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        keys = {binding.id: current_key_display(self, binding) for binding in self.BINDINGS}
        for mode, _, title, purpose in SCREENS:
            yield SystemCommand(title, f"{purpose} (key {keys[f'screen.{mode}']})",
                                lambda mode=mode: self.switch_mode(mode))
        yield SystemCommand("Keys", f"Every key of this screen (key {keys['app.keys']})", self.action_show_keys)
        yield SystemCommand("Conflicts", f"What both sides of a sync changed (key {keys['app.conflicts']})",
                            self.action_show_conflicts)
        yield SystemCommand("Sync", f"Sync with the host last synced with (key {keys['app.sync']})", self.action_sync)
        yield SystemCommand("Undo history", f"Your recent changes; undo down to one (undo: key {keys['app.undo']}, "
                            f"redo: key {keys['app.redo']})", self.action_undo_history)
        yield SystemCommand("Held edits", f"Text you typed that is not saved: apply, copy or discard "
                            f"(key {keys['app.held']})", self.action_show_held)
        yield from super().get_system_commands(screen)

    @on(Worker.StateChanged)
    def report_worker_failure(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker becomes a message for the user (screens forward their workers'
        state changes here with `self.app.post_message(event)`); the app keeps running."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, DomainError):
            message = str(error)
        else:
            self.log.error(event.worker, error)
            message = f"Something went wrong: {type(error).__name__}: {error}. Nothing else was changed."
        self.notify(printable(message), severity="error", timeout=10, markup=False)
