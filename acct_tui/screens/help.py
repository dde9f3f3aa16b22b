"""The `?` screen: every key of the screen underneath, including those the footer has no room for."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from rich.text import Text


def describe_keys(screen: Screen) -> tuple[list[tuple[str, str, bool]], list[tuple[str, str, bool]]]:
    """(keys, description, available now) for `screen` and its focused widget, and for the whole app.

    Keys bound to the same action are listed together (`j`/`down`); a key the app binds but the screen
    takes over (escape) is listed once, with the screen.
    """
    app = screen.app
    groups: dict[tuple[DOMNode, str], tuple[list[str], Binding, bool]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if (binding.system and binding.action != "command_palette") or not binding.description:
            continue
        keys, _, _ = groups.setdefault((active.node, binding.action), ([], binding, active.enabled))
        keys.append(app.get_key_display(binding))
    local, everywhere = [], []
    for (node, _), (keys, binding, enabled) in groups.items():
        description = binding.tooltip or binding.description
        (everywhere if node is app else local).append((" / ".join(keys), description, enabled))
    return local, everywhere


class KeysScreen(ModalScreen[None]):
    """Lists the keys of `screen`; keys that do nothing right now are marked."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close", id="keys.close"),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.described_screen = screen

    def compose(self) -> ComposeResult:
        local, everywhere = describe_keys(self.described_screen)
        title = self.described_screen.sub_title or type(self.described_screen).__name__
        with Vertical(id="keys", classes="dialog"):
            yield Label(Content(f"Keys: {title}"), classes="dialog-title")
            with VerticalScroll():
                yield Static(self._table("On this screen", local))
                yield Static(self._table("Everywhere", everywhere))
            yield Label("escape or ? closes this list · (not now) = not possible at the moment",
                        classes="dialog-hint")

    @staticmethod
    def _table(heading: str, rows: list[tuple[str, str, bool]]) -> Text:
        text = Text(heading + "\n", style="bold")
        width = max((len(keys) for keys, _, _ in rows), default=0)
        for keys, description, enabled in rows:
            text.append(f"  {keys:<{width}}  ", style="bold")
            text.append(description, style="" if enabled else "dim")
            if not enabled:
                text.append(" (not now)", style="dim")
            text.append("\n")
        return text

    def action_close(self) -> None:
        self.dismiss(None)
