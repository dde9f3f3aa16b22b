"""A first sync into an empty database: the other side's tables, change log and tips copied as they are.

Replaying a 10,000-account change log key by key (a million changes, each merged, each written with its tip)
took minutes; a database that holds nothing yet can only end up as a copy of the other side, so the rows
travel as they are stored, a few thousand per message, and are written with one prepared statement per
table. The receiver ends exactly as a replay would leave it: the same rows, the same change log (every
change, so it can pass them on to a third database and keeps the history), the same tips and clocks.

"Empty" means nothing but template versions (a database only ever opened): those it held are merged back
into the copy as ordinary changes, so nothing it had is lost.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import peewee

from acct_tui.store.models import (
    Account,
    ApprovalDecision,
    AuditEvent,
    FieldValue,
    KpiEntry,
    Objective,
    Run,
    SavedView,
    StepState,
    SummaryPart,
    SummaryTotal,
    TemplateVersion,
    database,
)
from acct_tui.sync.changelog import MergeResult, changes_after, conflict_keys, merge, tick
from acct_tui.sync.entities import plain
from acct_tui.sync.models import SyncChange, SyncTip

DATA_MODELS = (Account, Run, StepState, FieldValue, ApprovalDecision, AuditEvent, KpiEntry, Objective, SavedView)
# In an order that respects foreign keys. The report summaries travel as they are (exact on the other side, and
# rebuilding them would cost more than the copy). Undo marks stay: they are one user's undo history on one machine.
SNAPSHOT_MODELS = (TemplateVersion, *DATA_MODELS, SummaryPart, SummaryTotal, SyncChange, SyncTip)
ROWS_PER_MESSAGE = 2000
COPY_CACHE_KIB = -262144  # SQLite's cache while a copy is written: 256 MiB (a negative size counts KiB)

Send = Callable[[dict[str, Any]], None]


class SnapshotRefused(ValueError):
    """The rows that came in do not fit this database's tables (another schema on the other side)."""


def is_empty() -> bool:
    """Holds nothing a sync must merge with: no records, no changes but template versions."""
    if any(model.select().exists() for model in DATA_MODELS):
        return False
    return not SyncChange.select().where(SyncChange.kind != "template").exists()


def _columns(model: Any) -> list[str]:
    return [field.column_name for field in model._meta.sorted_fields]


def json_value(value: object) -> object:
    """A stored value as JSON carries it (SQLite hands back text and numbers already; PostgreSQL does not)."""
    converted = plain(value)
    if converted is value:
        raise TypeError(f"cannot send a {type(value).__name__} value")
    return converted


def send_snapshot(send: Send) -> tuple[int, int]:
    """Send every row of the synced tables, the change log and its tips; returns (rows sent, changes)."""
    db = database.obj
    sent = 0
    with db.atomic():  # one read transaction: every table as of the same moment
        for model in SNAPSHOT_MODELS:
            columns = _columns(model)
            sent += _send_rows(send, model._meta.table_name, columns,
                               db.execute_sql(f'SELECT {_quoted(columns)} FROM "{model._meta.table_name}"'))
        return sent, SyncChange.select().count()


def _send_rows(send: Send, table: str, columns: list[str], cursor: Any) -> int:
    sent = 0
    while rows := cursor.fetchmany(ROWS_PER_MESSAGE):
        send({"type": "rows", "table": table, "columns": columns, "rows": rows})
        sent += len(rows)
    return sent


def _quoted(columns: Iterable[str]) -> str:
    return ", ".join(f'"{column}"' for column in columns)


def _drop_secondary_indexes(db: Any) -> list[str]:
    """SQLite: drop the indexes the copy's tables have beside their primary keys, returning the statements
    that make them again. Building an index once from the full table costs less than keeping it up to date
    row by row (within the transaction either way: a failed copy leaves them as they were)."""
    if not isinstance(db, peewee.SqliteDatabase):
        return []
    made = []
    for model in SNAPSHOT_MODELS:
        for index in db.get_indexes(model._meta.table_name):
            if index.sql:
                db.execute_sql(f'DROP INDEX "{index.name}"')
                made.append(index.sql)
    return made


def load_snapshot(batches: Iterable[tuple[str, Sequence[str], list[list[Any]]]]) -> MergeResult:
    """Make this empty database a copy of the rows in `batches` (table, columns, rows), then merge back the
    template versions it held. Call inside one write transaction."""
    own = changes_after({})
    for model in reversed(SNAPSHOT_MODELS):
        model.delete().execute()
    db = database.obj
    indexes = _drop_secondary_indexes(db)
    if isinstance(db, peewee.SqliteDatabase):
        # The tables' pages stay in memory while they fill, instead of 2 MB of them (SQLite's default).
        previous_cache = db.execute_sql("PRAGMA cache_size").fetchone()[0]
        db.execute_sql(f"PRAGMA cache_size = {COPY_CACHE_KIB}")
    models = {model._meta.table_name: model for model in SNAPSHOT_MODELS}
    for table, columns, rows in batches:
        model = models.get(table)
        if model is None or not set(columns) <= set(_columns(model)):
            raise SnapshotRefused(f"table {table!r} with columns {list(columns)} is not this version's")
        marks = ", ".join([db.param] * len(columns))
        db.cursor().executemany(f'INSERT INTO "{table}" ({_quoted(columns)}) VALUES ({marks})', rows)
    for index in indexes:
        db.execute_sql(index)
    if isinstance(db, peewee.SqliteDatabase):
        db.execute_sql(f"PRAGMA cache_size = {previous_cache}")
    newest = SyncChange.select(SyncChange.hlc).order_by(SyncChange.hlc.desc()).limit(1).scalar()
    if newest is not None:
        tick(seen=newest)
    copied = SyncChange.select().count()
    merge(own)
    return MergeResult(received=copied, applied=copied, conflicts=len(conflict_keys()))
