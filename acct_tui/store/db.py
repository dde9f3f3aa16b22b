"""Opening the per-user database: where it lives, its permissions, pragmas, schema version and migrations.

Nothing here runs at import time. `open_database()` is called once at start (CLI or app) and initialises
the `DatabaseProxy` the models use; Peewee then gives every thread its own connection with the same pragmas.
"""

from __future__ import annotations

import getpass
import os
import sqlite3
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import peewee
from platformdirs import user_data_path

from acct_tui.errors import StoreUnavailable
from acct_tui.store.models import ALL_MODELS, SchemaVersion, database

APP_NAME = "acct-tui"
DB_ENV = "ACCT_TUI_DB"
USER_ENV = "ACCT_TUI_USER"
BUSY_TIMEOUT_SECONDS = 10

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "full",  # a step shown as saved survives a power cut, not only a crash
    "busy_timeout": BUSY_TIMEOUT_SECONDS * 1000,
}

# Ordered migrations: (version reached, description, function). A new database is created at the latest
# schema directly; an older one runs every migration after its version, all in one transaction.
Migration = tuple[int, str, Callable[[peewee.Database], None]]
MIGRATIONS: list[Migration] = []
FIRST_SCHEMA = (1, "accounts, runs, steps, field values, decisions, audit events")


def latest_schema_version() -> int:
    return MIGRATIONS[-1][0] if MIGRATIONS else FIRST_SCHEMA[0]


def default_database_path() -> Path:
    return user_data_path(APP_NAME, appauthor=False) / "acct.db"


def resolve_database_path(cli_path: str | os.PathLike[str] | None = None) -> Path:
    """`--db PATH`, else `$ACCT_TUI_DB`, else the per-user data directory."""
    chosen = cli_path or os.environ.get(DB_ENV)
    return Path(chosen).expanduser() if chosen else default_database_path()


def current_user() -> str:
    """Who is acting: the OS login (overridable with $ACCT_TUI_USER for shared service accounts and tests)."""
    override = os.environ.get(USER_ENV, "").strip()
    if override:
        return override
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"


def permission_problems(path: Path) -> list[str]:
    """Messages for a database (or its folder) that other users of the host could read, with the fix."""
    problems = []
    for target, wanted, what in ((path.parent, 0o700, "folder"), (path, 0o600, "file")):
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            problems.append(
                f"The database {what} {target} can be read by other users (mode {mode:04o}). "
                f"Fix: chmod {wanted:o} '{target}'"
            )
    return problems


def _create_private_file(path: Path) -> None:
    """Create the folder (0700) and an empty file (0600) before SQLite does, whatever the umask."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        path.parent.chmod(0o700)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)
    path.chmod(0o600)


def _explain(error: Exception, path: Path | str) -> StoreUnavailable:
    text = str(error).lower()
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return StoreUnavailable(
            f"{path} is damaged or is not an acct-tui database ({error}). "
            "Nothing was changed; restore a backup (acct-tui db backup) or choose another file with --db.",
            exit_code=4,
        )
    if "readonly" in text or "read-only" in text or "permission denied" in text or "unable to open" in text:
        return StoreUnavailable(
            f"Cannot write the database {path} ({error}). "
            "Check that you own the file and its folder and that the disk is not mounted read-only.",
            exit_code=5,
        )
    if "disk is full" in text or "disk i/o error" in text:
        return StoreUnavailable(
            f"The disk holding {path} is full or failing ({error}). Your last change was not saved; "
            "free some space and try again.",
            exit_code=6,
        )
    if "locked" in text or "busy" in text:
        return StoreUnavailable(
            f"The database {path} stayed busy for more than {BUSY_TIMEOUT_SECONDS} s "
            "(another acct-tui is writing a lot). Your change was not saved; try again.",
            exit_code=7,
        )
    return StoreUnavailable(f"The database {path} cannot be used: {error}", exit_code=3)


def _read_schema_version(db: peewee.Database) -> int | None:
    if not db.table_exists(SchemaVersion._meta.table_name):
        if db.get_tables():
            raise StoreUnavailable(
                f"{db.database} is an SQLite database of another program, not acct-tui's. "
                "Nothing was changed; choose another file with --db.",
                exit_code=4,
            )
        return None
    version = SchemaVersion.select(peewee.fn.MAX(SchemaVersion.version)).scalar()
    return int(version) if version is not None else None


def migrate(db: peewee.Database) -> int:
    """Bring the schema to the latest version in one transaction; returns the version reached."""
    latest = latest_schema_version()
    with write_transaction():
        version = _read_schema_version(db)
        if version is None:
            db.create_tables(ALL_MODELS)
            SchemaVersion.create(version=latest, description=FIRST_SCHEMA[1] if latest == 1 else "created at latest")
            return latest
        if version > latest:
            raise StoreUnavailable(
                f"{db.database} was written by a newer acct-tui (schema {version}; this one knows up to "
                f"{latest}). Nothing was changed; upgrade acct-tui to open it.",
                exit_code=8,
            )
        for target, description, step in MIGRATIONS:
            if target > version:
                step(db)
                SchemaVersion.create(version=target, description=description)
    return latest


def open_database(path: str | os.PathLike[str]) -> peewee.SqliteDatabase:
    """Open (creating if needed) the database at `path`, apply migrations, and bind the models to it.

    Every failure becomes a `StoreUnavailable` that says what happened and what to do; the user's file
    is never changed when it is not an acct-tui database or comes from a newer version.
    """
    path = Path(path).expanduser()
    try:
        _create_private_file(path)
    except OSError as error:
        raise _explain(error, path) from None
    db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS, timeout=BUSY_TIMEOUT_SECONDS)
    database.initialize(db)
    try:
        db.connect(reuse_if_open=True)
        db.execute_sql("PRAGMA quick_check(1)")
        migrate(db)
    except StoreUnavailable:
        db.close()
        raise
    except (peewee.DatabaseError, sqlite3.DatabaseError) as error:
        db.close()
        raise _explain(error, path) from None
    return db


def close_database() -> None:
    db = database.obj
    if db is not None and not db.is_closed():
        db.close()


@contextmanager
def write_transaction() -> Iterator[None]:
    """One write transaction. On SQLite it takes the write lock first (BEGIN IMMEDIATE), so a transaction
    that reads and then writes waits for another process instead of failing with "database is locked".
    Database failures come out as `StoreUnavailable` with a message for the user.
    """
    db = database.obj
    begin = db.atomic("IMMEDIATE") if isinstance(db, peewee.SqliteDatabase) else db.atomic()
    try:
        with begin:
            yield
    except (peewee.OperationalError, sqlite3.OperationalError) as error:
        raise _explain(error, db.database) from None
