"""The benchmark's portfolios on PostgreSQL: a local server from pip (pgserver, as the tests use) and a copy
of a generated SQLite portfolio loaded with COPY (the same rows, ids and history)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from generate import TABLES

from acct_tui.store.backend import WRITE_LOCK_KEY


# Another session holding the team database's write lock (the advisory lock every acct-tui write takes first),
# until told on stdin or for argv[2] seconds: run.py's LOCK_HOLDER for PostgreSQL.
LOCK_HOLDER = f"""
import select, sys, psycopg
with psycopg.connect(sys.argv[1]) as connection:
    connection.execute("SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
    print("locked", flush=True)
    select.select([sys.stdin], [], [], float(sys.argv[2]))
"""


def start_server(folder: Path):
    """A PostgreSQL 16 server whose data lives in `folder` (kept between runs, like the portfolios)."""
    import pgserver

    folder.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(folder, cleanup_mode="stop")


def fingerprint(portfolio: Path) -> str:
    """Which portfolio file (size and time written) a copy was made of, under which schema."""
    from acct_tui.store.db import latest_schema_version

    info = portfolio.stat()
    return f"acct-tui bench copy of {portfolio.name}: {info.st_size} bytes, {info.st_mtime_ns}, " \
           f"schema {latest_schema_version()}"


def load(server, name: str, portfolio: Path) -> tuple[str, float]:
    """A database `name` holding the SQLite `portfolio`; returns its URL and the seconds the load took. A
    copy made before of the same file under the same schema is kept (the 100,000-account copy takes minutes)."""
    import psycopg

    from acct_tui.store.db import close_database, open_database

    started = time.perf_counter()
    url = server.get_uri(name)
    wanted = fingerprint(portfolio)
    with psycopg.connect(server.get_uri(), autocommit=True) as admin:
        (made_from,) = admin.execute("SELECT max(shobj_description(oid, 'pg_database')) FROM pg_database "
                                     "WHERE datname = %s", (name,)).fetchone()
        if made_from == wanted:
            return url, 0.0
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    open_database(url)  # the app's own schema, with its PostgreSQL additions
    close_database()
    source = sqlite3.connect(f"{portfolio.resolve().as_uri()}?mode=ro", uri=True)
    with psycopg.connect(url) as target:
        for table in TABLES:
            columns = [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')]
            quoted = ", ".join(f'"{column}"' for column in columns)
            with target.cursor().copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for row in source.execute(f'SELECT {quoted} FROM "{table}"'):
                    copy.write_row(row)
        target.execute("ANALYZE")
        target.execute(f"COMMENT ON DATABASE {name} IS '{wanted}'")
    source.close()
    return url, time.perf_counter() - started
