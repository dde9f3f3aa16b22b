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
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as apply_schema_changes

from acct_tui.errors import StoreUnavailable
from acct_tui.store.models import ALL_MODELS, SchemaVersion, database
from acct_tui.template import DUE_KEY

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

# Version 2 as it was released, spelled out in SQL: a migration must keep creating exactly this schema even
# after the models change again (a later version alters these tables in its own migration).
_SCHEMA_2_SQL = (
    'CREATE TABLE IF NOT EXISTS "kpi_entry" ("id" TEXT NOT NULL PRIMARY KEY, "account_id" TEXT NOT NULL, '
    '"metric" VARCHAR(20) NOT NULL, "value" DECIMAL(17, 2) NOT NULL, "measured_on" DATE NOT NULL, '
    '"step" INTEGER, "version" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, '
    '"created_by" VARCHAR(255) NOT NULL, "updated_at" DATETIME NOT NULL, "updated_by" VARCHAR(255) NOT NULL, '
    'FOREIGN KEY ("account_id") REFERENCES "account" ("id") ON DELETE CASCADE)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "kpi_entry_account_id_metric_measured_on" '
    'ON "kpi_entry" ("account_id", "metric", "measured_on")',
    'CREATE INDEX IF NOT EXISTS "kpi_entry_account_id_metric_measured_on_value" '
    'ON "kpi_entry" ("account_id", "metric", "measured_on", "value")',
    'CREATE TABLE IF NOT EXISTS "objective" ("id" TEXT NOT NULL PRIMARY KEY, "run_id" TEXT NOT NULL, '
    '"position" INTEGER NOT NULL, "title" VARCHAR(200) NOT NULL, "metric" VARCHAR(20), '
    '"target" VARCHAR(200) NOT NULL, "target_value" DECIMAL(17, 2), "due_on" DATE, "result" TEXT NOT NULL, '
    '"achieved" INTEGER, "version" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, '
    '"created_by" VARCHAR(255) NOT NULL, "updated_at" DATETIME NOT NULL, "updated_by" VARCHAR(255) NOT NULL, '
    'FOREIGN KEY ("run_id") REFERENCES "run" ("id") ON DELETE CASCADE)',
    'CREATE INDEX IF NOT EXISTS "objective_run_id_position" ON "objective" ("run_id", "position")',
)


def _add_kpis_and_objectives(db: peewee.Database) -> None:
    for statement in _SCHEMA_2_SQL:
        db.execute_sql(statement)


def _add_step_due_dates(db: peewee.Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    apply_schema_changes(
        migrator.add_column("step_state", "due_on", peewee.DateField(null=True)),
        migrator.add_index("step_state", ("status", "due_on", "run_id"), False),
        # Overdue tasks no longer read field values by (key, value); portfolio answers read them by step.
        migrator.drop_index("field_value", "field_value_key_value"),
        migrator.add_index("field_value", ("key", "step", "value", "run_id"), False),
    )
    db.execute_sql(
        "UPDATE step_state SET due_on = (SELECT value FROM field_value WHERE field_value.run_id = step_state.run_id "
        "AND field_value.step = step_state.number AND field_value.key = ? AND field_value.value != '')",
        (DUE_KEY,),
    )


def _add_decision_turnarounds(db: peewee.Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    apply_schema_changes(migrator.add_column("approval_decision", "turnaround_seconds", peewee.IntegerField(null=True)))
    # Only databases of earlier releases get here, and those are all SQLite files: julianday is fine.
    db.execute_sql(
        "UPDATE approval_decision SET turnaround_seconds = "
        "CAST(ROUND((julianday(decided_at) - julianday(submitted_at)) * 86400) AS INTEGER) "
        "WHERE submitted_at IS NOT NULL"
    )


MIGRATIONS: list[Migration] = [
    (2, "KPI entries and objectives", _add_kpis_and_objectives),
    (3, "due dates on step states for overdue tasks; field values indexed by step", _add_step_due_dates),
    (4, "turnaround of each approval decision", _add_decision_turnarounds),
]
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
    try:
        name = override or getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"
    # Bytes that are not UTF-8 reach Python as lone surrogates, which SQLite refuses: show them as U+FFFD.
    return os.fsencode(name).decode("utf-8", "replace")


def permission_problems(path: Path) -> list[str]:
    """Messages for a database (or its folder) that other users of the host could read, with the fix."""
    problems = []
    for target, wanted, what in ((path.parent, 0o700, "folder"), (path, 0o600, "file")):
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except OSError:
            continue
        if target.is_dir() and mode & stat.S_ISVTX:
            continue  # a shared sticky folder such as /tmp: others cannot touch the file, which is checked itself
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


# Exit codes of the CLI when the database cannot be used (2 is a refused or invalid request).
EXIT_UNUSABLE = 3
EXIT_DAMAGED = 4
EXIT_NOT_WRITABLE = 5
EXIT_DISK_FULL = 6
EXIT_BUSY = 7
EXIT_NEWER_SCHEMA = 8

SQLITE_MAGIC = b"SQLite format 3\x00"
# Files up to this size get SQLite's quick_check at every start (about 10 ms per 10 MB); a larger portfolio
# would wait seconds for it, so there the cheap header checks run at start and `acct-tui db check` does the rest.
QUICK_CHECK_MAX_BYTES = 64 * 1024 * 1024


def _damaged(path: Path, detail: object) -> StoreUnavailable:
    detail = " ".join(str(detail).split())  # SQLite's reports span lines; the message is one line
    return StoreUnavailable(
        f"{path} is damaged or is not an acct-tui database ({detail}). Nothing was changed; restore a "
        "backup made with `acct-tui db backup`, or choose another file with --db.",
        exit_code=EXIT_DAMAGED,
    )


def _explain(error: Exception, path: Path | str) -> StoreUnavailable:
    """A database or file-system error in words: what happened and what to do."""
    text = str(error).lower()
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return _damaged(Path(path), error)
    if "disk is full" in text or "no space left" in text or "disk i/o error" in text or "file too large" in text:
        return StoreUnavailable(
            f"The disk holding {path} is full or failing ({error}). The change was not saved and the file was "
            "left as it was; free some space and try again.",
            exit_code=EXIT_DISK_FULL,
        )
    if "readonly" in text or "read-only" in text or "permission denied" in text or "unable to open" in text:
        return StoreUnavailable(
            f"Cannot write the database {path} ({error}). Check that you own the file and its folder and "
            "that the disk is not mounted read-only.",
            exit_code=EXIT_NOT_WRITABLE,
        )
    if "locked" in text or "busy" in text:
        return StoreUnavailable(
            f"The database {path} stayed busy for more than {BUSY_TIMEOUT_SECONDS} s "
            "(another acct-tui is writing a lot). Your change was not saved; try again.",
            exit_code=EXIT_BUSY,
        )
    return StoreUnavailable(f"The database {path} cannot be used: {error}", exit_code=EXIT_UNUSABLE)


def check_file_header(path: Path) -> bool:
    """Whether `path` holds data, refusing a file that cannot be an intact SQLite database (not one, or cut
    short) by reading its 100-byte header only. An empty file is a database not written yet."""
    size = path.stat().st_size
    if size == 0:
        return False
    with path.open("rb") as file:
        header = file.read(100)
    if not header.startswith(SQLITE_MAGIC):
        raise _damaged(path, "the file is not an SQLite database")
    if len(header) < 100:
        raise _damaged(path, f"the file is cut short at {size:,} bytes")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    page_count = int.from_bytes(header[28:32], "big")
    # The page count in the header is trustworthy only when written by the same change as the counter
    # (SQLite file format, "in-header database size"). The file is never shorter than it, unless a WAL
    # still holds the newest pages (a checkpoint that stopped half-way, say on a full disk).
    count_is_current = header[24:28] == header[92:96]
    wal = path.with_name(path.name + "-wal")
    wal_holds_pages = wal.exists() and wal.stat().st_size > 0
    if count_is_current and not wal_holds_pages and size < page_count * page_size:
        raise _damaged(path, f"the file is cut short: {size:,} of {page_count * page_size:,} bytes")
    return True


def refuse_unwritable(path: Path) -> None:
    """acct-tui saves as the user types, so it needs to write the file and create `-wal`/`-shm` beside it."""
    folder = path.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            raise StoreUnavailable(
                f"The database {path} is on a read-only file system, and acct-tui saves every change as you "
                "make it. Copy it to a writable folder and open the copy with --db.",
                exit_code=EXIT_NOT_WRITABLE,
            )
    except FileNotFoundError:
        return
    for target, what, needed, fix in (
        (path, "file", os.R_OK | os.W_OK, "u+rw"),
        (folder, "folder", os.W_OK | os.X_OK, "u+rwx"),
    ):
        if not target.exists() or os.access(target, needed):
            continue
        info = target.stat()
        if info.st_uid != os.geteuid():
            remedy = (f"It belongs to another user (uid {info.st_uid}): copy the database to a folder of your own "
                      "and open the copy with --db")
        else:
            remedy = f"Fix: chmod {fix} '{target}'"
        need = "write it" if what == "file" else f"create {path.name}-wal and {path.name}-shm in it"
        raise StoreUnavailable(
            f"The database {what} {target} is read-only for you (mode {stat.S_IMODE(info.st_mode):04o}) and "
            f"acct-tui needs to {need}. {remedy}.",
            exit_code=EXIT_NOT_WRITABLE,
        )


def stored_schema_version(execute: Callable[[str], sqlite3.Cursor], path: Path | str) -> int | None:
    """The schema version recorded in a database (None: no tables yet); refuses another program's database."""
    tables = {name for (name,) in execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
    if SchemaVersion._meta.table_name not in tables:
        if tables:
            raise StoreUnavailable(
                f"{path} is an SQLite database of another program, not acct-tui's. Nothing was changed; "
                "choose another file with --db.",
                exit_code=EXIT_DAMAGED,
            )
        return None
    ((version,),) = execute(f'SELECT MAX(version) FROM "{SchemaVersion._meta.table_name}"').fetchall()
    return int(version) if version is not None else None


def refuse_newer_schema(version: int | None, path: Path | str) -> None:
    latest = latest_schema_version()
    if version is not None and version > latest:
        raise StoreUnavailable(
            f"{path} was written by a newer acct-tui (schema {version}; this one knows up to {latest}). "
            "Nothing was changed; upgrade acct-tui to open it.",
            exit_code=EXIT_NEWER_SCHEMA,
        )


def read_only_connection(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the file, for looking at a database before trusting it.

    Without a `-wal`, `-shm` or `-journal` file beside it no other connection has the database open (in WAL
    mode both stay while one does), so it is read as immutable and SQLite creates nothing next to it; a
    plain read-only connection would leave an empty `-wal` and a `-shm` behind.
    """
    companions = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))
    mode = "mode=ro" if any(companion.exists() for companion in companions) else "immutable=1"
    return sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, timeout=BUSY_TIMEOUT_SECONDS)


def _inspect_existing(path: Path) -> None:
    """Refuse, before anything is written, a file that is not an intact acct-tui database this version can use."""
    if not check_file_header(path):
        return
    connection = read_only_connection(path)
    try:
        refuse_newer_schema(stored_schema_version(connection.execute, path), path)
        if path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
            problems = [row[0] for row in connection.execute("PRAGMA quick_check(1)").fetchall()]
            if problems != ["ok"]:
                raise _damaged(path, problems[0])
    except sqlite3.DatabaseError as error:
        raise _explain(error, path) from None
    finally:
        connection.close()


def migrate(db: peewee.Database) -> int:
    """Bring the schema to the latest version in one transaction; returns the version reached."""
    latest = latest_schema_version()
    with write_transaction():
        version = stored_schema_version(db.execute_sql, db.database)
        if version is None:
            db.create_tables(ALL_MODELS)
            SchemaVersion.create(version=latest, description=FIRST_SCHEMA[1] if latest == 1 else "created at latest")
            return latest
        refuse_newer_schema(version, db.database)
        for target, description, step in MIGRATIONS:
            if target > version:
                step(db)
                SchemaVersion.create(version=target, description=description)
    return latest


def migrate_if_behind(db: peewee.Database) -> None:
    """Migrate only a schema older than this version: reading the version takes no lock, so a database at the
    latest schema opens (for `accounts list`, a report or the app) while another process holds the write lock."""
    version = stored_schema_version(db.execute_sql, db.database)
    refuse_newer_schema(version, db.database)
    if version != latest_schema_version():
        migrate(db)


def open_database(path: str | os.PathLike[str]) -> peewee.SqliteDatabase:
    """Open (creating if needed) the database at `path`, apply migrations, and bind the models to it.

    Every failure becomes a `StoreUnavailable` that says what happened and what to do. An existing file is
    first looked at through a read-only connection, so one that is damaged, belongs to another program,
    comes from a newer version or cannot be written is refused before a single byte of it changes.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise StoreUnavailable(f"{path} is a folder, not a database file; choose a file with --db.",
                               exit_code=EXIT_UNUSABLE)
    try:
        refuse_unwritable(path)
        if path.exists():
            _inspect_existing(path)
        else:
            _create_private_file(path)
    except OSError as error:
        raise _explain(error, path) from None
    db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS, timeout=BUSY_TIMEOUT_SECONDS)
    database.initialize(db)
    try:
        db.connect(reuse_if_open=True)
        migrate_if_behind(db)
    except StoreUnavailable:
        db.close()
        raise
    except (peewee.DatabaseError, sqlite3.DatabaseError, OSError) as error:
        db.close()
        raise _explain(error, path) from None
    return db


def close_database() -> None:
    db = database.obj
    if db is not None and not db.is_closed():
        db.close()


def data_version() -> int:
    """SQLite's change counter for the calling thread's connection: it moves when another connection
    commits (another process or another thread), never for this connection's own writes. Compare only
    values taken on the same thread."""
    ((version,),) = database.obj.execute_sql("PRAGMA data_version").fetchall()
    return int(version)


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
    except (peewee.IntegrityError, sqlite3.IntegrityError):
        raise  # a constraint the calling service did not foresee: a bug to see, not a state of the database
    except (peewee.DatabaseError, sqlite3.DatabaseError) as error:
        raise _explain(_cause(error), db.database) from None


def _cause(error: BaseException) -> BaseException:
    """After some failures (a full disk, an I/O error) SQLite rolls the transaction back itself; Peewee's own
    rollback then fails with "no transaction is active" and hides the failure the user must hear about."""
    while "no transaction is active" in str(error) and isinstance(
        error.__context__, (peewee.DatabaseError, sqlite3.DatabaseError)
    ):
        error = error.__context__
    return error
