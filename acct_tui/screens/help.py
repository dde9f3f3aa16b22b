"""The `?` screen: every key of the screen underneath, including those the footer has no room for."""

from __future__ import annotations

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


def describe_keys(screen: Screen) -> list[tuple[str, list[KeyRow]]]:
    """The keys of `screen` in sections: the screen's own, those of the part that has the focus, and the
    app's. Keys bound to the same action are listed together (`↓ / j`); a key the screen takes over from
    the app (escape) is listed once, where it acts."""
    app = screen.app
    groups: dict[tuple[DOMNode, str], tuple[list[str], Binding, bool]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if (binding.system and binding.action != "command_palette") or not binding.description:
            continue
        keys, _, _ = groups.setdefault((active.node, binding.action), ([], binding, active.enabled))
        keys.append(app.get_key_display(binding))
    sections: dict[str, list[KeyRow]] = {"On this screen": [], "In the focused part": [], "Everywhere": []}
    for (node, _), (keys, binding, enabled) in groups.items():
        section = "On this screen" if node is screen else "Everywhere" if node is app else "In the focused part"
        sections[section].append((" / ".join(keys), binding.tooltip or binding.description, enabled))
    return [(heading, rows) for heading, rows in sections.items() if rows]


class KeysScreen(ModalScreen[None]):
    """Lists the keys of `screen`; keys that do nothing right now are marked."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close", id="keys.close"),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.described_screen = screen

    def compose(self) -> ComposeResult:
        title = f"Keys: {self.app.current_mode.capitalize()}"
        detail = printable(self.described_screen.sub_title, keep_newlines=False)
        if detail and detail.casefold() != self.app.current_mode:
            title += f" — {detail}"
        with Vertical(id="keys", classes="dialog"):
            yield Label(Content(title), classes="dialog-title")
            with VerticalScroll():
                yield Static(self._table(describe_keys(self.described_screen)))
            yield Label("escape or ? closes this list · (not now) = not possible at the moment",
                        classes="dialog-hint")

    @staticmethod
    def _table(sections: list[tuple[str, list[KeyRow]]]) -> Text:
        width = max((len(keys) for _, rows in sections for keys, _, _ in rows), default=0)
        text = Text()
        for heading, rows in sections:
            text.append(heading + "\n", style="bold")
            for keys, description, enabled in rows:
                text.append(f"  {keys:<{width}}  ", style="bold")
                text.append(description, style="" if enabled else "dim")
                if not enabled:
                    text.append(" (not now)", style="dim")
                text.append("\n")
        return text

    def action_close(self) -> None:
        self.dismiss(None)
