"""Opening the per-user database: where it lives, its permissions, pragmas, schema version and migrations.

Nothing here runs at import time. `open_database()` is called once at start (CLI or app) and initialises
the `DatabaseProxy` the models use; Peewee then gives every thread its own connection with the same pragmas.
"""

from __future__ import annotations

import functools
import getpass
import os
import random
import sqlite3
import stat
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Hashable, Iterator, ParamSpec, TypeVar

import peewee
from platformdirs import user_data_path
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as apply_schema_changes

from acct_tui.errors import DomainError, StoreUnavailable
from acct_tui.output_files import DATABASE_COMPANIONS, SQLITE_HEADER, shown_path
from acct_tui.store.backend import (
    WriteConflict,
    backend_for,
    connect_postgres,
    describe_url,
    explain_postgres,
    is_database_url,
)
from acct_tui.store.models import ALL_MODELS, SUMMARY_MODELS, SchemaVersion, TimestampField, database, utcnow
from acct_tui.sync.schema import add_change_log
from acct_tui.template import DUE_KEY, packaged_template, packaged_template_text

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
# after the models change again (a later version alters these tables in its own migration). The column types
# in braces are each backend's own spelling of what the models use.
_SCHEMA_2_SQL = (
    'CREATE TABLE IF NOT EXISTS "kpi_entry" ("id" {uuid} NOT NULL PRIMARY KEY, "account_id" {uuid} NOT NULL, '
    '"metric" VARCHAR(20) NOT NULL, "value" DECIMAL(17, 2) NOT NULL, "measured_on" DATE NOT NULL, '
    '"step" {small_integer}, "version" INTEGER NOT NULL, "created_at" {timestamp} NOT NULL, '
    '"created_by" VARCHAR(255) NOT NULL, "updated_at" {timestamp} NOT NULL, "updated_by" VARCHAR(255) NOT NULL, '
    'FOREIGN KEY ("account_id") REFERENCES "account" ("id") ON DELETE CASCADE)',
    'CREATE UNIQUE INDEX IF NOT EXISTS "kpi_entry_account_id_metric_measured_on" '
    'ON "kpi_entry" ("account_id", "metric", "measured_on")',
    'CREATE INDEX IF NOT EXISTS "kpi_entry_account_id_metric_measured_on_value" '
    'ON "kpi_entry" ("account_id", "metric", "measured_on", "value")',
    'CREATE TABLE IF NOT EXISTS "objective" ("id" {uuid} NOT NULL PRIMARY KEY, "run_id" {uuid} NOT NULL, '
    '"position" {small_integer} NOT NULL, "title" VARCHAR(200) NOT NULL, "metric" VARCHAR(20), '
    '"target" VARCHAR(200) NOT NULL, "target_value" DECIMAL(17, 2), "due_on" DATE, "result" TEXT NOT NULL, '
    '"achieved" {boolean}, "version" INTEGER NOT NULL, "created_at" {timestamp} NOT NULL, '
    '"created_by" VARCHAR(255) NOT NULL, "updated_at" {timestamp} NOT NULL, "updated_by" VARCHAR(255) NOT NULL, '
    'FOREIGN KEY ("run_id") REFERENCES "run" ("id") ON DELETE CASCADE)',
    'CREATE INDEX IF NOT EXISTS "objective_run_id_position" ON "objective" ("run_id", "position")',
)


def _add_kpis_and_objectives(db: peewee.Database) -> None:
    column_types = backend_for(db).column_types
    for statement in _SCHEMA_2_SQL:
        db.execute_sql(statement.format(**column_types))


def _add_step_due_dates(db: peewee.Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    apply_schema_changes(
        migrator.add_column("step_state", "due_on", peewee.DateField(null=True)),
        migrator.add_index("step_state", ("status", "due_on", "run_id"), False),
        # Overdue tasks no longer read field values by (key, value); portfolio answers read them by step.
        migrator.drop_index("field_value", "field_value_key_value"),
        migrator.add_index("field_value", ("key", "step", "value", "run_id"), False),
    )
    backend = backend_for(db)
    db.execute_sql(
        f"UPDATE step_state SET due_on = (SELECT {backend.as_date('value')} FROM field_value "
        "WHERE field_value.run_id = step_state.run_id AND field_value.step = step_state.number "
        f"AND field_value.key = {backend.param} AND field_value.value != '')",
        (DUE_KEY,),
    )


def _add_decision_turnarounds(db: peewee.Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    apply_schema_changes(migrator.add_column("approval_decision", "turnaround_seconds", peewee.IntegerField(null=True)))
    seconds = backend_for(db).seconds_between("decided_at", "submitted_at")
    db.execute_sql(f"UPDATE approval_decision SET turnaround_seconds = {seconds} WHERE submitted_at IS NOT NULL")


class _TemplateVersion5(peewee.Model):
    """The template-version table as schema 5 created it (frozen here: the model may change later)."""

    id = peewee.UUIDField(primary_key=True)
    name = peewee.CharField(max_length=60)
    version = peewee.IntegerField()
    text = peewee.TextField()
    installed_at = peewee.DateTimeField()
    installed_by = peewee.CharField()

    class Meta:
        table_name = "template_version"


_TemplateVersion5.add_index(peewee.ModelIndex(
    _TemplateVersion5, (_TemplateVersion5.name, _TemplateVersion5.version), unique=True,
    name="template_version_name_version",
))


def install_packaged_template(db: peewee.Database) -> None:
    """The packaged template is version 1 of its name in every database (so its runs can always be read)."""
    template = packaged_template()
    with _TemplateVersion5.bind_ctx(db):
        if not _TemplateVersion5.select().where(
            (_TemplateVersion5.name == template.key) & (_TemplateVersion5.version == 1)
        ).exists():
            _TemplateVersion5.insert(id=uuid.uuid4(), name=template.key, version=1, text=packaged_template_text(),
                                     installed_at=utcnow(), installed_by=current_user()).execute()


# Tables whose rows name a step by number, and that column: schema 5 gives each row its step's key.
_STEP_COLUMNS = (
    ("step_state", "number"), ("field_value", "step"), ("approval_decision", "step"), ("kpi_entry", "step"),
)


def _add_template_versions(db: peewee.Database) -> None:
    """Steps known by key, runs pinned to a template version. Every run so far followed the packaged template
    (version 1), so each step number becomes that version's key for it; no answer changes."""
    with _TemplateVersion5.bind_ctx(db):
        db.create_tables([_TemplateVersion5])
    install_packaged_template(db)
    db.execute_sql('ALTER TABLE "run" ADD COLUMN "template_version" INTEGER NOT NULL DEFAULT 1')
    migrator = SchemaMigrator.from_database(db)
    apply_schema_changes(*(
        migrator.add_column(table, "step_key", peewee.CharField(max_length=60, null=True)) for table, _ in _STEP_COLUMNS
    ))
    template = packaged_template()
    keys = [(step.number, step.key) for step in template.steps]
    for table_name, number_column in _STEP_COLUMNS:
        table = peewee.Table(table_name).bind(db)
        table.update({table.c.step_key: peewee.Case(getattr(table.c, number_column), keys)}).execute()
    run = peewee.Table("run").bind(db)
    run.update({run.c.template_name: template.key, run.c.template_version: 1}).execute()
    apply_schema_changes(
        migrator.add_index("step_state", ("run_id", "step_key"), True),
        migrator.add_index("field_value", ("run_id", "step_key", "key"), True),
        migrator.drop_index("field_value", "field_value_key_step_value_run_id"),
        migrator.add_index("field_value", ("key", "step_key", "value", "run_id"), False),
    )


def _add_saved_views_and_undo_marks(db: peewee.Database) -> None:
    """The saved_view and undo_mark tables as version 6 created them, spelled out here rather than taken from
    the models (which may change in a later version), and created through Peewee so they read the same on
    PostgreSQL. The classes are named as the models: Peewee names the indexes after them."""
    class SavedView(peewee.Model):
        id = peewee.UUIDField(primary_key=True)
        user_name = peewee.CharField(max_length=255)
        name = peewee.CharField(max_length=60)
        key = peewee.CharField(max_length=10)
        filter_text = peewee.TextField()
        sort_column = peewee.CharField(max_length=20)
        sort_descending = peewee.BooleanField()
        show_archived = peewee.BooleanField()
        columns = peewee.TextField()
        created_at = TimestampField()
        updated_at = TimestampField()

        class Meta:
            database = db
            legacy_table_names = False
            indexes = ((("user_name", "name"), True), (("user_name", "key"), True))

    class UndoMark(peewee.Model):
        id = peewee.UUIDField(primary_key=True)
        event = peewee.UUIDField(unique=True)
        change = peewee.UUIDField(index=True)
        kind = peewee.CharField(max_length=4)
        user_name = peewee.CharField(max_length=255)
        at = TimestampField()

        class Meta:
            database = db
            legacy_table_names = False

    db.create_tables([SavedView, UndoMark])


def _log_values_not_text(db: peewee.Database) -> None:
    from acct_tui.store.audit_values import log_values_not_text  # read templates: imported only when migrating

    log_values_not_text(db)


def _add_summaries(db: peewee.Database) -> None:
    """The report summaries as version 8 created them (spelled out here: the models may change later), built
    from the data so far."""
    from acct_tui.store import summaries

    class SummaryPart(peewee.Model):
        account = peewee.UUIDField(index=True)
        topic = peewee.CharField(max_length=40)
        key = peewee.TextField()
        detail = peewee.TextField()
        due_on = peewee.DateField(null=True)
        count = peewee.IntegerField()
        total = peewee.TextField()
        low = peewee.BigIntegerField(null=True)
        high = peewee.BigIntegerField(null=True)

        class Meta:
            database = db
            table_name = "summary_part"
            indexes = ((("topic", "due_on", "key", "account", "count"), False), (("topic", "key", "low"), False),
                       (("topic", "key", "high"), False), (("topic", "account", "key", "count", "low"), False))

    class SummaryTotal(peewee.Model):
        topic = peewee.CharField(max_length=40)
        key = peewee.TextField()
        detail = peewee.TextField()
        count = peewee.IntegerField()
        total = peewee.TextField()

        class Meta:
            database = db
            table_name = "summary_total"
            indexes = ((("topic", "key", "detail"), True),)

    db.create_tables([SummaryPart, SummaryTotal])
    apply_schema_changes(SchemaMigrator.from_database(db).add_index("step_state", ("status", "submitted_at"), False))
    summaries.rebuild()


MIGRATIONS: list[Migration] = [
    (2, "KPI entries and objectives", _add_kpis_and_objectives),
    (3, "due dates on step states for overdue tasks; field values indexed by step", _add_step_due_dates),
    (4, "turnaround of each approval decision", _add_decision_turnarounds),
    (5, "template versions; runs pinned to one; steps known by key", _add_template_versions),
    (6, "saved views of the account list; undo marks", _add_saved_views_and_undo_marks),
    (7, "sync: replica id, change log of values, tips of each key; baseline of the data so far", add_change_log),
    (8, "summaries of the portfolio kept by every change, for the report", _add_summaries),
    (9, "audit events of form values log the values, not their display text", _log_values_not_text),
]
FIRST_SCHEMA = (1, "accounts, runs, steps, field values, decisions, audit events")


def latest_schema_version() -> int:
    return MIGRATIONS[-1][0] if MIGRATIONS else FIRST_SCHEMA[0]


def default_database_path() -> Path:
    return user_data_path(APP_NAME, appauthor=False) / "acct.db"


def resolve_database_path(cli_path: str | os.PathLike[str] | None = None) -> Path | str:
    """`--db PATH`, else `$ACCT_TUI_DB`, else the per-user data directory. A `postgresql://` URL (a team
    database) is returned as it is."""
    chosen = cli_path or os.environ.get(DB_ENV)
    if is_database_url(chosen):
        return str(chosen)
    try:
        return Path(chosen).expanduser() if chosen else default_database_path()
    except RuntimeError:  # `~someone/acct.db` for a user this host does not know
        raise StoreUnavailable(f"Cannot find the home folder in {shown_path(chosen)}; give the database's full path.",
                               exit_code=EXIT_UNUSABLE) from None


def refuse_unreachable(path: Path) -> None:
    """Refuse in one line a database path that cannot even be looked at: a folder on the way that is not
    yours to open, or a name longer than the file system allows (Python raises there instead of saying
    the file is missing)."""
    try:
        path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return  # a new database, or a file used as a folder: opening it says which
    except PermissionError as error:
        raise StoreUnavailable(
            f"Cannot reach the database {shown_path(path)}: {error.strerror}; a folder on the way is not open to "
            "you. Choose a database of your own with --db.", exit_code=EXIT_NOT_WRITABLE) from None
    except OSError as error:
        raise StoreUnavailable(f"The database path {shown_path(path)} cannot be used: {error.strerror or error}. "
                               "Choose another file with --db.", exit_code=EXIT_UNUSABLE) from None


def describe_database(target: Path | str) -> str:
    """How messages name the database: the file's path, or the URL with its password masked."""
    return describe_url(target) if is_database_url(target) else str(target)


def current_user() -> str:
    """Who is acting: on a team database the PostgreSQL session user (a setting cannot change it); on a
    file the OS login (overridable with $ACCT_TUI_USER for shared service accounts and tests)."""
    session_user = backend_for(database.obj).session_user(database.obj)
    if session_user is not None:
        return session_user
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
        if target.is_dir() and mode & stat.S_IWOTH:
            problems.append(
                f"The database folder {target} can be changed by every user (mode {mode:04o}): another user can "
                f"put files beside the database. Fix: move it to a folder of your own (mkdir -m 700 ~/acct-data && "
                f"mv '{path}' ~/acct-data/) and open it with --db ~/acct-data/{path.name}"
            )
            continue
        if mode & 0o077:
            problems.append(
                f"The database {what} {target} can be read by other users (mode {mode:04o}). "
                f"Fix: chmod {wanted:o} '{target}'"
            )
    return problems


def companion_problems(path: Path) -> list[str]:
    """Messages for files SQLite keeps beside the database (`-wal`, `-shm`, `-journal`) that would hand its
    data to someone else: files of another user (planted in a shared folder before acct-tui created
    them), or files others can read in a folder others can enter. Each says the fix to run."""
    try:
        folder_open_to_others = bool(stat.S_IMODE(path.parent.stat().st_mode) & 0o011)
    except OSError:
        return []
    problems = []
    for companion in (path.with_name(path.name + suffix) for suffix in DATABASE_COMPANIONS):
        try:
            info = companion.lstat()
        except OSError:
            continue
        mode = stat.S_IMODE(info.st_mode)
        if info.st_uid != os.geteuid():
            problems.append(
                f"{companion} belongs to another user (uid {info.st_uid}), who could read or change what acct-tui "
                f"writes there. Fix: move the database to a folder of your own (mkdir -m 700 ~/acct-data && "
                f"mv '{path}' ~/acct-data/) and open it with --db ~/acct-data/{path.name}"
            )
        elif mode & 0o077 and folder_open_to_others:
            problems.append(f"{companion} can be read by other users (mode {mode:04o}). Fix: chmod 600 '{companion}'")
    return problems


def refuse_unsafe_companions(path: Path) -> None:
    """Refuse to open a database whose `-wal`/`-shm`/`-journal` would hand its data to someone else."""
    problems = companion_problems(path)
    if problems:
        raise StoreUnavailable(f"Nothing was written: {problems[0]}", exit_code=EXIT_UNSAFE)


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
EXIT_UNSAFE = 13  # files beside the database belong to another user, or others can read them

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
    if not header.startswith(SQLITE_HEADER):
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


def _schema_version_in(db: peewee.Database) -> int | None:
    """`stored_schema_version` for an open Peewee database of either backend (Peewee lists the tables)."""
    tables = db.get_tables()
    if SchemaVersion._meta.table_name not in tables:
        if tables:
            raise StoreUnavailable(
                f"{describe_database(db.database)} holds tables of another program, not acct-tui's. Nothing was "
                "changed; choose another database with --db.",
                exit_code=EXIT_DAMAGED,
            )
        return None
    return SchemaVersion.select(peewee.fn.MAX(SchemaVersion.version)).scalar()


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
    companions = (path.with_name(path.name + suffix) for suffix in DATABASE_COMPANIONS)
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
        version = _schema_version_in(db)
        if version is None:
            db.create_tables(ALL_MODELS + SUMMARY_MODELS)
            install_packaged_template(db)
            add_change_log(db)
            SchemaVersion.create(version=latest, description=FIRST_SCHEMA[1] if latest == 1 else "created at latest")
            return latest
        refuse_newer_schema(version, db.database)
        for target, description, step in MIGRATIONS:
            if target > version:
                step(db)
                SchemaVersion.create(version=target, description=description)
    return latest


# Told (schema version found, version it is brought to) before an existing database is upgraded: on a large
# portfolio that takes a while (a minute for 10,000 accounts from schema 4), which the user should not spend
# in front of a blank terminal.
UpgradeNotice = Callable[[int, int], None]


def migrate_if_behind(db: peewee.Database, on_upgrade: UpgradeNotice | None = None) -> bool:
    """Migrate only a schema older than this version (True when it did): reading the version takes no lock, so
    a database at the latest schema opens (for `accounts list`, a report or the app) while another process
    holds the write lock."""
    version = _schema_version_in(db)
    refuse_newer_schema(version, describe_database(db.database))
    if version == latest_schema_version():
        return False
    if version is not None and on_upgrade is not None:
        on_upgrade(version, latest_schema_version())
    migrate(db)
    return True


def open_database(path: str | os.PathLike[str], on_upgrade: UpgradeNotice | None = None) -> peewee.Database:
    """Open (creating if needed) the database at `path`, apply migrations, and bind the models to it.
    A `postgresql://` URL opens a team database instead (see `open_team_database`).

    `on_upgrade` is told before an older schema is upgraded. Every failure becomes a `StoreUnavailable` that
    says what happened and what to do. An existing file is
    first looked at through a read-only connection, so one that is damaged, belongs to another program,
    comes from a newer version or cannot be written is refused before a single byte of it changes.
    """
    if is_database_url(path):
        return open_team_database(str(path), on_upgrade)
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
        migrate_if_behind(db, on_upgrade)
    except StoreUnavailable:
        db.close()
        raise
    except (peewee.DatabaseError, sqlite3.DatabaseError, OSError) as error:
        db.close()
        raise _explain(error, path) from None
    return db


def open_team_database(url: str, on_upgrade: UpgradeNotice | None = None) -> peewee.Database:
    """Open the team database at `url` and bind the models to it. The schema is created (or brought up to
    date) when the login may do so; `acct-tui team init` adds the roles and the rules the database enforces."""
    db = connect_postgres(url)
    database.initialize(db)
    try:
        db.connect(reuse_if_open=True)
        if migrate_if_behind(db, on_upgrade):
            with write_transaction():
                backend_for(db).install(db)
    except DomainError:
        close_database()
        raise
    except peewee.PeeweeException as error:
        close_database()
        raise explain_postgres(error, describe_database(url)) from None
    return db


def close_database() -> None:
    db = database.obj
    if db is not None and not db.is_closed():
        db.close()
    backend_for(db).close()


def data_version() -> int:
    """A change counter for the calling thread: it moves when another connection commits (another session,
    or another thread of this one), never for this thread's own writes. Compare only values taken on the same
    thread. SQLite's `PRAGMA data_version`; on PostgreSQL, notifications of other connections' commits."""
    return backend_for(database.obj).data_version(database.obj)


def change_watch_seconds() -> float:
    """How often the app looks at `data_version()` for other sessions' commits."""
    return backend_for(database.obj).watch_seconds


@contextmanager
def write_transaction() -> Iterator[None]:
    """One write transaction. It takes the write lock first (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory
    lock), so a transaction that reads and then writes waits for another session instead of failing with
    "database is locked" or deciding on data another session is changing.
    Database failures come out as `StoreUnavailable` with a message for the user.
    """
    db = database.obj
    backend = backend_for(db)
    outermost = getattr(_commit_work, "pending", None) is None
    if outermost:
        _commit_work.pending = {}
    try:
        with backend.begin_write(db):
            yield
            if outermost:
                _do_commit_work(_commit_work.pending)
    except (peewee.IntegrityError, sqlite3.IntegrityError):
        raise  # a constraint the calling service did not foresee: a bug to see, not a state of the database
    except (peewee.DatabaseError, sqlite3.DatabaseError, peewee.InterfaceError) as error:
        if backend.name == "postgresql":
            raise explain_postgres(error, describe_database(db.database)) from None
        raise _explain(_cause(error), db.database) from None
    finally:
        if outermost:
            _commit_work.pending = None


# Work asked for during this thread's outermost write transaction, done once at its end (see `before_commit`).
_commit_work = threading.local()


def before_commit(work: Callable[[set[Hashable]], None], *items: Hashable) -> None:
    """Have `work` done on `items` at the end of this thread's outermost write transaction, inside it (it
    commits or rolls back with the rest), once for all the items asked for during the transaction: work that
    follows every change (the report summaries of the accounts changed) is done once per account, not once
    per change, when one transaction makes many."""
    pending = getattr(_commit_work, "pending", None)
    if pending is None:
        raise RuntimeError("before_commit() is for work inside a write_transaction()")
    pending.setdefault(work, set()).update(items)


def _do_commit_work(pending: dict[Callable[[set[Hashable]], None], set[Hashable]]) -> None:
    while pending:  # work done here may ask for more
        work, items = pending.popitem()
        work(items)


# A service whose write transaction PostgreSQL aborted (serialization failure, deadlock) runs again from its
# start, at most this many times in all, after a short random pause that grows with each attempt (two
# sessions that collided do not collide again in step). Past that the conflict reaches the caller.
CONFLICT_ATTEMPTS = 5
CONFLICT_PAUSE_SECONDS = 0.02

Params = ParamSpec("Params")
Result = TypeVar("Result")


def retried_on_conflict(service: Callable[Params, Result]) -> Callable[Params, Result]:
    """Wrap a service that makes one write transaction: when PostgreSQL aborts it for colliding with another
    session, the whole service runs again (its reads, its checks, its writes), so nothing half-written and
    nothing decided on stale data is kept, and the user never hears of it. Inside a transaction already open
    (one service calling another) the conflict goes up to the outermost service, which runs again whole."""
    @functools.wraps(service)
    def run_until_it_commits(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        for attempt in range(1, CONFLICT_ATTEMPTS):
            try:
                return service(*args, **kwargs)
            except WriteConflict:
                if database.obj.in_transaction():
                    raise
            time.sleep(random.uniform(0.5, 1.5) * CONFLICT_PAUSE_SECONDS * attempt)
        return service(*args, **kwargs)

    return run_until_it_commits


def _cause(error: BaseException) -> BaseException:
    """After some failures (a full disk, an I/O error) SQLite rolls the transaction back itself; Peewee's own
    rollback then fails with "no transaction is active" and hides the failure the user must hear about."""
    while "no transaction is active" in str(error) and isinstance(
        error.__context__, (peewee.DatabaseError, sqlite3.DatabaseError)
    ):
        error = error.__context__
    return error
