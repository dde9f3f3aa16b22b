"""Keys typed ahead go where they were typed.

Over a slow link a terminal delivers several keys in one read, and Textual hands each key to the widget that
has focus *when the app reads it*, without waiting for the keys before it to be handled. So in "a" + "Acme"
the name goes to the account list while "a" is still on its way to opening the form, and in a dropdown
"enter" + "tab" moves the focus before "enter" has chosen the option, after which "enter" submits the field
the focus landed in.

A bracketed paste is read whole (see `acct_tui.terminal_input`) and takes its place among the keys.

`KeysInOrderApp` hands out one key (or paste) at a time: the next one waits until the previous one has been
handled and everything it set off has settled: a dialog or form pushed and mounted, a dropdown opened or closed,
the focus moved. Then it goes to whatever has focus. A key that arrives when the app is idle is handed out at
once, so typing at human speed is not slowed down.

Work a key starts in a thread (a save, a load) is not waited for: the app keeps answering keys meanwhile.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Iterable

from textual import events
from textual.app import App, ScreenStackError
from textual.dom import DOMNode
from textual.driver import Driver
from textual.message_pump import MessagePump

InputEvent = events.Key | events.Paste

# How often to look whether a widget that has not handled its messages yet has been removed meanwhile
# (a dismissed dialog drops its queue).
_POLL_SECONDS = 0.05
# A key's consequences settle in a few rounds (a pushed screen mounts, then focuses a field). A widget that
# keeps posting to itself must not hold the keys for ever.
_MAX_ROUNDS = 20
# Safety valve: a handler that never finishes must not swallow every later key; they are then handed out,
# still in order, to whatever has focus.
_MAX_HOLD_SECONDS = 5.0


def _quiet(pump: MessagePump) -> bool:
    # Textual has no public "has pending messages"; the queue is what the test pilot's wait reads too.
    return pump._message_queue.empty()


async def _handled(pumps: Iterable[MessagePump]) -> None:
    """Return once every pump has handled the messages queued to it before this call, or has left the app."""
    pending = []
    for pump in pumps:
        done = asyncio.Event()
        if pump.call_later(done.set):
            pending.append((pump, done))
    for pump, done in pending:
        while not done.is_set() and pump.is_attached:
            try:
                await asyncio.wait_for(done.wait(), _POLL_SECONDS)
            except TimeoutError:
                pass


class KeysInOrderApp(App):
    """An App that hands out keys and pastes one at a time, each once the previous one has settled."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._held_input: deque[InputEvent] = deque()
        self._input_in_flight = False
        self._settling: asyncio.Task[None] | None = None  # referenced, so it is not collected while it runs

    def get_driver_class(self) -> type[Driver]:
        driver_class = super().get_driver_class()
        if driver_class.__name__ != "LinuxDriver":  # Windows, the web, or a driver named in TEXTUAL_DRIVER
            return driver_class
        from acct_tui.terminal_input import WholePasteDriver  # imports the Linux driver: not on Windows

        return WholePasteDriver

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            if self._input_in_flight:
                self._held_input.append(event)
            else:
                await self._hand_out(event)
            return
        await super().on_event(event)

    async def _hand_out(self, event: InputEvent) -> None:
        self._input_in_flight = True
        receiver: DOMNode = self.focused or self.screen
        await super().on_event(event)
        self._settling = asyncio.create_task(self._settle(receiver), name="typeahead settle")

    async def _settle(self, receiver: DOMNode) -> None:
        try:
            await asyncio.wait_for(self._settled(receiver), _MAX_HOLD_SECONDS)
        except TimeoutError:
            self.log.warning("Keys typed ahead were handed out before the previous key had settled")
        except ScreenStackError:
            pass  # the app is closing: no screen left to settle
        finally:
            self.call_later(self._hand_out_next)

    async def _settled(self, receiver: DOMNode) -> None:
        # The key bubbles from the widget it was given to up to the app, one queue at a time; the app runs its
        # binding last. Follow it up...
        for node in (receiver, *receiver.ancestors):
            await _handled((node,))
        # ...then let what it set off finish: rounds over the app and the screen in front until a round
        # leaves every queue empty and the screen and focus unchanged.
        for _ in range(_MAX_ROUNDS):
            before = (self.screen, self.focused)
            pumps = [self, *self.screen.walk_children(with_self=True)]
            await _handled(pumps)
            pumps = [self, *self.screen.walk_children(with_self=True)]
            if (self.screen, self.focused) == before and all(
                _quiet(pump) and (pump is self or pump.is_mounted) for pump in pumps
            ):
                return

    async def _hand_out_next(self) -> None:
        if self._held_input:
            await self._hand_out(self._held_input.popleft())
        else:
            self._input_in_flight = False
