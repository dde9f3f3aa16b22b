"""Helpers for the screen tests: wait until the app is quiet, and read the screen as plain text."""

from __future__ import annotations

import asyncio
import io

from rich.cells import cell_len
from rich.console import Console
from textual.app import App
from textual.containers import ScrollableContainer
from textual.pilot import Pilot
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.widget import Widget
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets._footer import FooterKey


async def settle(pilot: Pilot) -> None:
    """Let keys typed ahead, messages, thread workers, the app's writer and the UI updates they cause all
    finish."""
    for _ in range(3):
        await pilot.pause()
        while getattr(pilot.app, "keys_pending", False):
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
        if isinstance(widget, Footer):
            keys = sorted((key.region for key in widget.query(FooterKey) if _shown(key)), key=lambda region: region.x)
            if any(left.right > right.x for left, right in zip(keys, keys[1:])):
                problems.append(f"the footer has no room for every key: {len(keys)} keys")
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
