"""Benchmark `acct-tui sync` between two 10,000-account databases on this machine, a local pipe instead of
ssh (the far side is `python -m acct_tui sync --serve`, started as ssh would start it).

    python bench/sync.py [--accounts 10000] [--keep FOLDER] [--start-from FILE]

Measures: a first sync of a generated portfolio into an empty database (target <= 30 s), a sync with nothing
to do (<= 0.3 s), and 1,000 changed fields on each side (<= 2 s). Each figure is the time `sync_with_host`
takes in this process (the far side's start included), and the whole command's time as a user waits for it.
Beside each wall time, the CPU time of both processes (this one and the far side): on a machine shared with
other jobs the wall time grows with their load, the CPU time hardly.

`--start-from FILE` copies FILE (a database `generate.py` made, with its baseline change log; keep one with
`--keep`) instead of generating one: the same data for two versions of the code measured back to back.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate  # noqa: E402
from acct_tui.store import services  # noqa: E402
from acct_tui.store.db import close_database, open_database, write_transaction  # noqa: E402
from acct_tui.store.models import Account  # noqa: E402
from acct_tui.sync.changelog import build_baseline  # noqa: E402
from acct_tui.sync.command import SSH_COMMAND_ENV, sync_with_host  # noqa: E402
from acct_tui.sync.models import SyncChange  # noqa: E402

PIPE = f"{sys.executable} -m acct_tui"


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy, whatever its write-ahead log still holds (SQLite's online backup)."""
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)
    reading.close()
    writing.close()


def cpu_seconds() -> float:
    """CPU time of this process and of the far sides it has waited for."""
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def timed_sync(client: Path, server: Path) -> tuple[float, float, float, str]:
    """(seconds in process, CPU seconds of both sides, seconds of the whole command, summary)."""
    open_database(client)
    cpu = cpu_seconds()
    start = time.perf_counter()
    summary = sync_with_host("bench", str(server), None, lambda _: None)
    in_process = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    close_database()
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "acct_tui", "--db", str(client), "sync", "bench", "--remote-db",
                    str(server)], check=True, capture_output=True)
    whole = time.perf_counter() - start
    return in_process, cpu, whole, summary.text()


def change_fields(path: Path, count: int, offset: int, field: str) -> None:
    open_database(path)
    ids = [a for (a,) in Account.select(Account.id).order_by(Account.id).offset(offset).limit(count).tuples()]
    for number, account_id in enumerate(ids):
        services.edit_account(account_id, **{field: f"{field} {number} changed on {path.stem}"})
    close_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="build the databases in this folder and keep them")
    parser.add_argument("--start-from", type=Path, metavar="FILE",
                        help="a copy of this generated database (with its baseline) instead of generating one")
    args = parser.parse_args()
    os.environ[SSH_COMMAND_ENV] = PIPE
    folder = args.keep or Path(tempfile.mkdtemp(prefix="acct-sync-bench-"))
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    laptop, host = folder / "laptop.db", folder / "host.db"
    for path in (laptop, host):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    if args.start_from:
        copy_database(args.start_from, host)
    else:
        print(f"generating {args.accounts:,} accounts ...", file=sys.stderr)
        generate(host, args.accounts)
        open_database(host)
        start = time.perf_counter()
        with write_transaction():
            logged = build_baseline()
        print(f"baseline change log of the generated database: {logged:,} changes in "
              f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
        close_database()
        if args.keep:
            copy_database(host, folder / "generated.db")
    open_database(laptop)
    close_database()
    figures = []
    in_process, cpu, _, summary = timed_sync(laptop, host)
    figures.append(("first sync into an empty database", in_process, cpu, None, summary, 30))
    print(f"first sync: {in_process:.1f} s [{summary}]", file=sys.stderr, flush=True)
    open_database(laptop)
    changes = SyncChange.select().count()
    close_database()
    in_process, cpu, whole, summary = timed_sync(laptop, host)
    figures.append(("nothing to do", in_process, cpu, whole, summary, 0.3))
    change_fields(laptop, 1000, 0, "owner")
    change_fields(host, 1000, 5000 * args.accounts // 10_000, "industry")
    in_process, cpu, _, summary = timed_sync(laptop, host)
    figures.append(("1,000 changed fields each way", in_process, cpu, None, summary, 2))
    print(f"{args.accounts:,} accounts, {changes:,} changes in each log")
    for name, seconds, cpu, whole, summary, target in figures:
        extra = f" (whole command {whole:.2f} s)" if whole is not None else ""
        print(f"{name:<36} {seconds:7.2f} s  CPU {cpu:6.2f} s  target <= {target} s{extra}   [{summary}]")


if __name__ == "__main__":
    main()
