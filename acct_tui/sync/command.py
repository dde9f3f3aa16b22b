"""`acct-tui sync`: start `acct-tui sync --serve` on the far side through the system `ssh` (so ssh config,
ProxyJump, keys and agents all work) and run the protocol over its stdin/stdout; or carry the changes in a
file (`--export` / `--import`), or be the far side (`--serve`)."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from typing import TYPE_CHECKING, Callable, Sequence

from acct_tui.errors import DomainError

if TYPE_CHECKING:
    from acct_tui.sync.session import Summary

Progress = Callable[[str], None]

# Replaces `ssh [-J jump] host acct-tui` with a local command (tests, the benchmark): the same code path, a
# pipe instead of a network.
SSH_COMMAND_ENV = "ACCT_TUI_SYNC_SSH"
LAST_HOST_SETTING = "sync_host"


def start_serving_quickly(argv: Sequence[str]) -> None:
    """Called first thing by `main`: the far side of a sync on a database file starts a tenth of a second
    sooner when Peewee (and its schema migrator), importing itself, does not find the PostgreSQL driver: it
    imports it whether needed or not. Only in a process that has not imported Peewee yet (one started to
    serve: never a test run, never the app) and only for `sync --serve` on a file, not a postgresql:// URL."""
    if "peewee" in sys.modules or "sync" not in argv or "--serve" not in argv:
        return
    named = [value for flag, value in zip(argv, argv[1:]) if flag == "--db"]
    named += [word.removeprefix("--db=") for word in argv if word.startswith("--db=")]
    if any("://" in target for target in [*named, os.environ.get("ACCT_TUI_DB", "")]):
        return  # a team database (its URL from --db or ACCT_TUI_DB, as `acct_tui.store.db` reads them)
    hidden = [name for name in ("psycopg", "psycopg2") if name not in sys.modules]
    sys.modules.update(dict.fromkeys(hidden))  # None: "import psycopg" raises ImportError
    try:
        import peewee  # noqa: F401
        import playhouse.migrate  # noqa: F401
    finally:
        for name in hidden:
            del sys.modules[name]


def far_side_command(host: str, remote_db: str | None, jump: str | None) -> list[str]:
    serve = ["sync", "--serve"] + (["--db", remote_db] if remote_db else [])
    override = os.environ.get(SSH_COMMAND_ENV)
    if override:
        return shlex.split(override) + serve
    # ssh hands the remote shell one string: quote each word for it.
    return ["ssh", *(["-J", jump] if jump else []), "--", host,
            " ".join(shlex.quote(word) for word in ["acct-tui", *serve])]


def sync_with_host(host: str, remote_db: str | None, jump: str | None, progress: Progress) -> Summary:
    """Sync the open database with the one on `host`; raises SyncError with one line on failure."""
    from acct_tui.sync.session import SyncError, run_client

    command = far_side_command(host, remote_db, jump)
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
        except OSError as error:
            raise SyncError(f"Cannot start {command[0]}: {error.strerror or error}.") from None
        assert process.stdin is not None and process.stdout is not None
        try:
            summary = run_client(process.stdout, process.stdin, progress)
        except (SyncError, BrokenPipeError) as error:
            process.kill()
            process.wait()
            errors.seek(0)
            lines = [line for line in errors.read().decode(errors="replace").splitlines() if line.strip()]
            detail = f" ({lines[-1].strip()})" if lines else ""
            message = str(error) if isinstance(error, SyncError) else "The other side closed the connection before the sync finished; nothing was half-applied, run the sync again."
            raise SyncError(f"{message}{detail}") from None
        finally:
            try:
                process.stdin.close()
            except BrokenPipeError:
                pass  # the far side is gone: what it said is in the error above
        process.wait()
    return summary


def _progress_line() -> Progress:
    interactive = sys.stderr.isatty()

    def show(text: str) -> None:
        if interactive:
            sys.stderr.write(f"\r\x1b[Ksync: {text}")
        else:
            sys.stderr.write(f"sync: {text}\n")
        sys.stderr.flush()

    return show


def cmd_sync(args) -> int:  # type: ignore[no-untyped-def]
    from acct_tui.cli import _open
    from acct_tui.output_files import target_path
    from acct_tui.sync.session import export_changes, import_changes, run_server

    modes = [bool(args.serve), bool(args.export), bool(args.import_file), bool(args.host)]
    if sum(modes) != 1:
        raise DomainError("Give one of: a host to sync with, --export FILE, --import FILE (or --serve).")
    _open(args)
    if args.serve:
        run_server(sys.stdin.buffer, sys.stdout.buffer)
        return 0
    progress = _progress_line()
    if args.export:
        count = export_changes(target_path(args.export), progress)
        _finish(f"Wrote {count} changes to {args.export}; import them on the other side with "
                "`acct-tui sync --import FILE`.")
        return 0
    if args.import_file:
        summary = import_changes(Path(args.import_file).expanduser(), progress)
    else:
        from acct_tui.settings import save_setting  # imports the keymap, and with it Textual: not for --serve

        summary = sync_with_host(args.host, args.remote_db, args.jump, progress)
        try:
            save_setting(LAST_HOST_SETTING, {"host": args.host, "remote_db": args.remote_db, "jump": args.jump})
        except OSError:
            pass  # remembering the host is a convenience; the sync itself is done
    _finish(summary.text())
    return 0


def _finish(text: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[K")
    print(text)


def add_sync_parser(commands) -> None:  # type: ignore[no-untyped-def]
    sync = commands.add_parser("sync", help="bring this database and another (over ssh, or a file) to one state")
    sync.add_argument("host", nargs="?", help="[user@]host to sync with over ssh")
    sync.add_argument("--remote-db", metavar="PATH", help="the database on the far side (default: its own default)")
    sync.add_argument("-J", dest="jump", metavar="JUMP", help="ssh ProxyJump host")
    sync.add_argument("--export", metavar="FILE", help="write this database's changes to FILE (0600)")
    sync.add_argument("--import", dest="import_file", metavar="FILE", help="merge the changes in FILE")
    sync.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="this side's database (as acct-tui --db)")
    sync.add_argument("--serve", action="store_true", help="be the far side (started by `acct-tui sync HOST`)")
    sync.set_defaults(handler=cmd_sync)
