"""The sync protocol: two acct-tui processes, each on its own store, talking newline-delimited JSON.

    client -> server   {"type": "hello", "protocol": 1, "app": "0.x", "replica": "<id>"}
    server -> client   {"type": "hello", ...}
    client -> server   {"type": "marks", "marks": {"<origin>": <hlc>, ...}, "empty": false}
    server -> client   {"type": "marks", ...}
    client -> server   {"type": "change", ...} per change the server lacks, then {"type": "done", "count": n};
                       or, when the server said it is empty, a copy of this database:
                       {"type": "rows", "table": "...", "columns": [...], "rows": [[...], ...]} per few
                       thousand rows of each table, then {"type": "done", "count": <rows>}
    server -> client   the same for what the client lacks
    server -> client   {"type": "applied", "received": n, "conflicts": n}   after its one transaction
    client             applies what it received in one transaction

Either side may send {"type": "error", "message": "..."} instead and stop. The export file holds the hello,
then every change of the database and a done line; importing it merges those changes. A side that does not
say "empty" (an older acct-tui) is sent changes, never a copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, Callable, Iterator

from acct_tui import __version__
from acct_tui.errors import DomainError
from acct_tui.output_files import shown_path, write_file
from acct_tui.store.db import retried_on_conflict, write_transaction
from acct_tui.sync.changelog import (
    Change,
    MergeResult,
    changes_after,
    conflict_keys,
    high_water_marks,
    merge,
    replica_id,
)
from acct_tui.sync.conflicts import duplicate_names
from acct_tui.sync.snapshot import SnapshotRefused, is_empty, json_value, load_snapshot, send_snapshot

PROTOCOL = 1
ROWS_PER_PROGRESS = 50_000
Progress = Callable[[str], None]


class SyncError(DomainError):
    """The sync stopped; nothing half-applied (each side applies in one transaction)."""


@dataclass(frozen=True, slots=True)
class Summary:
    sent: int
    received: int
    applied: int
    conflicts: int
    duplicates: int = 0  # accounts created on both sides with one name, waiting for a merge or a rename

    def text(self) -> str:
        waiting = f"{self.conflicts} conflict{'s' if self.conflicts != 1 else ''} waiting" if self.conflicts else (
            "no conflicts")
        if self.duplicates:
            waiting += (f"; {self.duplicates} account name{'s' if self.duplicates != 1 else ''} created on both "
                        "sides, waiting to be merged or renamed (Conflicts view, `!`)")
        return f"Sync done: {self.applied} change(s) in, {self.sent} out; {waiting}."


def _summary(sent: int, result: MergeResult) -> Summary:
    return Summary(sent=sent, received=result.received, applied=result.applied, conflicts=len(conflict_keys()),
                   duplicates=len(duplicate_names()))


def _send(stream: IO[bytes], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=json_value).encode() + b"\n")


def _read_message(stream: IO[bytes], dropped: str, damaged: Callable[[bytes], str]) -> dict[str, Any]:
    """The next message (one JSON object a line); an error the other side sent, a dropped connection
    (`dropped`) or a line that is not a message (`damaged(line)`) end the sync."""
    line = stream.readline()
    if not line:
        raise SyncError(dropped)
    try:
        message = json.loads(line)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        raise SyncError(damaged(line))
    if message.get("type") == "error":
        raise SyncError(f"The other side: {message.get('message', 'unknown error')}")
    return message


def _receive(stream: IO[bytes], expected: str) -> dict[str, Any]:
    message = _read_message(
        stream, "The other side closed the connection before the sync finished; nothing was half-applied, run "
        "the sync again.",
        lambda line: f"The other side answered something that is not the sync protocol: {line[:80]!r}. Is "
        "acct-tui installed there, and does the login print nothing?")
    if message.get("type") != expected:
        raise SyncError(f"The other side sent {message.get('type')!r} where {expected!r} was expected.")
    return message


def hello() -> dict[str, Any]:
    return {"type": "hello", "protocol": PROTOCOL, "app": __version__, "replica": replica_id()}


def check_hello(theirs: dict[str, Any], *, they_are: str) -> None:
    protocol = theirs.get("protocol")
    if not isinstance(protocol, int) or protocol != PROTOCOL:
        older = they_are if not isinstance(protocol, int) or protocol < PROTOCOL else "this side"
        raise SyncError(f"Sync protocol {protocol} there, {PROTOCOL} here (acct-tui {theirs.get('app')} there, "
                        f"{__version__} here): upgrade acct-tui on {older}.")
    if theirs.get("replica") == replica_id():
        raise SyncError("Both sides are the same database (or a copy of one file): sync needs two databases, each "
                        "made by acct-tui on its own machine.")


def _send_changes(stream: IO[bytes], changes: list[Change], progress: Progress) -> None:
    for number, change in enumerate(changes, 1):
        _send(stream, {"type": "change", **change.as_json()})
        if number % 5000 == 0:
            progress(f"sent {number}/{len(changes)} changes")
    _send(stream, {"type": "done", "count": len(changes)})
    stream.flush()


def _marks() -> dict[str, Any]:
    return {"type": "marks", "marks": high_water_marks(), "empty": is_empty()}


def _outgoing(theirs: dict[str, Any]) -> Callable[[IO[bytes], Progress], int]:
    """What the other side lacks, decided now and sent later: a copy of this database when the other side
    is empty (and this one is not), else the changes above its marks. The sender returns how many changes."""
    marks = theirs.get("marks")
    if not isinstance(marks, dict):
        raise SyncError("The other side sent no high-water marks.")
    if theirs.get("empty") is True and not is_empty():
        def send_copy(stream: IO[bytes], progress: Progress) -> int:
            progress("sending a copy of this database (the other side is empty)")
            rows, changes = send_snapshot(lambda message: _send(stream, message))
            _send(stream, {"type": "done", "count": rows})
            stream.flush()
            return changes
        return send_copy
    changes = changes_after(marks)

    def send_changes(stream: IO[bytes], progress: Progress) -> int:
        progress(f"sending {len(changes)} changes")
        _send_changes(stream, changes, progress)
        return len(changes)
    return send_changes


def _next_message(stream: IO[bytes]) -> dict[str, Any]:
    return _read_message(
        stream, "The connection dropped while changes were coming in; nothing was applied here, run the sync "
        "again.", lambda _: "A change came in damaged; nothing was applied here, run the sync again.")


def _check_count(message: dict[str, Any], count: int) -> None:
    if message.get("count") != count:
        raise SyncError("Some changes were lost on the way; nothing was applied here, run the sync again.")


def _changes_from(stream: IO[bytes], message: dict[str, Any], progress: Progress) -> list[Change]:
    """The changes from `message` (the first one read) up to the done line."""
    changes: list[Change] = []
    while message.get("type") != "done":
        try:
            changes.append(Change.from_json(message))
        except (KeyError, TypeError, ValueError):
            raise SyncError("A change came in damaged; nothing was applied here, run the sync again.") from None
        if len(changes) % 5000 == 0:
            progress(f"received {len(changes)} changes")
        message = _next_message(stream)
    _check_count(message, len(changes))
    return changes


def _rows_from(stream: IO[bytes], message: dict[str, Any],
               progress: Progress) -> Iterator[tuple[str, list[str], list[list[Any]]]]:
    """The rows of a copy, a message at a time, from `message` (the first one read) up to the done line."""
    count = 0
    while message.get("type") == "rows":
        table, columns, rows = message.get("table"), message.get("columns"), message.get("rows")
        if not (isinstance(table, str) and isinstance(columns, list) and isinstance(rows, list)):
            raise SyncError("A part of the copy came in damaged; nothing was applied here, run the sync again.")
        yield table, columns, rows
        count += len(rows)
        if count // ROWS_PER_PROGRESS != (count - len(rows)) // ROWS_PER_PROGRESS:
            progress(f"copied {count} rows")
        message = _next_message(stream)
    if message.get("type") != "done":
        raise SyncError(f"The other side sent {message.get('type')!r} inside a copy.")
    _check_count(message, count)


def _nothing() -> None:
    """No step to take at that point."""


def _receive_and_apply(stream: IO[bytes], progress: Progress, *, after_receiving: Callable[[], None] = _nothing,
                       before_commit: Callable[[], None] = _nothing) -> MergeResult:
    """Receive what the other side sends and apply it in one transaction. `after_receiving` runs once all
    of it is in (the server sends its own changes then, while it merges); the transaction commits only
    after `before_commit` went well (the client waits there for the server's answer, having merged
    meanwhile: the two sides merge at the same time)."""
    first = _next_message(stream)
    if first.get("type") == "rows":
        progress("receiving a copy of the other side")
        with write_transaction():
            if not is_empty():
                raise SyncError("This database changed while the sync started; nothing was applied here, run the "
                                "sync again.")
            try:
                result = load_snapshot(_rows_from(stream, first, progress))
            except SnapshotRefused as refused:
                raise SyncError(f"The other side's copy does not fit this database ({refused}): use the same "
                                "acct-tui version on both sides.") from None
            after_receiving()
            before_commit()
        return result
    incoming = _changes_from(stream, first, progress)
    after_receiving()
    progress(f"applying {len(incoming)} changes")
    with write_transaction():
        result = merge(incoming)
        before_commit()
    return result


@retried_on_conflict
def _apply(changes: list[Change]) -> MergeResult:
    with write_transaction():
        return merge(changes)


def run_client(reader: IO[bytes], writer: IO[bytes], progress: Progress) -> Summary:
    """The side that started the sync."""
    progress("connected; comparing")
    _send(writer, hello())
    writer.flush()
    check_hello(_receive(reader, "hello"), they_are="the other side")
    _send(writer, _marks())
    writer.flush()
    sent = _outgoing(_receive(reader, "marks"))(writer, progress)
    result = _receive_and_apply(reader, progress, before_commit=lambda: _receive(reader, "applied"))
    return _summary(sent, result)


def run_server(reader: IO[bytes], writer: IO[bytes]) -> None:
    """The far side (`acct-tui sync --serve`): answers one client, then exits."""
    try:
        theirs = _receive(reader, "hello")
        _send(writer, hello())
        writer.flush()
        check_hello(theirs, they_are="the side that started the sync")
        their_marks = _receive(reader, "marks")
        _send(writer, _marks())
        writer.flush()
        send_outgoing = _outgoing(their_marks)
        result = _receive_and_apply(reader, lambda _: None,
                                    after_receiving=lambda: send_outgoing(writer, lambda _: None))
        _send(writer, {"type": "applied", "received": result.received, "conflicts": result.conflicts})
        writer.flush()
    except DomainError as error:
        _send(writer, {"type": "error", "message": str(error)})
        writer.flush()
        raise


def export_changes(target: Path, progress: Progress) -> int:
    """Write every change of this database to `target` (0600, atomically); returns how many."""
    changes = changes_after({})
    progress(f"writing {len(changes)} changes")

    def fill(stream: BinaryIO, _: Path) -> None:
        _send(stream, hello())
        _send_changes(stream, changes, progress)

    write_file(target, fill, force=True)
    return len(changes)


def import_changes(source: Path, progress: Progress) -> Summary:
    try:
        stream = source.open("rb")
    except OSError as error:
        raise SyncError(f"Cannot read {shown_path(source)}: {error.strerror or error}.") from None
    with stream:
        check_hello(_receive(stream, "hello"), they_are="the database that wrote the file")
        incoming = _changes_from(stream, _next_message(stream), progress)
    progress(f"applying {len(incoming)} changes")
    return _summary(0, _apply(incoming))
