"""Benchmark acct-tui on large portfolios (a script, not a test).

    python bench/run.py [--sizes 1000 10000 100000] [--json bench/results.json] [--dir DIR] [--regenerate]
                        [--postgres]
    python bench/run.py --reference [--sizes 100000] [--rounds 5] [--terminal 80x24]   # the list beside the reference
    python bench/run.py --tmux [--sizes 10000] [--rounds 5]          # the same keystrokes typed into tmux

For each size it generates a portfolio (bench/generate.py; kept in DIR and reused), then measures, each in a
fresh process so start-up and peak memory are those of a real session:
- the store: the account list's rows, one checklist's data, the approval queue, the portfolio report, and a
  CSV export of the portfolio (report + rendering + writing the file);
- the app, headless at 80x24 and 200x50: start (process launch) to the first rows on screen; a keystroke in
  the filter to the redrawn list (median and p95 over many keystrokes: narrowing, widening, clearing);
  opening a checklist; switching to the approval queue; switching to the portfolio report; typing in a
  step's notes (key to frame, p95), as is and while another process holds the database's write lock for
  30 s (the app's saves then wait off the UI thread); peak memory.

"Shown" means: the frame the compositor renders after the data reached the widget (headless Textual
renders every frame, it only does not write it to a terminal). Keys are posted to the app the way a
terminal's input reaches it, and timed from that moment. Prints one table and writes it as JSON.
With --postgres the same portfolios are copied into a local PostgreSQL (bench/postgres.py) and measured there.

With --reference only the account list is measured, beside a bare reference list (bench/reference.py) over the
same rows, timed the same way, in interleaved rounds (app, reference, app, …), each measure the median of its
rounds with the ratio app / reference; with --tmux the same keystrokes are typed into both running in tmux,
each timed from `tmux send-keys` to the pane (`capture-pane`) showing the key's final screen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
# The app measured: this source tree, or another checkout of it (`--against`, in the children it starts).
CODE_UNDER_TEST = os.environ.get("ACCT_BENCH_CODE", str(ROOT))
sys.path.insert(0, CODE_UNDER_TEST)
sys.path.insert(0, str(ROOT / "bench"))


if CODE_UNDER_TEST != str(ROOT):  # another checkout measured (--against): generate.py put this tree first
    sys.path.insert(0, CODE_UNDER_TEST)
    for module in [name for name in sys.modules if name == "acct_tui" or name.startswith("acct_tui.")]:
        del sys.modules[module]

TERMINALS = ((80, 24), (200, 50))
# Targets at 100,000 accounts (milliseconds; memory in MB).
TARGETS = {"first_rows_ms": 1500, "keystroke_p95_ms": 50, "checklist_ms": 50, "report_ms": 1000,
           "peak_memory_mb": 400}
KEYSTROKE_SCRIPT = ("northwind", 9, "alice", 5, "tr", 2, "zz", 2, "000", 3, "sakura", 6)  # text typed, backspaces
CHECKLISTS_OPENED = 15
CHECKLIST_ROUND_OPENS = 31  # with --checklists: per round (the first, which builds the screen, apart)
STORE_REPEATS = 5
WAIT_SECONDS = 90  # longest wait for something to show before the bench calls it failed
# Each key is sent 40-80 ms after the frame the previous one was waited for, as a fast typist's keys come (12-25
# a second), at no fixed phase to Textual's 60 frames a second. Sent at once, every key would wait for the next
# frame the frame rate allows (about 16.7 ms, the reference list as much as the app): that times the frame rate,
# not the key. The same gaps, from the same seed, for the app and the reference.
KEY_GAPS_SECONDS = (0.04, 0.08)
KEY_GAP_SEED = 11
NOTES_KEYS = 60  # keys typed into a step's notes, each time (every tenth leaves the field, which saves)
LOCK_SECONDS = 30
# Another program holding the write lock: until told on stdin, or for LOCK_SECONDS.
LOCK_HOLDER = """
import select, sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
select.select([sys.stdin], [], [], float(sys.argv[2]))
"""


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def peak_memory_mb() -> float:
    """This process's peak resident memory. Read from /proc (VmHWM), not getrusage: after fork and exec, Linux
    reports the parent's peak in ru_maxrss when it was larger."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux (bytes on macOS)


def note_failure(results: dict[str, Any], name: str, error: BaseException) -> None:
    """A measurement that failed is reported as such; the others still run."""
    results.setdefault("failures", {})[name] = f"{type(error).__name__}: {error}"[:300]


def timed(call: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of `call` in ms, and its last result."""
    samples, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


# The store, without the UI ---------------------------------------------------------------------------------

def measure_store(db: Path) -> dict[str, Any]:
    from acct_tui.reports import export_portfolio, render_portfolio, write_export
    from acct_tui.screens.reports import PENDING_ON_SCREEN
    from acct_tui.store.db import open_database
    from acct_tui.store.queries import account_rows, approval_queue, run_view
    from acct_tui.store.reports import portfolio_report
    from acct_tui.widgets.account_table import prepare_rows

    open_database(db)
    results: dict[str, Any] = {}
    results["store_account_rows_ms"], rows = timed(lambda: account_rows(include_archived=True), STORE_REPEATS)
    results["store_prepare_rows_ms"], _ = timed(lambda: prepare_rows(rows), STORE_REPEATS)
    picks = random.Random(7).sample(rows, min(40, len(rows)))
    samples = []
    for row in picks:
        started = time.perf_counter()
        run_view(row.id)
        samples.append((time.perf_counter() - started) * 1000)
    results["store_run_view_ms"] = statistics.median(samples)
    results["store_run_view_p95_ms"] = p95(samples)
    results["store_approval_queue_ms"], queue = timed(approval_queue, STORE_REPEATS)
    results["approvals_pending"] = len(queue)
    today = date.today()
    try:
        # what the Reports screen reads: no line per account, the oldest pending approvals only
        results["store_portfolio_report_ms"], _ = timed(
            lambda: portfolio_report(today, account_lines=False, pending_limit=PENDING_ON_SCREEN), 3)
        results["store_portfolio_report_with_lines_ms"], report = timed(lambda: portfolio_report(today), 3)
        results["csv_render_ms"], content = timed(lambda: render_portfolio(report, "csv"), 3)
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "portfolio.csv"
            results["csv_write_ms"], _ = timed(lambda: write_export(content, target, force=True), 3)
            results["csv_bytes"] = target.stat().st_size

            def whole_export() -> None:
                write_export(export_portfolio("csv", today), target, force=True)  # as the CLI and the screen do

            results["export_csv_ms"], _ = timed(whole_export, 3)
    except Exception as error:  # a bench reports a failing part and goes on with the rest
        note_failure(results, "portfolio report and CSV export", error)
    results["store_peak_memory_mb"] = peak_memory_mb()
    return results


# The app, headless --------------------------------------------------------------------------------------------

class Frames:
    """Resolves waiters on the first frame the compositor renders once their condition holds, counting only
    frames Textual displays (none while it holds updates: in a batch, or for 50 ms after a mode switch);
    fails them when the app shows an error instead (what it does when a screen's loading worker fails)."""

    def __init__(self) -> None:
        self.waiters: list[tuple[Callable[[], bool], asyncio.Future[float]]] = []

    def fail(self, message: str) -> None:
        for _, future in self.waiters:
            if not future.done():
                future.set_exception(RuntimeError(f"the app showed an error: {message}"))
        self.waiters.clear()

    def install(self) -> None:
        from textual.screen import Screen

        original = Screen._compositor_refresh
        frames = self

        def refresh_and_notify(screen: Screen) -> None:
            original(screen)
            if screen.app._batch_count:
                return  # drawn while updates are held (a batch, the wait after a mode switch): not displayed
            now = time.perf_counter()
            for waiter in list(frames.waiters):
                condition, future = waiter
                if not future.done() and condition():
                    future.set_result(now)
                    frames.waiters.remove(waiter)

        Screen._compositor_refresh = refresh_and_notify

    def expect(self, condition: Callable[[], bool]) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters.append((condition, future))
        return future


def drawn_for_filter(table: Callable[[], Any], filter_text: str) -> Callable[[], bool]:
    """A frame check: the list `table()` finds has drawn its lines for `filter_text`, every row counted."""
    def check() -> bool:
        current = table()
        return bool(current and getattr(current, "drawn_for", (None,))[0] == filter_text
                    and current.drawn_for[1] == current.shown_count and current.filter_text == filter_text)
    return check


def note_drawn_lines(list_class) -> None:
    """The list is drawn line by line: have each drawn line note which filter it belonged to and how many rows
    there were (`drawn_for`), so a frame can be told to show the list for a given filter."""
    draw_line = list_class.render_line

    def render_line_noted(table, y: int):
        table.drawn_for = (table.filter_text, table.shown_count)
        return draw_line(table, y)

    list_class.render_line = render_line_noted


def key_presser(app: Any, frames: Frames) -> Callable:
    """`press(key, character, condition)`: posts a key the way terminal input reaches the app and returns the
    milliseconds to the first frame rendered once `condition` holds."""
    from textual import events

    gaps = random.Random(KEY_GAP_SEED)

    async def press(key: str, character: str | None, condition: Callable[[], bool]) -> float:
        await asyncio.sleep(gaps.uniform(*KEY_GAPS_SECONDS))
        shown = frames.expect(condition)
        event = events.Key(key, character)
        event.set_sender(app)
        started = time.perf_counter()
        app._driver.send_message(event)
        return (await asyncio.wait_for(shown, WAIT_SECONDS) - started) * 1000

    return press


async def measure_app(db: Path, size: tuple[int, int], launched_at: float, only: str | None = None
                      ) -> dict[str, Any]:
    """Every measure of the app in one session; `only="list"` the account list alone (beside the reference),
    `only="checklists"` opening checklists alone (CHECKLIST_ROUND_OPENS of them)."""
    from acct_tui.app import AcctApp
    from acct_tui.store.db import open_database
    from acct_tui.widgets.account_table import AccountTable

    imported_at = time.time()
    note_drawn_lines(AccountTable)
    frames = Frames()
    frames.install()
    notify = AcctApp.notify

    def notify_noted(app: AcctApp, message: str, *args: Any, severity: str = "information", **kwargs: Any):
        if severity == "error":
            frames.fail(message)
        return notify(app, message, *args, severity=severity, **kwargs)

    AcctApp.notify = notify_noted
    open_database(db)
    if only is None:
        save_bench_views()
    app = AcctApp(db)
    results: dict[str, Any] = {"import_ms": (imported_at - launched_at) * 1000}

    def table() -> AccountTable | None:
        tables = app.screen.query(AccountTable) if app.screen.id != "_default" else []
        return tables.first() if tables else None

    def drawn(filter_text: str) -> Callable[[], bool]:
        return drawn_for_filter(table, filter_text)

    def list_shown() -> bool:
        """The list is in front again with all its rows drawn (reloaded only when something changed)."""
        current = table()
        return (app.current_mode == "accounts" and current is not None and app.screen.rows_loaded.is_set()
                and getattr(current, "drawn_for", ("", -1))[1] == current.shown_count)

    press = key_presser(app, frames)
    first_rows = frames.expect(lambda: bool(table() and table().shown_count and
                                            getattr(table(), "drawn_for", ("", 0))[1] > 0))
    async with app.run_test(size=size) as pilot:
        await asyncio.wait_for(first_rows, 120)
        results["first_rows_ms"] = (time.time() - launched_at) * 1000
        results["first_rows_cpu_ms"] = time.process_time() * 1000
        await asyncio.wait_for(app.screen.rows_loaded.wait(), 120)
        results["all_rows_ms"] = (time.time() - launched_at) * 1000
        results["all_rows_cpu_ms"] = time.process_time() * 1000
        results["accounts_listed"] = table().total_count
        await pilot.pause()

        if only == "checklists":
            await measure_checklist_opens(app, pilot, press, table, list_shown, results, CHECKLIST_ROUND_OPENS)
            results["peak_memory_mb"] = peak_memory_mb()
            return results
        await measure_filter_keys(app, press, drawn, results)
        if only == "list":
            results["peak_memory_mb"] = peak_memory_mb()
            return results
        await press("escape", "\x1b", lambda: app.focused is table())
        await measure_view_switches(press, table, results)
        await measure_typing_in_view(app, press, table, drawn, results)

        await measure_checklist_opens(app, pilot, press, table, list_shown, results, CHECKLISTS_OPENED)

        # The approval queue and the portfolio report: first visit, then a return to each.
        for mode, key, name, ready in (
            ("approvals", "3", "approvals", lambda: getattr(app.screen, "_loaded", False)),
            ("reports", "4", "report", lambda: (getattr(app.screen, "loaded", None) is not None
                                                and app.screen.loaded.document is not None)),
        ):
            for visit in ("first", "again"):
                marker = None
                if visit == "again":
                    await press("1", "1", list_shown)
                    await pilot.pause()
                    marker = _reset_loaded(app, mode)
                try:
                    results[f"{name}_{visit}_ms"] = await press(
                        key, key, (lambda mode=mode, ready=ready, marker=marker:
                                   app.current_mode == mode and ready() and (marker is None or marker())))
                except (TimeoutError, RuntimeError) as error:
                    note_failure(results, f"{name} ({visit})",
                                 error if str(error) else TimeoutError(f"not shown in {WAIT_SECONDS} s"))
                    break
                await pilot.pause()

        await measure_notes_keys(app, pilot, press, list_shown, db, results)
    results["peak_memory_mb"] = peak_memory_mb()
    return results


async def measure_checklist_opens(app: Any, pilot: Any, press: Callable, table: Callable[[], Any],
                                  list_shown: Callable[[], bool], results: dict[str, Any], count: int) -> None:
    """Enter on accounts spread through the list, each to the frame showing that account's steps, then escape
    back to the list (unchanged, so not loaded again). The first open (the screen is built) is reported apart.
    CPU time is the process's (every thread) from the key to that frame: steadier than wall time under load."""
    opens, cpu, reloads = [], [], []
    listed = table()
    positions = random.Random(3).sample(range(listed.shown_count), min(count, listed.shown_count))
    for position in positions:
        listed = table()
        listed.move_cursor(position)
        wanted = listed.selected.row.id
        await pilot.pause()

        def checklist_shown(wanted=wanted) -> bool:
            view = getattr(app.screen, "_view", None)
            return (app.current_mode == "checklist" and view is not None and view.account.id == wanted
                    and app.screen._shown_step is not None)

        cpu_before = time.process_time()
        opens.append(await press("enter", "\r", checklist_shown))
        cpu.append((time.process_time() - cpu_before) * 1000)
        reloads.append(await press("escape", "\x1b", list_shown))
        await pilot.pause()
    results["checklist_first_ms"] = opens[0]
    results["checklist_median_ms"] = statistics.median(opens[1:] or opens)
    results["checklist_p95_ms"] = p95(opens[1:] or opens)
    results["checklist_cpu_median_ms"] = statistics.median(cpu[1:] or cpu)
    results["checklist_cpu_p95_ms"] = p95(cpu[1:] or cpu)
    results["checklist_samples_ms"] = [round(sample, 1) for sample in opens]
    results["list_back_median_ms"] = statistics.median(reloads)


# Saved views on alt+1..alt+4 (keys every terminal delivers): each its own filter and order.
BENCH_VIEWS = (("alt+1", "owner:alice", "owner", False), ("alt+2", "overdue", "overdue", True),
               ("alt+3", "stage:onb segment:key", "progress", False), ("alt+4", "", "name", False))
VIEW_SWITCHES = 4  # rounds through the four views


def save_bench_views() -> None:
    from acct_tui.store.views import View, save_view

    columns = ("owner", "segment", "stage", "progress", "step", "approval", "overdue", "activity")
    for key, filter_text, sort, descending in BENCH_VIEWS:
        save_view(View(f"bench {key}", key, filter_text, sort, descending, False, columns))


async def measure_view_switches(press: Callable, table: Callable[[], Any], results: dict[str, Any]) -> None:
    """A saved view's key, key to the frame showing the list for its filter in its order. The first round
    sorts each order once (kept afterwards until the list reloads); the later rounds are the switches."""
    first, again = [], []
    for round_number in range(VIEW_SWITCHES):
        for key, filter_text, sort, _ in BENCH_VIEWS:
            drawn = drawn_for_filter(table, filter_text)
            shown = await press(key, "\x1b" + key[-1],
                                lambda drawn=drawn, sort=sort: drawn() and table().sort_column.key == sort)
            (first if round_number == 0 else again).append(shown)
    results["view_first_ms"] = statistics.median(first)
    results["view_switch_median_ms"] = statistics.median(again)
    results["view_switch_p95_ms"] = p95(again)


# Typing on in a saved view's filter (issue 15): its key, then a term typed after the view's own, taken back.
VIEW_TYPED = ("alt+3", "north", 5)


async def measure_typing_in_view(app: Any, press: Callable, table: Callable[[], Any],
                                 drawn: Callable[[str], Callable[[], bool]], results: dict[str, Any]) -> None:
    """Filter keystrokes within a saved view, key to frame, as `measure_filter_keys` times them; afterwards the
    last view (every account by name) is in front again."""
    key, typed, backspaces = VIEW_TYPED
    text = next(filter_text for view_key, filter_text, _, _ in BENCH_VIEWS if view_key == key)
    await press(key, "\x1b" + key[-1], drawn(text))
    await press("slash", "/", lambda: app.focused is not None and app.focused.id == "filter")
    await press("end", None, lambda: app.focused.cursor_position == len(text))  # "/" selects the filter's text
    text += " "
    await press("space", " ", lambda: app.focused.value == text)  # a space alone leaves the rows as they are
    keystrokes: list[float] = []
    await type_then_take_back(press, drawn, text, typed, backspaces, keystrokes)
    results["view_keystroke_median_ms"] = statistics.median(keystrokes)
    results["view_keystroke_p95_ms"] = p95(keystrokes)
    await press("escape", "\x1b", lambda: app.focused is table())
    last_key, last_filter, _, _ = BENCH_VIEWS[-1]
    await press(last_key, "\x1b" + last_key[-1], drawn(last_filter))


async def type_then_take_back(press: Callable, drawn: Callable[[str], Callable[[], bool]], text: str, typed: str,
                              backspaces: int, keystrokes: list[float]) -> str:
    """Types `typed` after the filter `text`, then `backspaces` backspaces, each key timed to the frame showing
    the list for the filter it makes (added to `keystrokes`); returns the filter left."""
    for character in typed:
        text += character
        keystrokes.append(await press(character, character, drawn(text)))
    for _ in range(backspaces):
        text = text[:-1]
        keystrokes.append(await press("backspace", "\x08", drawn(text)))
    return text


async def measure_filter_keys(app: Any, press: Callable, drawn: Callable[[str], Callable[[], bool]],
                              results: dict[str, Any]) -> None:
    """Filter keystrokes, key to frame: type, take back, type again (the app and the reference alike)."""
    keystrokes = []
    await press("slash", "/", lambda: app.focused is not None and app.focused.id == "filter")
    cpu_before = time.process_time()
    text = ""
    script = list(KEYSTROKE_SCRIPT)
    while script:
        typed, backspaces = script.pop(0), script.pop(0)
        text = await type_then_take_back(press, drawn, text, typed, backspaces, keystrokes)
    results["keystroke_cpu_ms"] = (time.process_time() - cpu_before) * 1000 / len(keystrokes)
    results["keystroke_median_ms"] = statistics.median(keystrokes)
    results["keystroke_p95_ms"] = p95(keystrokes)
    results["keystrokes"] = len(keystrokes)
    results["keystroke_samples_ms"] = [round(sample, 1) for sample in keystrokes]


async def measure_notes_keys(app: Any, pilot: Any, press: Callable, list_shown: Callable[[], bool], db: Path,
                             results: dict[str, Any]) -> None:
    """Typing in a step's notes, key to frame: as is, then while another process holds the write lock."""
    from textual.widgets import TextArea

    await press("1", "1", list_shown)
    await pilot.pause()
    await press("enter", "\r", lambda: app.current_mode == "checklist" and app.screen._shown_step is not None)
    view = app.screen._view
    editable = next((step.number for step in view.steps if step.edit_refusal is None and not step.is_approval
                     and any(field.key == "notes" for field in step.fields)), None)
    if editable is None:
        note_failure(results, "notes keys", RuntimeError("no editable step in the first account"))
        return
    # The checklist moves to the account's next step as it settles: move to the editable one until it shows.
    for _ in range(500):
        if app.screen._shown_step == editable:
            break
        app.screen.query_one("#step-list").highlighted = editable - 1
        await pilot.pause()
    else:
        note_failure(results, "notes keys", RuntimeError(f"step {editable} was never shown"))
        return
    # Put back at the end: else every run's keys stay in the notes, and the next run's checklist (its history
    # shows each save) reads and draws a longer note.
    typed_into = (view.run_id, editable, view.step(editable).field("notes").value)

    async def type_notes() -> list[float]:
        notes = app.screen.query_one("#field-notes", TextArea)
        notes.focus()
        await pilot.pause()
        samples = []
        for index in range(NOTES_KEYS):
            if index % 10 == 9:
                samples.append(await press("tab", "\t", lambda: app.focused is not notes))
                samples.append(await press("shift+tab", None, lambda: app.focused is notes))
                continue
            length = len(notes.text) + 1
            samples.append(await press("x", "x", lambda length=length: len(notes.text) == length))
        return samples

    unlocked = await type_notes()
    import postgres  # only here and with --postgres: the children would count its imports as their start

    lock_holder = postgres.LOCK_HOLDER if str(db).startswith("postgresql://") else LOCK_HOLDER
    holder = subprocess.Popen([sys.executable, "-c", lock_holder, str(db), str(LOCK_SECONDS)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        locked = await type_notes()
        results["notes_key_locked_waited"] = app.writer.waiting
    finally:
        holder.communicate("done\n", timeout=60)
    await asyncio.to_thread(app.writer.wait_until_idle)
    from acct_tui.store import services

    services.set_field(*typed_into[:2], "notes", typed_into[2])
    results["notes_key_median_ms"] = statistics.median(unlocked)
    results["notes_key_p95_ms"] = p95(unlocked)
    results["notes_key_locked_median_ms"] = statistics.median(locked)
    results["notes_key_locked_p95_ms"] = p95(locked)


def _reset_loaded(app: Any, mode: str) -> Callable[[], bool]:
    """For a second visit: a condition that holds once the screen showed freshly loaded data."""
    shows = {"approvals": "_show_queue", "reports": "_show"}
    screen = app._screen_stacks[mode][-1] if mode in getattr(app, "_screen_stacks", {}) else None
    if screen is None:
        return lambda: True
    calls = {"count": 0}
    method = getattr(screen, shows[mode])

    def noted(*args: Any, **kwargs: Any) -> Any:
        calls["count"] += 1
        return method(*args, **kwargs)

    setattr(screen, shows[mode], noted)
    return lambda: calls["count"] > 0


# The account list beside the reference list ------------------------------------------------------------------

LIST_MEASURES = (
    ("keystroke_p95_ms", "filter keystroke, p95 (ms)", "{:,.1f}"),
    ("keystroke_median_ms", "filter keystroke, median (ms)", "{:,.1f}"),
    ("first_rows_ms", "start to first rows shown (ms)", "{:,.0f}"),
    ("all_rows_ms", "start to every row shown (ms)", "{:,.0f}"),
    ("peak_memory_mb", "peak memory (MB)", "{:,.0f}"),
    # CPU time of the process (all its threads; from its start, Python's own start included): steadier than
    # the wall clock on a shared machine.
    ("keystroke_cpu_ms", "filter keystroke, CPU per key, mean (ms)", "{:,.1f}"),
    ("first_rows_cpu_ms", "first rows shown, CPU since start (ms)", "{:,.0f}"),
    ("all_rows_cpu_ms", "every row shown, CPU since start (ms)", "{:,.0f}"),
)
# Targets for the app's list at 100,000 accounts: (absolute, ratio to the reference), either may be None.
LIST_TARGETS = {"keystroke_p95_ms": (25, 1.3), "keystroke_median_ms": (15, None), "first_rows_ms": (600, None),
                "all_rows_ms": (1200, None), "peak_memory_mb": (150, None), "keystroke_cpu_ms": (None, None),
                "first_rows_cpu_ms": (None, None), "all_rows_cpu_ms": (None, None)}


async def measure_reference(db: Path, size: tuple[int, int], launched_at: float) -> dict[str, Any]:
    """The reference list (bench/reference.py), timed exactly as the app's list is in `measure_app`."""
    from reference import ReferenceApp, ReferenceList

    note_drawn_lines(ReferenceList)
    frames = Frames()
    frames.install()
    app = ReferenceApp(db)
    press = key_presser(app, frames)
    results: dict[str, Any] = {}

    def table() -> ReferenceList | None:
        tables = app.query(ReferenceList) if app.is_mounted else []
        return tables.first() if tables else None

    def drawn(filter_text: str) -> Callable[[], bool]:
        return drawn_for_filter(table, filter_text)

    first_rows = frames.expect(lambda: bool(table() and table().shown_count and
                                            getattr(table(), "drawn_for", ("", 0))[1] > 0))
    async with app.run_test(size=size) as pilot:
        await asyncio.wait_for(first_rows, 120)
        results["first_rows_ms"] = results["all_rows_ms"] = (time.time() - launched_at) * 1000
        results["first_rows_cpu_ms"] = results["all_rows_cpu_ms"] = time.process_time() * 1000
        await pilot.pause()
        await measure_filter_keys(app, press, drawn, results)
        results["peak_memory_mb"] = peak_memory_mb()
    return results


def compare_with_reference(db: Path, size: int, terminal: str, rounds: int) -> dict[str, Any]:
    """The app's list and the reference list in interleaved rounds (app, reference, app, …), each in a fresh
    process; each measure is the median of its rounds, and the ratio is app / reference."""
    runs: dict[str, list[dict[str, Any]]] = {"app": [], "reference": []}
    for round_number in range(rounds):
        for kind, child in (("app", "applist"), ("reference", "reference")):
            print(f"{size:,} accounts @{terminal}: {kind}, round {round_number + 1} of {rounds}…", file=sys.stderr)
            runs[kind].append(run_child(child, str(db), terminal))
    medians = {kind: {key: statistics.median(run[key] for run in found) for key, _, _ in LIST_MEASURES}
               for kind, found in runs.items()}
    return {"size": size, "terminal": terminal, "rounds": rounds, "median": medians, "runs": runs}


def print_comparison(comparison: dict[str, Any]) -> list[str]:
    """Prints the comparison as a table; returns the targets missed."""
    app, reference = comparison["median"]["app"], comparison["median"]["reference"]
    print(f"\n{comparison['size']:,} accounts @{comparison['terminal']}, median of {comparison['rounds']} "
          "interleaved rounds")
    print("| measure | app | reference | app / reference | target |")
    print("|---|---:|---:|---:|---:|")
    missed = []
    for key, label, fmt in LIST_MEASURES:
        limit, ratio_limit = LIST_TARGETS[key]
        ratio = app[key] / reference[key] if reference[key] else math.inf
        target = " and ".join(part for part in (f"<= {limit:,}" if limit else "",
                                                f"<= {ratio_limit}x" if ratio_limit else "") if part)
        print(f"| {label} | {fmt.format(app[key])} | {fmt.format(reference[key])} | {ratio:.2f}x | {target} |")
        if (limit and app[key] > limit) or (ratio_limit and ratio > ratio_limit):
            missed.append(f"{label}: {fmt.format(app[key])} ({ratio:.2f}x the reference; target {target})")
    return missed


CHECKLIST_MEASURES = (
    ("checklist_first_ms", "open a checklist, first (ms)", "{:,.0f}"),
    ("checklist_median_ms", "open a checklist, median (ms)", "{:,.1f}"),
    ("checklist_p95_ms", "open a checklist, p95 (ms)", "{:,.1f}"),
    ("checklist_cpu_median_ms", "CPU per open, median (ms)", "{:,.1f}"),
    ("checklist_cpu_p95_ms", "CPU per open, p95 (ms)", "{:,.1f}"),
    ("list_back_median_ms", "back to the list, median (ms)", "{:,.1f}"),
)


def checklists_against(db: Path, size: int, terminal: str, rounds: int, against: Path | None) -> dict[str, Any]:
    """Opening checklists only, CHECKLIST_ROUND_OPENS per round, each round in a fresh process; with `against`
    (another checkout of the app), its rounds alternate with this tree's on the same portfolio."""
    codes = {"this": ROOT, **({"against": against} if against else {})}
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in codes}
    for round_number in range(rounds):
        for kind, code in codes.items():
            print(f"{size:,} accounts @{terminal}: checklists, {code}, round {round_number + 1} of {rounds}…",
                  file=sys.stderr)
            runs[kind].append(run_child("checklists", str(db), terminal, code=code))
    medians = {kind: {key: statistics.median(run[key] for run in found) for key, _, _ in CHECKLIST_MEASURES}
               for kind, found in runs.items()}
    print(f"\n{size:,} accounts @{terminal}, opening checklists: median of {rounds} rounds of "
          f"{CHECKLIST_ROUND_OPENS} opens" + (" (alternating)" if against else ""))
    print("| measure | " + " | ".join(str(code) for code in codes.values()) + " |")
    print("|---|" + "---:|" * len(codes))
    for key, label, fmt in CHECKLIST_MEASURES:
        print(f"| {label} | " + " | ".join(fmt.format(medians[kind][key]) for kind in codes) + " |")
    return {"size": size, "terminal": terminal, "rounds": rounds, "codes": {k: str(v) for k, v in codes.items()},
            "median": medians, "runs": runs}


# The same in a real terminal: tmux --------------------------------------------------------------------------

TMUX_SETTLED_SECONDS = 0.3  # a screen unchanged this long after a key is that key's final screen


TMUX_SOCKET = f"acct-bench-{os.getpid()}"  # a tmux server of the bench's own


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", TMUX_SOCKET, *args], capture_output=True, text=True, check=True).stdout


def _start_in_tmux(session: str, width: str, height: str, command: list[str]) -> None:
    """A new tmux session running `command`; tried again when the server was still exiting (it does when the
    previous session, its last, ended a moment ago)."""
    for attempt in range(5):
        try:
            _tmux("new-session", "-d", "-s", session, "-x", width, "-y", height, "-e", "TERM=xterm-256color",
                  " ".join(map(shlex.quote, command)))
            return
        except subprocess.CalledProcessError:
            if attempt == 4:
                raise
            time.sleep(0.5)


def _screen_after(session: str, changed_from: str | None, started: float) -> tuple[float, str]:
    """Polls the pane until it differs from `changed_from` (None: at once) and then stays the same for
    TMUX_SETTLED_SECONDS; returns the milliseconds from `started` to the first capture of that final screen."""
    deadline = time.perf_counter() + WAIT_SECONDS
    seen: list[tuple[float, str]] = []
    while time.perf_counter() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", f"={session}:")
        now = time.perf_counter()
        if changed_from is None or screen != changed_from or seen:
            if not seen or screen != seen[-1][1]:
                seen.append((now, screen))
            elif now - seen[-1][0] >= TMUX_SETTLED_SECONDS:
                return (seen[-1][0] - started) * 1000, screen
        time.sleep(0.002)
    raise TimeoutError(f"the screen did not settle in {WAIT_SECONDS} s")


def measure_in_tmux(kind: str, db: Path, terminal: str) -> dict[str, Any]:
    """Filter keystrokes typed into a real terminal (tmux), each timed from `tmux send-keys` to the first
    capture of the pane (`capture-pane`, text without styles) that shows the key's final screen."""
    width, height = terminal.split("x")
    command = ([sys.executable, "-m", "acct_tui", "--db", str(db)] if kind == "app"
               else [sys.executable, str(ROOT / "bench" / "reference.py"), str(db)])
    session = f"bench-{kind}-{os.getpid()}"
    _start_in_tmux(session, width, height, command)
    try:
        _, screen = _screen_after(session, None, time.perf_counter())
        while "Loading" in screen or "loading the rest" in screen or len(screen.split()) < 20:
            _, screen = _screen_after(session, screen, time.perf_counter())
        _tmux("send-keys", "-t", f"={session}:", "/")
        _, screen = _screen_after(session, None, time.perf_counter())
        samples = []
        script = list(KEYSTROKE_SCRIPT)
        while script:
            typed, backspaces = script.pop(0), script.pop(0)
            for key in [*typed, *["BSpace"] * backspaces]:
                started = time.perf_counter()
                _tmux("send-keys", "-t", f"={session}:", *(["-l", key] if key != "BSpace" else [key]))
                took, screen = _screen_after(session, screen, started)
                samples.append(took)
    finally:
        subprocess.run(["tmux", "-L", TMUX_SOCKET, "kill-session", "-t", f"={session}"], capture_output=True)
    return {"tmux_key_median_ms": statistics.median(samples), "tmux_key_p95_ms": p95(samples),
            "tmux_key_samples_ms": [round(sample, 1) for sample in samples]}


def compare_in_tmux(db: Path, size: int, terminal: str, rounds: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"app": [], "reference": []}
    for round_number in range(rounds):
        for kind in runs:
            print(f"{size:,} accounts in tmux @{terminal}: {kind}, round {round_number + 1} of {rounds}…",
                  file=sys.stderr)
            runs[kind].append(measure_in_tmux(kind, db, terminal))
    medians = {kind: {key: statistics.median(run[key] for run in found)
                      for key in ("tmux_key_median_ms", "tmux_key_p95_ms")} for kind, found in runs.items()}
    app, reference = medians["app"], medians["reference"]
    print(f"\n{size:,} accounts in tmux @{terminal}, filter key to screen, median of {rounds} interleaved rounds")
    print("| measure | app | reference | app / reference | target |")
    print("|---|---:|---:|---:|---:|")
    for key, label in (("tmux_key_median_ms", "median (ms)"), ("tmux_key_p95_ms", "p95 (ms)")):
        print(f"| {label} | {app[key]:,.1f} | {reference[key]:,.1f} | {app[key] / reference[key]:.2f}x | <= 1.2x |")
    return {"size": size, "terminal": terminal, "rounds": rounds, "median": medians, "runs": runs}


# Driving the children and reporting --------------------------------------------------------------------------

def run_child(*args: str, code: Path | None = None) -> dict[str, Any]:
    """Runs a measure in a fresh process, of this source tree's app or of the one in `code`."""
    environment = {**os.environ, "ACCT_BENCH_CODE": str(code or ROOT)}
    launched_at = time.time()
    result = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", *args, repr(launched_at)],
                            capture_output=True, text=True, timeout=3600, env=environment)
    if result.returncode != 0:
        raise SystemExit(f"benchmark child {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def child_main(args: list[str]) -> int:
    kind, target, *rest = args
    db = target if target.startswith("postgresql://") else Path(target)
    if kind == "store":
        results = measure_store(db)
    elif kind in ("applist", "reference", "checklists"):
        width, height = map(int, rest[0].split("x"))
        measure = (measure_reference if kind == "reference" else
                   partial(measure_app, only="list" if kind == "applist" else "checklists"))
        results = asyncio.run(measure(db, (width, height), float(rest[1])))
    else:
        width, height = map(int, rest[0].split("x"))
        results = asyncio.run(measure_app(db, (width, height), float(rest[1])))
    import acct_tui

    results["code"] = str(Path(acct_tui.__file__).parents[1])
    print(json.dumps(results))
    return 0


ROWS = (
    ("generate_s", "generate the portfolio (s)", "{:,.1f}"),
    ("db_mb", "database size (MB)", "{:,.0f}"),
    ("first_rows_ms", "start to first rows shown (ms)", "{:,.0f}"),
    ("keystroke_median_ms", "filter keystroke, median (ms)", "{:,.1f}"),
    ("keystroke_p95_ms", "filter keystroke, p95 (ms)", "{:,.1f}"),
    ("view_first_ms", "saved view key, first switch to each (sorts), median (ms)", "{:,.1f}"),
    ("view_switch_median_ms", "saved view key, switch, median (ms)", "{:,.1f}"),
    ("view_switch_p95_ms", "saved view key, switch, p95 (ms)", "{:,.1f}"),
    ("view_keystroke_median_ms", "filter keystroke within a saved view, median (ms)", "{:,.1f}"),
    ("view_keystroke_p95_ms", "filter keystroke within a saved view, p95 (ms)", "{:,.1f}"),
    ("checklist_first_ms", "open a checklist, first (ms)", "{:,.0f}"),
    ("checklist_median_ms", "open a checklist, median (ms)", "{:,.0f}"),
    ("checklist_p95_ms", "open a checklist, p95 (ms)", "{:,.0f}"),
    ("approvals_first_ms", "approval queue, first visit (ms)", "{:,.0f}"),
    ("approvals_again_ms", "approval queue, again (ms)", "{:,.0f}"),
    ("report_first_ms", "portfolio report screen, first (ms)", "{:,.0f}"),
    ("report_again_ms", "portfolio report screen, again (ms)", "{:,.0f}"),
    ("all_rows_ms", "start to every account loaded (ms)", "{:,.0f}"),
    ("list_back_median_ms", "back to the list, unchanged (ms)", "{:,.0f}"),
    ("notes_key_median_ms", "type in a step's notes, median (ms)", "{:,.1f}"),
    ("notes_key_p95_ms", "type in a step's notes, p95 (ms)", "{:,.1f}"),
    ("notes_key_locked_median_ms", "same, write lock held by another process, median (ms)", "{:,.1f}"),
    ("notes_key_locked_p95_ms", "same, write lock held by another process, p95 (ms)", "{:,.1f}"),
    ("notes_key_locked_waited", "the app said it was waiting for the database", "{}"),
    ("peak_memory_mb", "app peak memory (MB)", "{:,.0f}"),
    ("store_account_rows_ms", "store: account rows (ms)", "{:,.0f}"),
    ("store_prepare_rows_ms", "list: prepare rows (ms)", "{:,.0f}"),
    ("store_run_view_ms", "store: one checklist's data (ms)", "{:,.1f}"),
    ("store_approval_queue_ms", "store: approval queue (ms)", "{:,.0f}"),
    ("approvals_pending", "approvals pending", "{:,}"),
    ("store_portfolio_report_ms", "store: portfolio report (ms)", "{:,.0f}"),
    ("store_portfolio_report_with_lines_ms", "store: report with account lines (ms)", "{:,.0f}"),
    ("csv_render_ms", "CSV: render (ms)", "{:,.0f}"),
    ("csv_write_ms", "CSV: write the file (ms)", "{:,.0f}"),
    ("export_csv_ms", "export portfolio as CSV, total (ms)", "{:,.0f}"),
    ("store_peak_memory_mb", "store process peak memory (MB)", "{:,.0f}"),
)


def print_table(results: dict[str, dict[str, Any]]) -> None:
    columns = [(size, terminal) for size in results for terminal in results[size]["app"]]
    header = ["measure"] + [f"{int(size):,} @{terminal}" for size, terminal in columns]
    lines = []
    for key, label, fmt in ROWS:
        cells = []
        for size, terminal in columns:
            source = {**results[size], **results[size]["store"], **results[size]["app"][terminal]}
            value = source.get(key)
            cells.append("—" if value is None else fmt.format(value))
        lines.append([label] + cells)
    widths = [max(len(row[i]) for row in [header] + lines) for i in range(len(header))]
    print("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(header)) + " |")
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    for line in lines:
        print("| " + " | ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                                for i, cell in enumerate(line)) + " |")


def misses(results: dict[str, dict[str, Any]]) -> list[str]:
    largest = max(results, key=int)
    found = []
    for terminal, app in results[largest]["app"].items():
        for key, target in TARGETS.items():
            value = app.get("checklist_median_ms" if key == "checklist_ms" else
                            "report_first_ms" if key == "report_ms" else key)
            if value is not None and value > target:
                found.append(f"{int(largest):,} accounts @{terminal}: {key} = {value:,.0f} (target {target:,})")
    return found


def portfolio(folder: Path, size: int, regenerate: bool) -> Path:
    """The generated portfolio of `size` accounts in `folder`, generated first when missing (or asked to)."""
    from generate import generate

    db = folder / f"portfolio-{size}.db"
    if regenerate or not db.exists():
        for leftover in folder.glob(f"{db.name}*"):
            leftover.unlink()
        print(f"generating {size:,} accounts…", file=sys.stderr)
        generate(db, size)
    return db


def list_beside_reference(args: argparse.Namespace) -> int:
    args.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    comparisons, missed = [], []
    for size in args.sizes:
        db = portfolio(args.dir, size, args.regenerate)
        if args.tmux:
            comparisons.append(compare_in_tmux(db, size, args.terminal, args.rounds))
            continue
        comparison = compare_with_reference(db, size, args.terminal, args.rounds)
        comparisons.append(comparison)
        missed = print_comparison(comparison)  # the targets hold at the largest size
    for line in missed:
        print(f"missed: {line}")
    args.json.write_text(json.dumps({"command": " ".join([Path(sys.executable).name, *sys.argv]),
                                     "comparisons": comparisons, "missed": missed}, indent=2))
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child_main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "acct-tui-bench",
                        help="where generated portfolios are kept between runs")
    parser.add_argument("--regenerate", action="store_true", help="generate the portfolios again")
    parser.add_argument("--postgres", action="store_true",
                        help="measure on PostgreSQL: each portfolio copied into a local server (pgserver)")
    parser.add_argument("--reference", action="store_true",
                        help="only the account list beside the reference list (bench/reference.py), in "
                             "interleaved rounds")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of app and reference (with --reference)")
    parser.add_argument("--terminal", default="80x24", help="terminal size for --reference, such as 200x50")
    parser.add_argument("--tmux", action="store_true",
                        help="only filter keystrokes in tmux, app beside the reference list, in interleaved rounds")
    parser.add_argument("--checklists", action="store_true",
                        help=f"only opening checklists ({CHECKLIST_ROUND_OPENS} per round, --rounds rounds, "
                             "at --terminal), with CPU time per open")
    parser.add_argument("--against", type=Path,
                        help="with --checklists: another checkout of acct-tui (its top folder) measured in "
                             "rounds alternating with this one's, on the same portfolio")
    args = parser.parse_args()
    if args.checklists:
        args.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        found = [checklists_against(portfolio(args.dir, size, args.regenerate), size, args.terminal, args.rounds,
                                    args.against) for size in args.sizes]
        args.json.write_text(json.dumps({"command": " ".join([Path(sys.executable).name, *sys.argv]),
                                         "checklists": found}, indent=2))
        print(f"wrote {args.json}", file=sys.stderr)
        return 0
    if args.reference or args.tmux:
        return list_beside_reference(args)
    from generate import generate

    args.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    results: dict[str, dict[str, Any]] = {}
    for size in args.sizes:
        db = args.dir / f"portfolio-{size}.db"
        entry: dict[str, Any] = {}
        if args.regenerate or not db.exists():
            for leftover in args.dir.glob(f"{db.name}*"):
                leftover.unlink()
            print(f"generating {size:,} accounts…", file=sys.stderr)
            started = time.perf_counter()
            generate(db, size)
            entry["generate_s"] = time.perf_counter() - started
        entry["db_mb"] = db.stat().st_size / 1e6
        target = str(db)
        if args.postgres:
            import postgres

            print(f"copying {size:,} accounts into PostgreSQL…", file=sys.stderr)
            target, entry["generate_s"] = postgres.load(postgres.start_server(args.dir / "postgres"),
                                                         f"portfolio_{size}", db)
        print(f"measuring {size:,} accounts: store…", file=sys.stderr)
        entry["store"] = run_child("store", target)
        entry["app"] = {}
        for width, height in TERMINALS:
            print(f"measuring {size:,} accounts: app at {width}x{height}…", file=sys.stderr)
            entry["app"][f"{width}x{height}"] = run_child("app", target, f"{width}x{height}")
        results[str(size)] = entry
    print_table(results)
    missed = misses(results)
    for line in missed:
        print(f"missed: {line}")
    for size, entry in results.items():
        for where, found in [("store", entry["store"]), *entry["app"].items()]:
            for name, problem in found.get("failures", {}).items():
                print(f"failed: {int(size):,} accounts, {where}: {name}: {problem}")
    args.json.write_text(json.dumps({
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "targets_at_largest": TARGETS,
        "results": results,
        "missed": missed,
    }, indent=2))
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
