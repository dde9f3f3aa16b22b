"""Looking after the database file: an online backup that is safe while the app runs, and a health check.

Neither changes the database: the backup reads through SQLite's backup API (a consistent snapshot even
while another session writes), and the check looks through a read-only connection.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import peewee

from acct_tui.errors import DomainError, StoreUnavailable
from acct_tui.output_files import TargetExists, shown_path, target_path, write_file
from acct_tui.store.db import (
    check_file_header,
    companion_problems,
    latest_schema_version,
    permission_problems,
    read_only_connection,
    refuse_newer_schema,
    refuse_unreachable,
    refuse_unwritable,
    retried_on_conflict,
    stored_schema_version,
)
from acct_tui.store.models import ALL_MODELS, SUMMARY_MODELS, Account, database

INTEGRITY_PROBLEMS_SHOWN = 10
TEMPLATE_VERSIONS_SCHEMA = 5  # the schema that keeps template versions
SUMMARIES_SCHEMA = 8  # the schema that keeps the report summaries


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    size: int
    accounts: int


def _backup_target(target: Path, source: Path) -> Path:
    """A folder gets a dated file in it; any other name is checked when it is written (`write_file`)."""
    try:
        is_folder = target.is_dir()
    except OSError:  # an unreadable folder on the way, a name too long: `write_file` says which
        is_folder = False
    if is_folder:
        return target / f"{source.stem}-{datetime.now():%Y-%m-%d-%H%M%S}{source.suffix or '.db'}"
    return target


def backup_database(target: str | os.PathLike[str], *, force: bool = False) -> Backup:
    """Copy the open database to `target` (a file, or a folder to put a dated file in), readable by the
    user only. An existing file is replaced only with `force`, and only once the new copy is complete; a
    database (the open one above all), its companion files and anything but a regular file never are."""
    db = database.obj
    source = Path(db.database)
    target = _backup_target(target_path(target), source)

    def copy_into(_stream: BinaryIO, temporary: Path) -> int:
        try:
            copy = sqlite3.connect(temporary)
            try:
                db.connection().backup(copy)
                ((verdict,),) = copy.execute("PRAGMA quick_check(1)").fetchall()
                ((accounts,),) = copy.execute(f'SELECT COUNT(*) FROM "{Account._meta.table_name}"').fetchall()
            finally:
                copy.close()
        except sqlite3.Error as error:
            raise DomainError(
                f"The backup could not be written to {shown_path(target)} ({error}); nothing there was changed. "
                "Check the folder is yours and the disk has room."
            ) from None
        if verdict != "ok":
            raise DomainError(f"The copy failed its check ({verdict}); {shown_path(target)} was not written.")
        return int(accounts)

    try:
        accounts = write_file(target, copy_into, force=force)
    except TargetExists:
        raise DomainError(f"{shown_path(target)} already exists; choose another name, or add --force to replace it."
                          ) from None
    return Backup(target, target.stat().st_size, accounts)


@dataclass(frozen=True, slots=True)
class Health:
    """What `check_database` found: `problems` are one line each, with what to do; `facts` say what is fine."""

    path: Path
    problems: tuple[str, ...]
    facts: tuple[str, ...] = field(default=())

    @property
    def healthy(self) -> bool:
        return not self.problems


def _sqlite_checks(path: Path) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    facts: list[str] = []
    connection = read_only_connection(path)
    try:
        version = stored_schema_version(connection.execute, path)
        latest = latest_schema_version()
        if version is None:
            facts.append("no acct-tui tables yet (they are created when acct-tui first opens it)")
        else:
            refuse_newer_schema(version, path)
            facts.append(f"schema {version}" + (f" (upgraded to {latest} when the app next opens it)"
                                                if version < latest else ""))
        integrity = [row[0] for row in connection.execute(
            f"PRAGMA integrity_check({INTEGRITY_PROBLEMS_SHOWN})").fetchall()]
        if integrity == ["ok"]:
            facts.append("integrity ok")
        else:
            problems.extend(f"Damaged: {' '.join(line.split())}. Restore a backup made with `acct-tui db backup`."
                            for line in integrity)
        broken = connection.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            tables = sorted({row[0] for row in broken})
            problems.append(f"{len(broken):,} rows point at rows that no longer exist (in {', '.join(tables)}). "
                            "Restore a backup made with `acct-tui db backup`.")
        else:
            facts.append("references ok")
        if version is not None and version >= TEMPLATE_VERSIONS_SCHEMA:
            # A run is read with the template version it follows: without that version it cannot be shown.
            ((orphans,),) = connection.execute(
                "SELECT COUNT(*) FROM run WHERE NOT EXISTS (SELECT 1 FROM template_version AS kept "
                "WHERE kept.name = run.template_name AND kept.version = run.template_version)"
            ).fetchall()
            if orphans:
                runs = "1 run follows" if orphans == 1 else f"{orphans:,} runs follow"
                problems.append(f"{runs} a template version this database does not hold. "
                                "Restore a backup made with `acct-tui db backup`.")
        if version is not None and version >= SUMMARIES_SCHEMA and not problems:
            problems.extend(_summary_problems(path))
        if version is not None:
            ((accounts,),) = connection.execute(f'SELECT COUNT(*) FROM "{Account._meta.table_name}"').fetchall()
            facts.append(f"{accounts:,} accounts")
    finally:
        connection.close()
    return problems, facts


class _ReadOnlyDatabase(peewee.SqliteDatabase):
    """Peewee over `read_only_connection`, which leaves no file beside the database."""

    def _connect(self) -> sqlite3.Connection:
        connection = read_only_connection(Path(self.database))
        connection.isolation_level = None  # Peewee manages transactions itself
        return connection


def _summary_problems(path: Path) -> list[str]:
    """The report summaries compared with a recomputation from the records, read through a read-only
    connection (a whole pass over the portfolio: about 4 s of work per 10,000 accounts)."""
    from acct_tui.store import summaries

    source = _ReadOnlyDatabase(str(path))
    try:
        with source.bind_ctx(ALL_MODELS + SUMMARY_MODELS):
            found = summaries.differences()
    finally:
        source.close()
    return [f"{difference[0].upper()}{difference[1:]}: run `acct-tui db check --repair` to rebuild them."
            for difference in found]


@retried_on_conflict
def repair_summaries() -> None:
    """Rebuild the report summaries from the records (`acct-tui db check --repair`), on the open database."""
    from acct_tui.store import summaries
    from acct_tui.store.db import write_transaction

    with write_transaction():
        summaries.rebuild()


def check_database(path: str | os.PathLike[str]) -> Health:
    """Integrity, references, schema version and permissions of the database at `path`, without changing it
    (and without creating it when it does not exist)."""
    path = Path(path).expanduser()
    try:
        refuse_unreachable(path)
    except StoreUnavailable as error:
        return Health(path, (str(error),))
    if not path.exists():
        return Health(path, (f"There is no database at {path} yet; acct-tui creates it when it first starts.",))
    if path.is_dir():
        return Health(path, (f"{path} is a folder, not a database file.",))
    problems = [*permission_problems(path), *companion_problems(path)]
    facts = [f"file mode {stat.S_IMODE(path.stat().st_mode):04o}, folder mode "
             f"{stat.S_IMODE(path.parent.stat().st_mode):04o}"]
    try:
        refuse_unwritable(path)
        writable = True
    except StoreUnavailable as error:
        problems.append(str(error))
        writable = False
    try:
        if check_file_header(path):
            found_problems, found_facts = _sqlite_checks(path)
            problems.extend(found_problems)
            facts.extend(found_facts)
        else:
            facts.append("empty file (a database not written yet)")
    except StoreUnavailable as error:
        problems.append(str(error))
    except (OSError, sqlite3.Error) as error:
        if writable:  # else SQLite could not make its -shm file: the line above already says how to fix that
            problems.append(f"{path} cannot be read as a database ({error}). "
                            "Restore a backup made with `acct-tui db backup`.")
    return Health(path, tuple(problems), tuple(facts))
