"""A top-level screen (one of the app's modes) that Textual does not restyle whole on every switch to it.

Textual recomputes the styles of every widget of a screen it switches to, because the theme or the CSS may
have changed while the screen was away. That was a fifth of the time it took to open a checklist. Here the
styles are recomputed only when something they depend on did change since the screen was left: the
stylesheet (a theme switch or CSS added by a widget shown for the first time parse it again) or the app's
own classes (dark, light, focus…). A widget's own classes changing while its screen is away restyle it then.
"""

from __future__ import annotations

from textual import events
from textual.app import App
from textual.screen import Screen


def _style_state(app: App) -> tuple[object, ...]:
    return app.stylesheet.rules, frozenset(app.classes), frozenset(app.get_pseudo_classes())


class ModeScreen(Screen):
    def __init__(self) -> None:
        super().__init__()
        self._styled_for: tuple[object, ...] | None = None  # what the styles were computed for when it left

    def _on_screen_suspend(self) -> None:
        self._styled_for = _style_state(self.app)

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Textual's own handler, which restyles the screen only when asked to.
        before, now = self._styled_for, _style_state(self.app)
        if before is not None and before[0] is now[0] and before[1:] == now[1:]:
            event.refresh_styles = False
