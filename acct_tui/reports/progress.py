"""Progress of a long export, reported as a fraction from 0 to 1 to whoever shows it."""

from __future__ import annotations

from typing import Callable

ProgressCallback = Callable[[float], None]


class Ticker:
    """Counts units of work and calls `callback(fraction)` at most once per percent: a call per row of a
    100,000-row export would cost more than the row itself."""

    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total = max(total, 1)
        self.callback = callback
        self.done = 0
        self._next_report = 0

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.callback is not None and self.done >= self._next_report:
            self.callback(min(self.done / self.total, 1.0))
            self._next_report = self.done + max(1, self.total // 100)

    def finish(self) -> None:
        if self.callback is not None:
            self.callback(1.0)
