"""Helpers for the sync tests: several databases in one test, synced in process (the protocol's steps
without a pipe, to interrupt them where wanted) or through `acct-tui sync` and a subprocess pipe."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from acct_tui.store import summaries
from acct_tui.store.db import close_database, open_database, write_transaction
from acct_tui.sync.changelog import changes_after, conflict_keys, high_water_marks, merge
from acct_tui.sync.entities import all_items
from acct_tui.sync.models import SyncChange, SyncTip
from acct_tui.sync.snapshot import is_empty, load_snapshot, send_snapshot

PIPE_COMMAND = f"{sys.executable} -m acct_tui"  # stands in for `ssh host acct-tui`


class Replica:
    def __init__(self, path: Path) -> None:
        self.path = path

    def use(self) -> Replica:
        close_database()
        open_database(self.path)
        return self


def sync_in_process(client: Replica, server: Replica, *, stop_after: str | None = None) -> None:
    """The protocol's steps in order (a copy of the database for an empty side, as over the pipe);
    `stop_after` ("send", "server-apply") drops the connection there."""
    client.use()
    client_marks, client_empty = high_water_marks(), is_empty()
    server.use()
    server_marks, server_empty = high_water_marks(), is_empty()
    client.use()
    to_server = _outgoing(server_marks, server_empty)
    if stop_after == "send":
        return
    server.use()
    to_client = _outgoing(client_marks, client_empty)
    _apply(to_server)
    if stop_after == "server-apply":
        return
    client.use()
    _apply(to_client)


def _outgoing(their_marks: dict[str, int], they_are_empty: bool) -> tuple[str, list]:
    if they_are_empty and not is_empty():
        messages: list[dict] = []
        send_snapshot(messages.append)
        return "copy", [(m["table"], m["columns"], m["rows"]) for m in messages]
    return "changes", changes_after(their_marks)


def _apply(incoming: tuple[str, list]) -> None:
    how, what = incoming
    with write_transaction():
        if how == "copy":
            load_snapshot(what)
        else:
            merge(what)


def content(replica: Replica) -> dict[str, object]:
    """What a database holds, key by key; a conflict counts as the set of its values, so two databases
    holding the same conflict compare equal whichever value each shows. Also checks that every table value
    is the one its key's head tip says, and that the report summaries follow what the merge wrote."""
    replica.use()
    head_rows = list(SyncTip.select(SyncTip.key, SyncTip.value).where(SyncTip.head).tuples())
    heads = dict(head_rows)
    assert len(heads) == len(head_rows), "a key with two heads"
    shown = {item.key: item.value for item in all_items()}
    for key, value in shown.items():
        assert heads.get(key, "null") == value, f"{key}: table holds {value}, the log's head {heads.get(key)}"
    assert summaries.differences() == [], "a merge left the report summaries behind its records"
    for key in conflict_keys():
        shown[key] = sorted({tip.value for tip in SyncTip.select().where(SyncTip.key == key)})
    return shown


def history(replica: Replica, key: str) -> set[object]:
    replica.use()
    return {json.loads(value) for (value,) in SyncChange.select(SyncChange.value).where(SyncChange.key == key).tuples()}
