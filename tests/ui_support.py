"""Helpers for the screen tests: wait until the app is quiet, and read the screen as plain text."""

from __future__ import annotations

import io

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot


async def settle(pilot: Pilot) -> None:
    """Let keys typed ahead, messages, thread workers and the UI updates they cause all finish."""
    await pilot.pause()  # the app has taken every key queued so far
    while getattr(pilot.app, "keys_pending", False):
        await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def screen_text(app: App) -> str:
    """What the terminal shows now, as plain text (no colour, no styles), one line per row."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), color_system=None,
                      legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True))
    return console.file.getvalue()


async def type_text(pilot: Pilot, text: str) -> None:
    """Type `text` key by key, as a user would."""
    await pilot.press(*("space" if character == " " else character for character in text))
