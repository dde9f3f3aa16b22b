"""Reads in a thread of which only the newest call matters, one at a time per widget.

A screen reads its data again whenever something changes: every save the writer answers, every commit another
session makes. Textual's `@work(thread=True, exclusive=True)` cancels the read already running, but a thread
cannot be stopped: the cancelled read runs on beside the new one, each in a thread of its own with its own
database connection. A burst of changes (held saves committed together once another program lets go of the
lock, a team's commits arriving every second on PostgreSQL) then ran six reads of the same checklist at once,
each thread growing its own memory (+26 MB at 100,000 accounts), and at 100,000 accounts a list reloaded while
it loads read the portfolio twice side by side.

`newest_read` runs the read in one worker. Asked again while it runs, it does not start another: the running
worker reads again, with the newest arguments, once its current read is done, and returns that result alone.
Everything the screens rely on is kept: one worker's SUCCESS carries the newest read's result; a worker keys are
held for (`hold_keys_for`) finishes only once the newest read is done.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from textual.dom import DOMNode
from textual.worker import Worker, get_current_worker

Result = TypeVar("Result")


@dataclass
class _Reads:
    """One widget's reads in one group: the worker running them, and the arguments asked for since it started
    its current read."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    running: Worker | None = None
    asked: tuple[tuple, dict] | None = None


def _reads_of(node: DOMNode, group: str) -> _Reads:
    reads = node.__dict__.setdefault("_newest_reads", {})
    return reads.setdefault(group, _Reads())


def newest_read(group: str) -> Callable[[Callable[..., Result]], Callable[..., Worker[Result]]]:
    """Decorate a widget's method that reads in a thread: calling it returns the worker (named and grouped
    `group`) whose result is the read of the newest arguments. A read that fails ends its worker with the error
    (the widget's handler tells the user); the next call starts afresh."""

    def decorate(read: Callable[..., Result]) -> Callable[..., Worker[Result]]:
        @functools.wraps(read)
        def ask(node: DOMNode, *args: Any, **kwargs: Any) -> Worker[Result]:
            reads = _reads_of(node, group)
            with reads.lock:
                # A worker Textual cancelled (its widget was being removed) may never have started its thread.
                if reads.running is not None and not reads.running.is_cancelled:
                    reads.asked = (args, kwargs)
                    return reads.running

                def read_until_newest() -> Result:
                    worker = get_current_worker()
                    call_args, call_kwargs = args, kwargs
                    while True:
                        try:
                            result = read(node, *call_args, **call_kwargs)
                        except BaseException:
                            with reads.lock:
                                if reads.running is worker:
                                    reads.running, reads.asked = None, None
                            raise
                        with reads.lock:
                            if reads.running is not worker:  # cancelled and replaced: nobody waits for this
                                return result
                            if reads.asked is None:
                                reads.running = None
                                return result
                            (call_args, call_kwargs), reads.asked = reads.asked, None

                reads.running = node.run_worker(read_until_newest, name=group, group=group, thread=True,
                                                exit_on_error=False)
                return reads.running

        return ask

    return decorate
