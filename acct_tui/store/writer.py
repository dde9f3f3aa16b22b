"""The one writer: every change the screens ask for runs here, on one thread, in the order asked.

The UI thread never waits for the database. A screen hands `submit()` the service call to make, what to do
with its outcome (run back on the UI thread through `deliver`), and the user's text it carries. While
another process holds the write lock, or while a team database's server cannot be reached, the writer keeps
trying (neither is an error), holds the text of every waiting change in the `HeldStore` at once (so a kill
while waiting loses nothing), and says so through `on_waiting`; when the change commits, the held copy of that text is released. A change refused or failed
for any other reason holds its text with that reason before the screen hears of it.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, replace
from typing import Any, Callable

from acct_tui.errors import DomainError, StoreUnavailable
from acct_tui.store.backend import EXIT_SERVER_UNREACHABLE, backend_for
from acct_tui.store.db import EXIT_BUSY
from acct_tui.store.held import WAITING, HeldEdit, HeldStore
from acct_tui.store.models import database

# How long one attempt waits for another process's write lock before the writer says it is waiting (and
# tries again); SQLite's own busy timeout would keep the change silent for 10 s, PostgreSQL would wait forever.
LOCK_WAIT_MS = 300
# While a team database's server cannot be reached, the writer tries the waiting change again this often.
SERVER_RETRY_SECONDS = 1.0

Deliver = Callable[[Callable[[], None]], None]
Done = Callable[[Any, DomainError | None], None]


@dataclass(slots=True)
class Change:
    run: Callable[[], Any]
    done: Done | None
    draft: HeldEdit | None  # the user's text this change saves, held while it cannot be saved


class Writer:
    """Runs changes one at a time on its own thread. `deliver(callback)` must run `callback` on the UI thread
    without waiting for it; `on_waiting(True/False)` is delivered when the writer starts/stops waiting."""

    def __init__(self, held: HeldStore, deliver: Deliver, on_waiting: Callable[[bool], None]) -> None:
        self.held = held
        self._deliver = deliver
        self._on_waiting = on_waiting
        self._changes: queue.Queue[Change | None] = queue.Queue()
        self._lock = threading.Lock()
        self._queued: list[Change] = []  # asked for and not finished, the running one first
        self._undelivered = 0  # results handed to the UI thread that it has not run yet
        self.waiting = False
        self.waiting_for_server = False  # waiting because a team database's server cannot be reached
        # Set when the app closed before this thread finished: from then on it neither writes nor tells.
        self._abandoned = threading.Event()
        self._thread = threading.Thread(target=self._work, name="acct-tui writer", daemon=True)
        self._thread.start()

    # On the UI thread ---------------------------------------------------------------------------------------
    def submit(self, run: Callable[[], Any], done: Done | None = None, *, draft: HeldEdit | None = None) -> None:
        change = Change(run, done, draft)
        with self._lock:
            self._queued.append(change)
            if self.waiting and draft is not None:
                self._hold(change)
        self._changes.put(change)

    @property
    def busy(self) -> int:
        """How many changes are asked for and not finished, or finished and not yet told to the UI thread."""
        with self._lock:
            return len(self._queued) + self._undelivered

    def hold_unfinished(self) -> int:
        """Hold the text of every change not finished yet (the app is closing); returns how many."""
        with self._lock:
            for change in self._queued:
                self._hold(change)
            return sum(change.draft is not None for change in self._queued)

    def finish(self, grace_seconds: float) -> None:
        """Stop after the changes asked for so far, waiting at most `grace_seconds`; the text of any change
        not finished by then is held (the thread, a daemon, ends with the process)."""
        self._changes.put(None)
        self._thread.join(grace_seconds)
        if self._thread.is_alive():
            self._abandoned.set()
        self.hold_unfinished()

    def wait_until_idle(self) -> None:
        """Block until every change asked for so far has finished (tests and benchmarks)."""
        self._changes.join()

    # On the writer thread -----------------------------------------------------------------------------------
    def _hold(self, change: Change) -> None:
        if change.draft is not None and change.draft.reason != WAITING:
            change.draft = self.held.hold(replace(change.draft, reason=WAITING))

    def _work(self) -> None:
        self._wait_briefly_for_locks()
        try:
            while True:
                change = self._changes.get()
                try:
                    if change is None or self._abandoned.is_set():
                        return
                    self._run(change)
                finally:
                    self._changes.task_done()
        finally:
            if database.obj is not None:
                database.obj.close()  # this thread's connection

    @staticmethod
    def _wait_briefly_for_locks() -> None:
        db = database.obj
        backend_for(db).wait_briefly_for_locks(db, LOCK_WAIT_MS)

    def _run(self, change: Change) -> None:
        result, error = None, None
        while True:
            try:
                result = change.run()
            except StoreUnavailable as failure:
                if failure.exit_code not in (EXIT_BUSY, EXIT_SERVER_UNREACHABLE):
                    error = failure
                    break
                if self._abandoned.is_set():
                    return  # the app has closed; the change's text is held
                server_away = failure.exit_code == EXIT_SERVER_UNREACHABLE
                self._start_waiting(server_away)
                if server_away:  # a refused connection fails at once: try again when the server may be back
                    self._abandoned.wait(SERVER_RETRY_SECONDS)
                continue
            except DomainError as failure:
                error = failure
            except Exception as failure:  # a bug: told to the user like any failure, the text stays held
                error = DomainError(f"Something went wrong: {type(failure).__name__}: {failure}.")
            break
        if self._abandoned.is_set():
            return  # the app closed meanwhile and held this change's text: the held file is no longer ours
        with self._lock:
            self._queued.remove(change)
            was_waiting, self.waiting = self.waiting, False  # this change got the lock (or failed otherwise)
            self.waiting_for_server = False
            # Counted as busy until the UI thread has run what it is told below (see `busy`).
            self._undelivered += int(was_waiting) + int(change.done is not None)
        draft = change.draft
        if draft is not None and error is None:
            self.held.release(draft.kind, draft.account_id, draft.step, draft.key, draft.value)
        elif draft is not None:
            self.held.hold(replace(draft, reason=str(error)))
        if was_waiting:
            self._tell(self._on_waiting, False, counted=True)
        if change.done is not None:
            self._tell(change.done, result, error, counted=True)

    def _start_waiting(self, server_away: bool) -> None:
        if self.waiting and self.waiting_for_server == server_away:
            return
        with self._lock:
            self.waiting = True
            self.waiting_for_server = server_away
            for queued in self._queued:
                self._hold(queued)
        self._tell(self._on_waiting, True)

    def _tell(self, callback: Callable[..., None], *args: Any, counted: bool = False) -> None:
        """Hand `callback(*args)` to the UI thread; until it has run, the writer counts as busy."""
        if not counted:
            with self._lock:
                self._undelivered += 1

        def told() -> None:
            try:
                callback(*args)
            finally:
                self._delivered()

        try:
            self._deliver(told)
        except RuntimeError:  # the app's loop is closed: nobody is left to tell
            self._delivered()

    def _delivered(self) -> None:
        with self._lock:
            self._undelivered -= 1
