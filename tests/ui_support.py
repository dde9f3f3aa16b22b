"""Helpers for the screen tests: wait until the app is quiet, and read the screen as plain text."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot


async def settle(pilot: Pilot) -> None:
    """Let messages, thread workers, the app's writer and the UI updates they cause all finish."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await writes_done(pilot.app)
    await pilot.pause()


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
