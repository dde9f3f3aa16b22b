"""Keys typed ahead go where they were typed.

Over a slow link a terminal delivers several keys in one read, and Textual hands each key to the widget that
has focus *when the app reads it*, without waiting for the keys before it to be handled. So in "a" + "Acme"
the name went to the account list while "a" was still on its way to opening the form, and in a dropdown
"enter" + "tab" moved the focus before "enter" had chosen the option, after which "enter" submitted the field
the focus had landed in.

`KeysInOrderApp` hands out one key (or paste) at a time: the next one waits until the previous one has been
handled and everything it set off has settled: a dialog or form pushed and mounted, a dropdown opened or
closed, the focus moved. Then it goes to whatever has focus. A key that arrives while the app is idle is
handed out at once, so typing at human speed is not slowed down. A bracketed paste is read whole (see
`acct_tui.terminal_input`) and takes its place among the keys.

Work a key starts in a thread (a save, a reload) is not waited for, so the app keeps answering keys while the
database is slow, except a worker that loads what the next keys are meant for (the checklist of an account
just opened): `hold_keys_for` makes keys wait for it.
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
from textual.worker import Worker

InputEvent = events.Key | events.Paste

# How often to look whether a widget that has not handled its messages yet has left the app meanwhile (a
# dismissed dialog drops its queue), or whether a worker keys wait for has finished.
_POLL_SECONDS = 0.02
# A key's consequences settle in a few rounds (a pushed screen mounts, then focuses a field); a widget that
# keeps posting to itself must not hold the keys for ever.
_MAX_ROUNDS = 20
# Safety valve: a handler or worker that never finishes must not swallow every later key; they are then
# handed out, still in order, to whatever has focus.
_MAX_HOLD_SECONDS = 5.0


class WriterAnswer:
    """What `hold_keys_for` waits on for a change handed to the app's writer: the screen sets `is_finished`
    once the writer's answer has been shown (a worker has the same two attributes)."""

    is_cancelled = False

    def __init__(self) -> None:
        self.is_finished = False


def hold_keys_for(app: App, worker: Worker | WriterAnswer) -> None:
    """Keys that arrive while `worker` runs wait until it has finished and its result is shown: it loads the
    widgets they are typed into."""
    if isinstance(app, KeysInOrderApp):
        app._awaited_workers.append(worker)


def _quiet(pump: MessagePump) -> bool:
    # Textual has no public "has pending messages"; the message queue is what its test pilot waits on too.
    return pump._message_queue.empty()


async def _handled(pumps: Iterable[MessagePump]) -> None:
    """Return once every pump has handled the messages queued to it before this call, or has left the app."""
    pending = []
    for pump in pumps:
        done = asyncio.Event()
        if pump.call_later(done.set):
            pending.append((pump, done))
    for pump, done in pending:
        if done.is_set():
            continue
        waiter = asyncio.ensure_future(done.wait())
        while not done.is_set() and pump.is_attached:
            await asyncio.wait((waiter,), timeout=_POLL_SECONDS)
        waiter.cancel()


class KeysInOrderApp(App):
    """An App that hands out keys and pastes one at a time, each once the previous one has settled."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._held_input: deque[InputEvent] = deque()
        self._in_flight = False  # while a key is handed out or settling, the next ones wait in `_held_input`
        self._settling: asyncio.Task[None] | None = None
        self._awaited_workers: list[Worker | WriterAnswer] = []

    @property
    def keys_pending(self) -> bool:
        """True while keys typed ahead wait to be handed out, or the last one handed out has not settled."""
        return self._in_flight

    def get_driver_class(self) -> type[Driver]:
        driver_class = super().get_driver_class()
        if driver_class.__name__ != "LinuxDriver":  # Windows, the web, or a driver named in TEXTUAL_DRIVER
            return driver_class
        from acct_tui.terminal_input import WholePasteDriver  # imports the Linux driver: not on Windows

        return WholePasteDriver

    async def on_event(self, event: events.Event) -> None:
        # A key comes back here from the focused widget when nothing below handled it (`is_forwarded`): it
        # then goes on to the app's bindings as usual.
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            self._held_input.append(event)
            if not self._in_flight:
                await self._hand_out_next()
            return
        await super().on_event(event)

    def on_unmount(self) -> None:
        if self._settling is not None:
            self._settling.cancel()

    def _loading(self) -> list[Worker | WriterAnswer]:
        # A worker cancelled before it ran (replaced by a newer one of its group) never reaches a final state.
        self._awaited_workers = [worker for worker in self._awaited_workers
                                 if not (worker.is_finished or worker.is_cancelled)]
        return self._awaited_workers

    async def _hand_out_next(self) -> None:
        self._in_flight = bool(self._held_input)
        if not self._in_flight:
            return
        if self._loading():
            self._settling = asyncio.create_task(self._settle(None), name="typeahead: loading")
            return
        event = self._held_input.popleft()
        receiver: DOMNode = self.focused or self.screen
        await super().on_event(event)
        self._settling = asyncio.create_task(self._settle(receiver), name="typeahead: settle")

    async def _settle(self, receiver: DOMNode | None) -> None:
        try:
            await asyncio.wait_for(self._settled(receiver), _MAX_HOLD_SECONDS)
        except TimeoutError:
            self.log.warning("Keys typed ahead were handed out before the previous key had settled")
        except ScreenStackError:
            pass  # the app is closing: no screen left to settle
        finally:
            self.call_later(self._hand_out_next)

    async def _settled(self, receiver: DOMNode | None) -> None:
        if receiver is not None:
            # The key goes from the widget it was given to up to the app, one queue at a time; the app runs
            # its binding last. Follow it up.
            for node in (receiver, *receiver.ancestors):
                await _handled((node,))
        await self._rounds()
        while self._loading():
            await asyncio.sleep(_POLL_SECONDS)
            if not self._loading():
                await self._rounds()  # the result is shown; that may start another load to wait for

    async def _rounds(self) -> None:
        """Let what the key set off finish: rounds over the app and the screen in front until a round leaves
        every queue empty, every widget mounted and the screen and focus unchanged."""
        for _ in range(_MAX_ROUNDS):
            while self._batch_count:
                # Updates are held: a screen switched to is still being filled in, so it has not settled, and a
                # callback asked of each of its widgets now only slows that down (10 ms of opening a checklist).
                await asyncio.sleep(_POLL_SECONDS)
            before = (self.screen, self.focused)
            await _handled([self, *self.screen.walk_children(with_self=True)])
            if (self.screen, self.focused) == before and all(
                _quiet(pump) and pump.is_mounted for pump in self.screen.walk_children(with_self=True)
            ) and _quiet(self):
                return
