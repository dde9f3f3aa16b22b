"""A real PostgreSQL for the tests, from pip (`pgserver` bundles PostgreSQL 16): one server per test
process (each pytest-xdist worker starts its own), one database per test, cloned from a migrated template.

Tests connect as the login `tester` (the owner of each test database, as a team's administrator would be),
so the actor a test sees is the same on both backends; `mia`, `ann`, `ray` and `nobody` are further logins
for the role tests.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.ram_folder import ram_folder

OWNER = "tester"
OTHER_LOGINS = ("mia", "ann", "ray", "nobody")
TEMPLATE = "acct_template"
DATABASES_AHEAD = 4


@dataclass
class PostgresServer:
    socket_dir: Path
    admin_uri: str
    _numbers: itertools.count
    # Cloning and dropping a database takes the server 20-30 ms in RAM, 0.1-0.3 s on a disk, more than most
    # store tests: one thread does both while the tests run, and keeps a few databases ready ahead.
    _background: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "postgres-databases"))
    _ready: deque[Future] = field(default_factory=deque)

    def url(self, database: str, login: str = OWNER) -> str:
        return f"postgresql://{login}@/{database}?host={self.socket_dir}"

    def admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_uri, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    def new_database(self) -> str:
        """A fresh database at the latest schema, owned by `tester`; returns its name."""
        while len(self._ready) <= DATABASES_AHEAD:
            self._ready.append(self._background.submit(self._clone_template))
        return self._ready.popleft().result()

    def _clone_template(self) -> str:
        name = f"test_{next(self._numbers)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} OWNER {OWNER}")
        return name

    def drop_database(self, name: str) -> None:
        """Dropped in the background, after what was asked before (a test's connections are closed by then)."""
        self._background.submit(self.admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop_background(self) -> None:
        self._background.shutdown(wait=True)


def start_server() -> tuple[PostgresServer | None, str, object]:
    """(server, why it could not start, handle to keep alive). Skipped cleanly where pgserver is missing."""
    try:
        import pgserver
        import psycopg  # noqa: F401
    except ImportError as error:
        return None, f"PostgreSQL tests need pgserver and psycopg (pip install -e '.[test]'): {error}", None
    # short: a unix socket path has at most 107 bytes
    folder = Path(tempfile.mkdtemp(prefix="acct-pg-", dir=ram_folder()))
    try:
        handle = pgserver.get_server(folder, cleanup_mode="delete")
        admin_uri = handle.get_uri()
    except Exception as error:  # noqa: BLE001  (any failure to start means: no PostgreSQL tests here, with the reason)
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"pgserver could not start PostgreSQL here: {type(error).__name__}: {error}", None
    server = PostgresServer(folder, admin_uri, itertools.count(1))
    # A throwaway server: durability only slows each CREATE DATABASE and commit down, and a deadlock the tests
    # make on purpose need not wait the default second to be found.
    server.admin("ALTER SYSTEM SET fsync = off", "ALTER SYSTEM SET synchronous_commit = off",
                 "ALTER SYSTEM SET full_page_writes = off", "ALTER SYSTEM SET deadlock_timeout = '50ms'",
                 "SELECT pg_reload_conf()")
    server.admin(f"CREATE ROLE {OWNER} LOGIN CREATEDB CREATEROLE",
                 *(f"CREATE ROLE {login} LOGIN" for login in OTHER_LOGINS),
                 f"CREATE DATABASE {TEMPLATE} OWNER {OWNER}")
    return server, "", handle


def migrate_template(server: PostgresServer) -> None:
    from acct_tui.store.db import close_database, open_database

    open_database(server.url(TEMPLATE))
    close_database()
