"""Helpers for the screen tests: wait until the app is quiet, and read the screen as plain text."""

from __future__ import annotations

import asyncio
import functools
import io
from time import monotonic

from rich.cells import cell_len
from rich.console import Console
from textual.app import App, ScreenStackError
from textual.message_pump import MessagePump
from textual.containers import ScrollableContainer
from textual.pilot import Pilot
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import WorkerCancelled
from textual.widgets import Input, OptionList, Static

from acct_tui.widgets.key_footer import KeyFooter
from tests.bursts import key_event


async def settle(pilot: Pilot) -> None:
    """Let keys typed ahead, messages, thread workers, the app's writer, short timers and the UI updates they
    cause all finish: rounds over the app until one finds nothing left to do (a few ms when the app is idle)."""
    if not await _settled_within(pilot, _SETTLE_TIMEOUT):
        raise AssertionError(f"the app did not settle in {_SETTLE_TIMEOUT} s")


async def _settled_within(pilot: Pilot, seconds: float, after_key: bool = False) -> bool:
    """Rounds over the app, waiting between them for what only time finishes (workers, the writer, short
    timers), until one finds nothing left to do (True) or `seconds` have passed (False). `after_key`, as
    `Pilot.press` does: a writer waiting for a lock another program holds ends the wait (only the test can
    release it), and a worker's failure is left to the app."""
    app = pilot.app
    deadline = monotonic() + seconds
    while monotonic() < deadline:
        if await _until_quiet(pilot):
            return True
        if app.workers:
            await _workers_done(app, deadline - monotonic(), raise_failures=not after_key)
        elif _writer_busy(app):
            if not after_key:
                await writes_done(app)
            elif app.writer.waiting:
                return False
            else:
                await _write_done_or_waiting(app)
        elif timers := _short_timers(app):
            await asyncio.wait([timer._task for timer in timers], timeout=_SHORT_TIMER)
        else:
            await asyncio.sleep(_POLL_SECONDS)  # keys typed ahead still being handed out
    return False


async def _workers_done(app: App, seconds: float, raise_failures: bool) -> None:
    """Wait for every worker, at most `seconds`; a failed one raises (if `raise_failures`) as
    `app.workers.wait_for_complete()` does, a cancelled one (replaced by a newer one of its group) is simply
    gone."""
    waits = [asyncio.ensure_future(worker.wait()) for worker in list(app.workers)]
    done, pending = await asyncio.wait(waits, timeout=max(seconds, 0))
    for wait in pending:
        wait.cancel()
    for wait in done:
        outcome = wait.exception()
        if raise_failures and outcome is not None and not isinstance(outcome, (WorkerCancelled, asyncio.CancelledError)):
            raise outcome


async def quick_pause(pilot: Pilot, delay: float | None = None) -> None:
    """`Pilot.pause` without its fixed 20 ms sleep when rounds over the app show it idle. Where only time can
    finish the work (a worker running, a short timer set) it waits exactly as `Pilot.pause` does."""
    if delay is None and await _until_quiet(pilot):
        return
    await _PILOT_PAUSE(pilot, delay)


async def quick_press(pilot: Pilot, *keys: str) -> None:
    """`Pilot.press`: one key at a time, each handled before the next is sent, as the driver sends it. After
    each key, rounds over the app instead of Textual's fixed sleeps, waiting between them for what the key set
    off (a worker, the writer's change, a short timer) for as long as `Pilot.press` would at most: Textual's
    guess from the process's CPU time that the app is idle both waits longer than needed and, on a busy
    machine, can end before a starved thread has finished."""
    app = pilot.app
    for key in keys:
        if key.startswith("wait:"):
            await _PILOT_PRESS(pilot, key)
            continue
        event = key_event(key)
        event.set_sender(app)
        # The way the driver sends it (`Driver.send_message`): the key arrives after what the loop already
        # has scheduled (a mode switch started by the test), as with `Pilot.press`.
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(app._post_message(event), app._loop))
        if not await _until_quiet(pilot):
            await _settled_within(pilot, _KEY_WAIT, after_key=True)
    if keys:
        await pilot._wait_for_screen()


async def _write_done_or_waiting(app: App) -> None:
    """Until the change a key asked the writer for has been made and told to the UI, or the writer waits for a
    lock another program holds (keys must go on working then), at most `_WRITE_WAIT` s. `wait_for_idle`,
    which `Pilot.press` relies on, guesses this from the process's CPU time, and a writer thread starved of
    CPU on a busy machine looks idle to it: the next key then met the screen as it was before the change."""
    deadline = monotonic() + _WRITE_WAIT
    while _writer_busy(app) and not app.writer.waiting and monotonic() < deadline:
        await asyncio.sleep(_POLL_SECONDS)


_PILOT_PAUSE = Pilot.pause
_PILOT_PRESS = Pilot.press
# A one-shot timer this close is part of what the last key set off (a debounce); longer ones (a toast's
# timeout, the save delay) are not waited for, as before.
_SHORT_TIMER = 0.1
_POLL_SECONDS = 0.005
_MAX_ROUNDS = 50
_MAX_YIELDS = 1000
_SETTLE_TIMEOUT = 300.0  # a hang, not a slow machine (the demo load takes a minute under load)
_WRITE_WAIT = 2.0
# As long as `Pilot.press` waits at most for the app to go idle after a key (a worker that waits for something
# the test does next must not hold the test up).
_KEY_WAIT = 1.0


async def _until_quiet(pilot: Pilot) -> bool:
    """Rounds over the app until one leaves it idle (True), or until only time can finish the work: a worker
    runs or a short timer is set (False)."""
    app = pilot.app
    for _ in range(_MAX_ROUNDS):
        if await _quiet_round(pilot):
            return True
        if app.workers or _writer_busy(app) or _short_timers(app):
            return False
    return False


async def _quiet_round(pilot: Pilot) -> bool:
    """Let every pump on the app and the screen in front handle what it holds, then lay out and paint as
    `Pilot.pause` does; True if the app is idle after that and the screen and focus did not change."""
    app = pilot.app
    if _closed(app):
        return True
    before = (app.screen, app.focused)
    if not await _drained(app):
        return True  # the app raised: run_test re-raises it
    if _closed(app):
        return True
    if not _handlers_done(app):
        return False  # paint once what they lead to, not every step on the way
    app.screen._on_timer_update()
    return (app.screen, app.focused) == before and _idle(app)


async def _drained(app: App) -> bool:
    """Let the event loop run until no callback is ready and no pump holds a message: every message queued
    so far, and what handling it set off (tasks woken, keys held back, worker results), has run. This is what
    `Pilot._wait_for_screen` waits for, without posting a callback to every widget to find out (that costs
    more than the handling it waits for). False if the app raised."""
    loop = asyncio.get_running_loop()
    for _ in range(_MAX_YIELDS):
        await asyncio.sleep(0)
        if app._exception is not None:
            return False
        if not loop._ready and not _Handling.count and (_closed(app) or _handlers_done(app)):
            break
    return True  # (a loop that never drains is left to the caller's idle check)


def _writer_busy(app: App) -> bool:
    """The app's writer has changes asked for and not finished (their results reach the UI thread after)."""
    writer = getattr(app, "writer", None)
    return writer is not None and writer.busy > 0


def _closed(app: App) -> bool:
    return app._exit or not app.is_running or not app._screen_stack


def _handlers_done(app: App) -> bool:
    return not _Handling.count and all(map(_handled_all, _pumps(app)))


def _idle(app: App) -> bool:
    """No message queued or being handled, worker, key held back, short timer, animation, or layout or paint pending."""
    screen = app.screen
    return (not app.workers and not _writer_busy(app) and not getattr(app, "keys_pending", False)
            and not app._batch_count
            and _handlers_done(app) and not _short_timers(app)
            and not app.animator._animations and not app.animator._scheduled
            and not (screen._layout_required or screen._scroll_required or screen._repaint_required
                     or screen._dirty_widgets or screen._recompose_required or screen._callbacks))


def _handled_all(pump: MessagePump) -> bool:
    return pump._message_queue.empty() and pump._pending_message is None and not pump._next_callbacks


class _Handling:
    """How many messages (and `call_next` callbacks) are being handled right now, in every pump: a handler
    awaiting a mount has taken its message off the queue but has not finished with it."""

    count = 0

    @staticmethod
    def counted(handle):
        @functools.wraps(handle)
        async def counted_handle(*args, **kwargs):
            _Handling.count += 1
            try:
                return await handle(*args, **kwargs)
            finally:
                _Handling.count -= 1

        return counted_handle


def quick_pilot(monkeypatch) -> None:
    """Make `pilot.press` and `pilot.pause` the quick ones for a test (see `quick_pause`, `quick_press`)."""
    monkeypatch.setattr(Pilot, "press", quick_press)
    monkeypatch.setattr(Pilot, "pause", quick_pause)
    for method in ("_dispatch_message", "_flush_next_callbacks"):
        monkeypatch.setattr(MessagePump, method, _Handling.counted(getattr(MessagePump, method)))


def _short_timers(app: App) -> list[Timer]:
    return [timer for pump in _pumps(app) for timer in list(pump._timers)
            if timer._repeat == 0 and timer._interval <= _SHORT_TIMER and timer._task is not None
            and not timer._task.done()]


def _pumps(app: App) -> list[MessagePump]:
    try:
        return [app, *app.screen.walk_children(with_self=True)]
    except ScreenStackError:  # the app has closed
        return [app]


async def writes_done(app: App) -> None:
    """Wait until the app's writer has finished every change asked for so far (its results are then
    delivered to the UI thread: a `pilot.pause()` lets them run)."""
    writer = getattr(app, "writer", None)
    if writer is not None:
        await asyncio.to_thread(writer.wait_until_idle)


def screen_text(app: App) -> str:
    """What the terminal shows now, as plain text (no colour, no styles), one line per row."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), color_system=None,
                      legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True))
    return console.file.getvalue()


async def type_text(pilot: Pilot, text: str) -> None:
    """Type `text` key by key, as a user would."""
    await pilot.press(*("space" if character == " " else character for character in text))


def _shown(widget: Widget) -> bool:
    node: object = widget
    while isinstance(node, Widget):
        if not node.display or not node.visible:
            return False
        node = node.parent
    return widget.region.area > 0


def clipped_widgets(screen: Screen) -> list[str]:
    """Every widget on `screen` whose content does not show whole: an input narrower than its value (or
    placeholder), a text taller than its room or cut at its right edge, an option that wraps, a widget
    wider than the pane it is in, a footer key hidden under the next. Lists cut on purpose with "…"
    (text-wrap: nowrap) are left out."""
    problems = []
    for widget in screen.walk_children(Widget):
        if not _shown(widget):
            continue
        name = f"{type(widget).__name__}#{widget.id or ''}"
        parent = widget.parent
        if isinstance(parent, Widget) and widget.region.right > parent.region.right:
            problems.append(f"{name} runs past the edge of {type(parent).__name__}#{parent.id}")
        if isinstance(widget, KeyFooter):
            if widget.hidden_keys:
                problems.append(f"the footer has no room for every key: {widget.hidden_keys} of {len(widget.keys)} hidden")
        elif isinstance(widget, Input):
            text = widget.value or widget.placeholder
            if cell_len(text) + 1 > widget.content_region.width:  # the cursor takes a cell after the text
                problems.append(f"{name} shows {widget.content_region.width} cells of {text!r}")
        elif isinstance(widget, OptionList):
            if widget.styles.text_wrap == "nowrap":
                continue
            width = widget.scrollable_content_region.width
            for index in range(widget.option_count):
                prompt = widget.get_option_at_index(index).prompt
                for line in getattr(prompt, "plain", str(prompt)).split("\n"):
                    if cell_len(line) > width:
                        problems.append(f"{name} wraps the option {line!r} at {width} cells")
        elif isinstance(widget, Static) and not isinstance(widget, (ScrollableContainer, ScrollView)):
            width = widget.content_region.width
            needed = widget.get_content_height(widget.content_region.size, screen.app.size, width)
            text = str(widget.render())
            if needed > widget.content_region.height:
                problems.append(f"{name} needs {needed} lines, has {widget.content_region.height}: {text[:60]!r}")
            if widget.styles.text_wrap == "nowrap" and any(cell_len(line) > width for line in text.split("\n")):
                problems.append(f"{name} is cut at {width} cells: {text[:60]!r}")
    return problems
async def shows(pilot: Pilot, text: str) -> None:
    """Let the app run until the screen shows `text` (a frame may follow a result from the writer thread)."""
    await wait_for(pilot, lambda: text in screen_text(pilot.app))


async def wait_for(pilot: Pilot, condition) -> None:
    """Let the app run until `condition()` holds (a change on the writer thread); the UI keeps going."""
    for _ in range(500):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("the app never got there")
