"""The account list's query filter and saved-view switch over 100,000 synthetic rows held in memory, without
the UI or a database: the Python work one keystroke (or one view key) costs. `python bench/query_filter.py`"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import datetime, timedelta

from acct_tui.store.queries import AccountRow
from acct_tui.widgets.account_table import COLUMN_BY_KEY, prepare_rows
from acct_tui.workflow.fields import SEGMENTS, STAGES
from acct_tui.workflow.query import parse_query

ACCOUNTS = 100_000
REPEATS = 15
QUERIES = ("northw", "owner:alice", "owner:al overdue", "stage:onb segment:key waiting progress:>50",
           "not-touched:30 -rejected")


def median_ms(action) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    rng = random.Random(1)
    now = datetime(2026, 6, 1)
    owners = [f"owner {number}" for number in range(300)] + ["alice", "bob"]
    rows = [
        AccountRow(uuid.uuid4(), f"Account {number:06d}", rng.choice(owners), rng.choice(SEGMENTS), rng.choice(STAGES),
                   rng.randint(0, 20), 20, 1, 5, rng.choice((0, 0, 0, 1, 2)),
                   now - timedelta(days=rng.randint(0, 90)), False, 5 if number % 11 == 0 else None, number % 7 == 0)
        for number in range(ACCOUNTS)
    ]
    accounts = prepare_rows(rows)
    for text in QUERIES:
        query = parse_query(text, now)
        print(f"filter {text!r}: {median_ms(lambda: query.filter(accounts)):.1f} ms")
    for key in ("owner", "overdue"):
        column = COLUMN_BY_KEY[key]
        print(f"sort by {key} (a view switch not yet cached): "
              f"{median_ms(lambda: sorted(accounts, key=column.sort_key)):.1f} ms")


if __name__ == "__main__":
    main()
