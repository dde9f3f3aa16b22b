"""A top-level screen (one of the app's modes) that Textual does not restyle whole on every switch to it, and
that is drawn as soon as it shows what it was switched to for.

Textual recomputes the styles of every widget of a screen it switches to, because the theme or the CSS may
have changed while the screen was away. That was a fifth of the time it took to open a checklist. Here the
styles are recomputed only when something they depend on did change since the screen was left: the
stylesheet (a theme switch or CSS added by a widget shown for the first time parse it again) or the app's
own classes (dark, light, focus…). A widget's own classes changing while its screen is away restyle it then.

Textual also draws nothing for 50 ms after a mode switch (`App.delay_update`), so that the screen switched to
is not seen before it has updated; `ModeSwitchApp` lets the screen end that wait once it has (`show_now`).
"""

from __future__ import annotations

import gc
from typing import Callable, ClassVar

from textual import events
from textual.app import App
from textual.dom import DOMNode
from textual.geometry import Size
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget


# Rounds of messages and layouts before the first frame after a switch (a widget's answer to one may need
# another); Textual's wait after the switch bounds them too.
SETTLING_ROUNDS = 8
ROUND_SECONDS = 0.0001


def _style_state(app: App) -> tuple[object, ...]:
    return app.stylesheet.rules, frozenset(app.classes), frozenset(app.get_pseudo_classes())


def _default_css(widget_class: type[Widget]) -> list[tuple]:
    """The DEFAULT_CSS sources Textual adds to the stylesheet when the first `widget_class` is mounted (its own
    and its bases'), read by Textual's own method on an instance that is never initialised or mounted."""
    return DOMNode._get_default_css(widget_class.__new__(widget_class))


class ModeScreen(Screen):
    # Widgets with CSS of their own that the screen mounts later (an editor shown for some steps only): their
    # CSS is loaded with the screen's. Mounted first later, each would make Textual parse the whole
    # stylesheet again and restyle the next screen switched to (about 0.1 s, twice in fifteen checklists).
    LATER_WIDGETS: ClassVar[tuple[type[Widget], ...]] = ()

    def __init__(self) -> None:
        super().__init__()
        self._styled_for: tuple[object, ...] | None = None  # what the styles were computed for when it left
        self._to_lay_out: set[DOMNode] = set()  # widgets waiting to ask for a layout at the last settling round
        self._building_finished = False

    def _post_register(self, app: App) -> None:
        super()._post_register(app)
        for widget_class in self.LATER_WIDGETS:
            for read_from, css, tie_breaker, scope in _default_css(widget_class):
                app.stylesheet.add_source(css, read_from=read_from, is_default_css=True, tie_breaker=tie_breaker,
                                          scope=scope)

    def on_mount(self) -> None:
        # Mounted, every widget is styled by the stylesheet as it is now. Textual only notes that when the
        # screen was mounted before it first became current, so it would parse the whole stylesheet and
        # restyle the screen again at the next switch to it.
        self._css_update_count = self.app._css_update_count

    def _on_screen_suspend(self) -> None:
        self._styled_for = _style_state(self.app)

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Textual's own handler, which restyles the screen only when asked to.
        before, now = self._styled_for, _style_state(self.app)
        if before is not None and before[0] is now[0] and before[1:] == now[1:]:
            event.refresh_styles = False

    def _compositor_refresh(self) -> None:
        # Frames of the screen in front that nobody would see are not drawn; what is dirty stays dirty until the
        # next frame. While updates are held (a batch, the wait after a mode switch) Textual draws frames it
        # never displays. After a layout, when the whole screen is to be repainted (as after a switch to it),
        # it draws the parts the layout changed and at once the whole screen again: only the second is drawn.
        if self.is_current and (self.app._batch_count or self._repaint_required):
            return
        super()._compositor_refresh()

    def _screen_resized(self, size: Size) -> None:
        # A switch to the screen lays it out at once, before its resume handlers update it and while nothing is
        # drawn: at the same size, it is laid out once, when the wait ends.
        if self.app._batch_count and self.is_current and self._size == size:
            self._layout_required = True
            self.check_idle()
            return
        super()._screen_resized(size)

    def show_now(self) -> None:
        """What the screen was switched to for is on it: draw it now, rather than when Textual's wait after the
        switch runs out; first let its widgets catch up (see `_settle_then_show`)."""
        self._to_lay_out = set()
        self._settle_then_show(SETTLING_ROUNDS)
        if not self._building_finished:
            self._building_finished = True
            self.call_after_refresh(self.finish_building)

    async def finish_building(self) -> None:
        """Once the screen has first been shown whole (after that frame): build what it keeps for later (see
        subclasses), then keep everything built so far out of the cycle collector's full passes, as the app does
        at its start (`gc.freeze`, after a collection so that no garbage is kept). The screen lives as long as the
        app; each full pass walked its widgets and their caches again, 26-40 ms in the middle of opening a
        checklist: the slowest opens."""
        gc.collect()
        gc.freeze()

    def _settle_then_show(self, rounds: int) -> None:
        app = self.app
        if not self.is_current or not isinstance(app, ModeSwitchApp) or not app.updates_delayed:
            return
        nodes = self.walk_children(with_self=True)
        # Widgets updated and yet to ask for the layout their new content needs (they ask when they go idle; one
        # that has not by the next round does not: the step's notes editor, a TextArea, keeps the flag raised).
        to_lay_out = {node for node in nodes if node is not self and node._layout_required}
        newly_to_lay_out, self._to_lay_out = to_lay_out - self._to_lay_out, to_lay_out
        if rounds and (self._callbacks or newly_to_lay_out or any(
                not node._message_queue.empty() or node._next_callbacks for node in nodes)):
            # Widgets still answering the updates (the footer shows the keys the loaded data allows), or about
            # to ask for a layout: laid out before they have, the screen would be laid out again at once (5 ms
            # for nothing on opening a checklist).
            pass
        elif rounds and self._layout_required:
            # Laid out while nothing is drawn: the widgets answer their new sizes (a list measures its rows, a
            # scroll bar follows) before the first frame, not in the frames after it.
            self._layout_required = False
            self._refresh_layout()
        else:
            app.end_update_delays()
            return
        # The next round once every widget has had a turn (a message pump handles what is in its queue in one go;
        # Textual's timers fail with no delay at all).
        self.set_timer(ROUND_SECONDS, lambda: self._settle_then_show(rounds - 1), name="settle before drawing")


class ModeSwitchApp(App):
    """An app whose wait after a mode switch (`delay_update`) ends early when the screen asks (`show_now`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._update_delays: dict[Callable[[], None], Timer] = {}  # how to end each delay, and its timer

    def delay_update(self, delay: float = 0.05) -> None:
        # As Textual's: nothing is drawn until `delay` has passed, then the whole screen; or until ended sooner.
        self._begin_batch()

        def end() -> None:
            if end not in self._update_delays:
                return  # ended already
            del self._update_delays[end]
            self._end_batch()
            if not self._batch_count:
                self.screen.refresh()

        self._update_delays[end] = self.set_timer(delay, end, name="delay_update")

    @property
    def updates_delayed(self) -> bool:
        return bool(self._update_delays)

    def end_update_delays(self) -> None:
        """Draw the screen now, without waiting for the end of the delays set since the last switch."""
        for end, timer in list(self._update_delays.items()):
            timer.stop()  # nothing left for it to do
            end()
