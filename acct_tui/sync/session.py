"""The sync protocol: two acct-tui processes, each on its own store, talking newline-delimited JSON.

    client -> server   {"type": "hello", "protocol": 1, "app": "0.x", "replica": "<id>"}
    server -> client   {"type": "hello", ...}
    client -> server   {"type": "marks", "marks": {"<origin>": <hlc>, ...}}
    server -> client   {"type": "marks", ...}
    client -> server   {"type": "change", ...} per change the server lacks, then {"type": "done", "count": n}
    server -> client   the same for the changes the client lacks
    server -> client   {"type": "applied", "received": n, "conflicts": n}   after its one transaction
    client             applies what it received in one transaction

Either side may send {"type": "error", "message": "..."} instead and stop. The export file holds the hello,
then every change of the database and a done line; importing it merges those changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, Callable

from acct_tui import __version__
from acct_tui.errors import DomainError
from acct_tui.output_files import shown_path, write_file
from acct_tui.store.db import retried_on_conflict, write_transaction
from acct_tui.sync.changelog import Change, MergeResult, changes_after, conflict_keys, high_water_marks, merge, replica_id

PROTOCOL = 1
Progress = Callable[[str], None]


class SyncError(DomainError):
    """The sync stopped; nothing half-applied (each side applies in one transaction)."""


@dataclass(frozen=True, slots=True)
class Summary:
    sent: int
    received: int
    applied: int
    conflicts: int

    def text(self) -> str:
        waiting = f"{self.conflicts} conflict{'s' if self.conflicts != 1 else ''} waiting" if self.conflicts else (
            "no conflicts")
        return f"Sync done: {self.applied} change(s) in, {self.sent} out; {waiting}."


def _send(stream: IO[bytes], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")


def _receive(stream: IO[bytes], expected: str) -> dict[str, Any]:
    line = stream.readline()
    if not line:
        raise SyncError("The other side closed the connection before the sync finished; nothing was half-applied, "
                        "run the sync again.")
    try:
        message = json.loads(line)
    except ValueError:
        raise SyncError(f"The other side answered something that is not the sync protocol: {line[:80]!r}. "
                        "Is acct-tui installed there, and does the login print nothing?") from None
    if message.get("type") == "error":
        raise SyncError(f"The other side: {message.get('message', 'unknown error')}")
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


def _receive_changes(stream: IO[bytes], progress: Progress) -> list[Change]:
    changes: list[Change] = []
    while True:
        line = stream.readline()
        if not line:
            raise SyncError("The connection dropped while changes were coming in; nothing was applied here, run "
                            "the sync again.")
        try:
            message = json.loads(line)
        except ValueError:
            raise SyncError("A change came in damaged; nothing was applied here, run the sync again.") from None
        if message.get("type") == "done":
            if message.get("count") != len(changes):
                raise SyncError("Some changes were lost on the way; nothing was applied here, run the sync again.")
            return changes
        if message.get("type") == "error":
            raise SyncError(f"The other side: {message.get('message')}")
        try:
            changes.append(Change.from_json(message))
        except (KeyError, TypeError, ValueError):
            raise SyncError("A change came in damaged; nothing was applied here, run the sync again.") from None
        if len(changes) % 5000 == 0:
            progress(f"received {len(changes)} changes")


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
    _send(writer, {"type": "marks", "marks": high_water_marks()})
    writer.flush()
    their_marks = _receive(reader, "marks")["marks"]
    outgoing = changes_after(their_marks)
    progress(f"sending {len(outgoing)} changes")
    _send_changes(writer, outgoing, progress)
    incoming = _receive_changes(reader, progress)
    _receive(reader, "applied")
    progress(f"applying {len(incoming)} changes")
    result = _apply(incoming)
    return Summary(sent=len(outgoing), received=len(incoming), applied=result.applied,
                   conflicts=len(conflict_keys()))


def run_server(reader: IO[bytes], writer: IO[bytes]) -> None:
    """The far side (`acct-tui sync --serve`): answers one client, then exits."""
    try:
        theirs = _receive(reader, "hello")
        _send(writer, hello())
        writer.flush()
        check_hello(theirs, they_are="the side that started the sync")
        their_marks = _receive(reader, "marks")["marks"]
        _send(writer, {"type": "marks", "marks": high_water_marks()})
        writer.flush()
        outgoing = changes_after(their_marks)
        incoming = _receive_changes(reader, lambda _: None)
        _send_changes(writer, outgoing, lambda _: None)
        result = _apply(incoming)
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
        incoming = _receive_changes(stream, progress)
    progress(f"applying {len(incoming)} changes")
    result = _apply(incoming)
    return Summary(sent=0, received=len(incoming), applied=result.applied, conflicts=len(conflict_keys()))
