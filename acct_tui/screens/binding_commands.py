"""A command-palette provider that offers the current screen's own key bindings by name.

Every action of a screen is then reachable from the palette without a second list of commands to keep
in step with the keys.
"""

from __future__ import annotations

from functools import partial
from typing import Iterator

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from acct_tui.keymap import current_key_display


class ScreenBindingCommands(Provider):
    def _commands(self) -> Iterator[tuple[str, str, str]]:
        screen = self.screen
        for binding in screen.BINDINGS:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            if not screen.check_action(binding.action, ()):
                continue
            key = current_key_display(self.app, binding)
            help_text = f"{binding.tooltip} (key {key})" if binding.tooltip else f"key {key}"
            yield binding.description, binding.action, help_text

    async def discover(self) -> Hits:
        for title, action, help_text in self._commands():
            yield DiscoveryHit(title, partial(self.screen.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.screen.run_action, action), help=help_text)
