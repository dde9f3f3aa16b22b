"""Reads asked for in a burst run one at a time, and the newest ask is the one shown."""

from __future__ import annotations

import threading
from functools import partial

import pytest
from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.worker import WorkerState

from acct_tui.app import AcctApp
from acct_tui.messages import DataChanged
from acct_tui.newest_read import newest_read
from acct_tui.store import queries, services
from tests.ui_support import screen_text, settle

WAIT_SECONDS = 10


class Reads:
    """What the reads did: the arguments each was called with, and how many ran at once at most."""

    def __init__(self, fail_first: bool = False) -> None:
        self.lock = threading.Lock()
        self.first_may_finish = threading.Event()
        self.calls: list[int] = []
        self.running = 0
        self.most_at_once = 0
        self.fail_first = fail_first

    def read(self, value: int) -> str:
        with self.lock:
            self.calls.append(value)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            first = len(self.calls) == 1
        try:
            if first:
                assert self.first_may_finish.wait(WAIT_SECONDS)
                if self.fail_first:
                    raise RuntimeError("the disk went away")
            return f"read {value}"
        finally:
            with self.lock:
                self.running -= 1


class Reader(Widget):
    def __init__(self, reads: Reads) -> None:
        super().__init__()
        self.reads = reads

    @newest_read("load")
    def load(self, value: int) -> str:
        return self.reads.read(value)


class ReaderApp(App):
    def __init__(self, reads: Reads) -> None:
        super().__init__()
        self.reader = Reader(reads)

    def compose(self) -> ComposeResult:
        yield self.reader


async def test_asks_while_a_read_runs_make_one_more_read_with_the_newest_arguments():
    reads = Reads()
    app = ReaderApp(reads)
    async with app.run_test() as pilot:
        workers = [app.reader.load(value) for value in (1, 2, 3, 4)]
        reads.first_may_finish.set()
        result = await workers[0].wait()
        await pilot.pause()
        assert all(worker is workers[0] for worker in workers)
        assert result == "read 4"
        assert reads.calls == [1, 4]
        assert reads.most_at_once == 1
        again = app.reader.load(5)
        assert again is not workers[0]
        assert await again.wait() == "read 5"


async def test_a_read_that_fails_ends_its_worker_with_the_error_and_the_next_ask_starts_afresh():
    reads = Reads(fail_first=True)
    app = ReaderApp(reads)
    async with app.run_test() as pilot:
        failing = app.reader.load(1)
        assert app.reader.load(2) is failing
        reads.first_may_finish.set()
        await pilot.pause()
        with pytest.raises(Exception):
            await failing.wait()
        assert failing.state == WorkerState.ERROR
        assert reads.calls == [1]  # the ask made meanwhile went with the failure: the next one reads
        assert await app.reader.load(3).wait() == "read 3"
        assert reads.calls == [1, 3]


async def reads_in_a_burst_of_changes(pilot, monkeypatch, module, reader: str, changes) -> Reads:
    """Each of `changes` made and announced (DataChanged) while the first read of `module.reader` after this
    call is held; then it is let go and the app settles. What the reads did."""
    reads = Reads()
    read = getattr(module, reader)

    def counted(*args, **kwargs):
        reads.read(0)
        return read(*args, **kwargs)

    monkeypatch.setattr(module, reader, counted)
    for change in changes:
        change()
        pilot.app.screen.post_message(DataChanged())
        await pilot.pause()
    reads.first_may_finish.set()
    await settle(pilot)
    return reads


async def test_changes_arriving_while_the_checklist_loads_read_it_once_more_not_once_each(db, db_path, monkeypatch):
    account = services.create_account("Northwind", owner="ana")
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_account(account)
        await settle(pilot)
        reads = await reads_in_a_burst_of_changes(
            pilot, monkeypatch, queries, "run_view",
            [partial(services.edit_account, account, name=name)
             for name in ("Northwind Traders", "Northwind Holdings", "Northwind Group")])
        assert len(reads.calls) == 2
        assert reads.most_at_once == 1
        assert "Northwind Group" in screen_text(app)


async def test_changes_arriving_while_the_account_list_loads_load_it_once_more(db, db_path, monkeypatch):
    """At 100,000 accounts a load is a second of a core and tens of MB: commits arriving meanwhile (a team's,
    every second or so) must not start loads beside it."""
    from acct_tui.screens import accounts

    services.create_account("Acme")
    app = AcctApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        reads = await reads_in_a_burst_of_changes(
            pilot, monkeypatch, accounts, "account_list",
            [partial(services.create_account, name) for name in ("Globex", "Initech", "Umbrella")])
        assert len(reads.calls) == 2
        assert reads.most_at_once == 1
        assert all(name in screen_text(app) for name in ("Acme", "Globex", "Initech", "Umbrella"))
