"""The `?` screen: every key of the screen underneath, including those the footer has no room for."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from acct_tui.text import printable

KeyRow = tuple[str, str, bool]  # keys, what they do, possible right now

# Textual's own keys that do nothing useful here (nothing scrolls sideways), and Mac-only duplicates.
USELESS_ACTIONS = {"scroll_left", "scroll_right", "page_left", "page_right"}
# Textual's own keys described in words a user understands (the widgets' own names are terse).
PLAIN_WORDS = {
    "cursor_up": "Move up",
    "cursor_down": "Move down",
    "first": "Go to the first row",
    "last": "Go to the last row",
    "page_up": "One page up",
    "page_down": "One page down",
    "select": "Choose the highlighted row",
    "scroll_up": "Scroll up",
    "scroll_down": "Scroll down",
    "scroll_home": "Scroll to the top",
    "scroll_end": "Scroll to the bottom",
    "copy": "Copy the text selected with the mouse",
}


def describe_keys(screen: Screen) -> list[tuple[str, list[KeyRow]]]:
    """The keys of `screen` in sections: the screen's own, those of the part that has the focus, and the
    app's. Keys bound to the same action are listed together (`↓ / j`); a key the screen takes over from
    the app (escape) is listed once, where it acts."""
    app = screen.app
    groups: dict[tuple[DOMNode, str], tuple[list[str], list[Binding], bool]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if (binding.system and binding.action != "command_palette") or not binding.description:
            continue
        if binding.action in USELESS_ACTIONS or key.startswith("super+"):
            continue
        keys, bindings, _ = groups.setdefault((active.node, binding.action), ([], [], active.enabled))
        keys.append(app.get_key_display(binding))
        bindings.append(binding)
    sections: dict[str, list[KeyRow]] = {"On this screen": [], "In the focused part": [], "Everywhere": []}
    for (node, action), (keys, bindings, enabled) in groups.items():
        section = "On this screen" if node is screen else "Everywhere" if node is app else "In the focused part"
        words = next((binding.tooltip for binding in bindings if binding.tooltip), None)
        words = words or PLAIN_WORDS.get(action) or bindings[0].description
        sections[section].append((" / ".join(dict.fromkeys(keys)), words, enabled))
    return [(heading, rows) for heading, rows in sections.items() if rows]


class KeysScreen(ModalScreen[None]):
    """Lists the keys of `screen`; keys that do nothing right now are marked."""

    BINDINGS = [
        Binding("escape,question_mark,q,f1", "close", "Close", id="keys.close"),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.described_screen = screen

    def compose(self) -> ComposeResult:
        title = f"Keys: {self.app.current_mode.capitalize()}"
        detail = printable(self.described_screen.sub_title or "", keep_newlines=False)
        if detail and detail.casefold() != self.app.current_mode:
            title += f" — {detail}"
        with Vertical(id="keys", classes="dialog"):
            yield Label(Content(title), classes="dialog-title")
            with VerticalScroll():
                yield Static(self._table(describe_keys(self.described_screen)))
            yield Label("escape or ? closes this list · (not now) = not possible at the moment",
                        classes="dialog-hint")

    @staticmethod
    def _table(sections: list[tuple[str, list[KeyRow]]]) -> Table:
        # A grid, so a long description wraps under itself, never under the keys.
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True)
        table.add_column()
        for heading, rows in sections:
            table.add_row(Text(heading, style="bold"), "")
            for keys, description, enabled in rows:
                words = Text(description, style="" if enabled else "dim")
                if not enabled:
                    words.append(" (not now)", style="dim")
                table.add_row(Text(f"  {keys}", style="bold"), words)
        return table

    def action_close(self) -> None:
        self.dismiss(None)
