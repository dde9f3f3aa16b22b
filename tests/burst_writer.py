"""A child process for the concurrency and crash tests (run as a script, not collected as a test).

    python burst_writer.py DB LABEL COUNT [--shared-run RUN_ID] [--go FILE] [--pause SECONDS]

Creates COUNT accounts named "LABEL 00000"... through `create_account`; with --shared-run it also saves
step 1's notes of that run after each one. Each id is printed (and flushed) only after its transaction
committed, so whatever the parent read from stdout was shown to the user as saved. With --go it waits for
FILE to exist before starting, so two writers start their bursts together, and prints "started TIME" and, at
the end, "finished TIME" (epoch seconds). --pause waits between writes, as a person does between saves.
Errors: one line on stderr and exit 3 (the test then finds the message, for instance "database is locked").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from acct_tui.errors import DomainError
from acct_tui.store.db import open_database
from acct_tui.store.services import create_account, set_field
from acct_tui.template import NOTES_KEY


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("label")
    parser.add_argument("count", type=int)
    parser.add_argument("--shared-run")
    parser.add_argument("--go")
    parser.add_argument("--pause", type=float, default=0.0)
    args = parser.parse_args()
    open_database(args.db)
    print("ready", flush=True)
    if args.go:
        while not Path(args.go).exists():
            time.sleep(0.005)
        print(f"started {time.time()}", flush=True)
    for index in range(args.count):
        account_id = create_account(f"{args.label} {index:05d}", owner=args.label, actor=args.label)
        if args.shared_run:
            set_field(args.shared_run, 1, NOTES_KEY, f"{args.label} wrote {index}", actor=args.label)
        print(account_id, flush=True)
        time.sleep(args.pause)
    if args.go:
        print(f"finished {time.time()}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DomainError as error:
        print(f"burst_writer: {error}", file=sys.stderr)
        sys.exit(3)
