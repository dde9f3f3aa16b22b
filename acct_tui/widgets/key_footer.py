"""The footer of every screen: the keys that work now, drawn as one line of text.

It shows what Textual's compact `Footer` shows (each binding with `show=True` as `key description`, a run
of bindings sharing a group as one item such as `1234 Screens`, keys greyed when they do nothing now, the
command palette's key at the right edge, the user's own keys from the keymap) and works as it does (a click
on a key presses it, hovering shows its tooltip), but it is one widget whose line is rebuilt in place when
the bindings change. Textual's `Footer` mounts a widget per key on every change, and every screen switch
changes the bindings: that was a fifth of the time it took to open a checklist.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Iterator

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget

# Component classes (styled in DEFAULT_CSS with the theme's footer colours, as Textual's Footer is).
KEY, DESCRIPTION, HOVER, DISABLED, SEPARATOR = (
    "key-footer--key", "key-footer--description", "key-footer--hover", "key-footer--disabled",
    "key-footer--separator",
)
PALETTE_SEPARATOR = "▏"


@dataclass(frozen=True, slots=True)
class FooterKey:
    """One key as the footer shows it; `key` is what a click on it presses."""

    key: str
    display: str
    description: str
    enabled: bool
    tooltip: str


@dataclass(frozen=True, slots=True)
class KeyGroup:
    """Keys of one binding group, shown side by side under one label (`1234 Screens`)."""

    keys: tuple[FooterKey, ...]
    label: str


@dataclass(frozen=True, slots=True)
class _Piece:
    """A run of text on the line: `key` set where a click on it presses that key."""

    text: str
    components: tuple[str, ...] = ()
    key: FooterKey | None = None


class KeyFooter(Widget, can_focus=False):
    """The keys of the screen it is on, in one line at the bottom."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {KEY, DESCRIPTION, HOVER, DISABLED, SEPARATOR}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .key-footer--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        .key-footer--disabled {
            text-style: dim;
        }
        .key-footer--separator {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._items: tuple[FooterKey | KeyGroup, ...] = ()
        self._palette: FooterKey | None = None
        self._hovered: FooterKey | None = None
        self._update_queued = False
        # Where each key was drawn (start and end cell), for clicks and hovering: set by `render`.
        self._spans: list[tuple[int, int, FooterKey]] = []
        self._hidden_keys = 0

    # What to show --------------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._update()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        # As Textual's Footer: the keys stay as they were while the terminal has not the focus (a blur must
        # not empty the footer), and several changes in one turn are shown once, after the refresh.
        if not screen.app.app_focus or self._update_queued or not self.is_attached or screen is not self.screen:
            return
        self._update_queued = True
        self.call_after_refresh(self._update)

    def _update(self) -> None:
        self._update_queued = False
        items, palette = self._keys_now()
        if (items, palette) != (self._items, self._palette):
            self._items, self._palette = items, palette
            self.refresh()

    def _keys_now(self) -> tuple[tuple[FooterKey | KeyGroup, ...], FooterKey | None]:
        """The screen's active bindings shown (`show=True`), one item per action (its first key), in the
        order Textual's Footer shows them; consecutive actions of one group make one item."""
        app = self.app
        active = self.screen.active_bindings
        by_action: dict[str, tuple[Binding, bool, str]] = {}
        for _, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action.setdefault(binding.action, (binding, enabled, tooltip))
        items: list[FooterKey | KeyGroup] = []
        for group, run in groupby(by_action.values(), lambda shown: shown[0].group):
            entries = list(run)
            if group is not None and len(entries) > 1:
                items.append(KeyGroup(tuple(
                    FooterKey(binding.key, app.get_key_display(binding), "", enabled, tooltip or binding.description)
                    for binding, enabled, tooltip in entries), group.description))
            else:
                items.extend(FooterKey(binding.key, app.get_key_display(binding), binding.description, enabled,
                                       tooltip) for binding, enabled, tooltip in entries)
        palette = None
        if app.ENABLE_COMMAND_PALETTE and (found := active.get(app.COMMAND_PALETTE_BINDING)) is not None:
            _, binding, enabled, _ = found
            palette = FooterKey(binding.key, app.get_key_display(binding), binding.description, enabled,
                                binding.tooltip or binding.description)
        return tuple(items), palette

    @property
    def keys(self) -> tuple[FooterKey, ...]:
        """Every key the footer shows now, left to right, the command palette's last."""
        found = [key for item in self._items for key in (item.keys if isinstance(item, KeyGroup) else (item,))]
        return (*found, *([self._palette] if self._palette else []))

    @property
    def hidden_keys(self) -> int:
        """How many keys did not fit in the width (they are under the command palette's key, or past the edge)."""
        return self._hidden_keys

    # Drawing -------------------------------------------------------------------------------------------
    def _pieces(self) -> Iterator[_Piece]:
        """The keys' text, spaced as the compact Footer spaces them (a cell between keys, a group's keys
        side by side with a cell before them and around its label)."""
        for item in self._items:
            if isinstance(item, KeyGroup):
                yield _Piece(" ")
                for key in item.keys:
                    yield _Piece(key.display, (KEY,), key)
                yield _Piece(" ")
                yield _Piece(item.label, (DESCRIPTION,))
                yield _Piece(" ")
            else:
                yield from self._key_pieces(item)
                yield _Piece(" ")

    @staticmethod
    def _key_pieces(key: FooterKey) -> Iterator[_Piece]:
        yield _Piece(key.display, (KEY,), key)
        if key.description:
            yield _Piece(" " + key.description, (DESCRIPTION,), key)

    def _style(self, piece: _Piece):
        components = piece.components
        if piece.key is not None:
            if piece.key is self._hovered:
                components = (HOVER, *components)
            if not piece.key.enabled:
                components = (*components, DISABLED)
        return self.get_visual_style(*components) if components else None

    def _draw(self, pieces: list[_Piece], start: int) -> Content:
        parts: list[str | tuple[str, object]] = []
        for piece in pieces:
            style = self._style(piece)
            parts.append((piece.text, style) if style is not None else piece.text)
            if piece.key is not None:
                self._spans.append((start, start + len(piece.text), piece.key))
            start += len(piece.text)
        return Content.assemble(*parts)

    def render(self) -> Content:
        width = self.size.width
        self._spans = []
        palette: list[_Piece] = []
        if self._palette is not None:
            palette = [_Piece(PALETTE_SEPARATOR, (SEPARATOR,)), *self._key_pieces(self._palette), _Piece(" ")]
        room = max(0, width - sum(len(piece.text) for piece in palette))
        keys = self._draw(list(self._pieces()), 0)
        # Keys that do not fit are cut off under the palette's key, as in Textual's Footer (which docks it).
        self._hidden_keys = len({id(key) for _, end, key in self._spans if end > room})
        self._spans = [(start, min(end, room), key) for start, end, key in self._spans if start < room]
        line = keys.truncate(room, pad=True)
        if palette:
            line += self._draw(palette, room)
        return line

    # Mouse -----------------------------------------------------------------------------------------------
    def _key_at(self, x: int) -> FooterKey | None:
        return next((key for start, end, key in self._spans if start <= x < end), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        key = self._key_at(event.x)
        if key is not self._hovered:
            self._hovered = key
            self.tooltip = key.tooltip if key is not None and key.tooltip else None
            self.refresh()

    def on_leave(self) -> None:
        if self._hovered is not None:
            self._hovered = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        key = self._key_at(event.x)
        if key is None:
            return
        if key.enabled:
            self.app.simulate_key(key.key)
        else:
            self.app.bell()
