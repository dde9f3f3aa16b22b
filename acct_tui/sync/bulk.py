"""Many rows into one table with one prepared statement (DB-API `executemany`): building the SQL of a Peewee
`insert_many` costs more than SQLite's own work when a first sync writes hundreds of thousands of rows.
The statement is plain SQL both backends read (`ON CONFLICT` included); values go through each field's
`db_value`, as Peewee would convert them."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import peewee

CONFLICT_IGNORE = "ON CONFLICT DO NOTHING"


def on_conflict_update(target: Sequence[peewee.Field], updated: Sequence[peewee.Field]) -> str:
    columns = ", ".join(f'"{field.column_name}"' for field in target)
    sets = ", ".join(f'"{field.column_name}" = excluded."{field.column_name}"' for field in updated)
    return f"ON CONFLICT ({columns}) DO UPDATE SET {sets}"


def bulk_insert(model: type[peewee.Model], fields: Sequence[peewee.Field], rows: Iterable[Sequence[Any]],
                conflict: str = "") -> None:
    db = model._meta.database
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    marks = ", ".join([db.param] * len(fields))
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks}) {conflict}'
    converters = [field.db_value for field in fields]
    values = [tuple(convert(value) for convert, value in zip(converters, row)) for row in rows]
    if values:
        db.cursor().executemany(sql, values)


def bulk_update(model: type[peewee.Model], updated: Sequence[peewee.Field], where: Sequence[peewee.Field],
                rows: Iterable[Sequence[Any]]) -> None:
    """One UPDATE per row, by one prepared statement: each row holds the new values, then the where values."""
    db = model._meta.database
    sets = ", ".join(f'"{field.column_name}" = {db.param}' for field in updated)
    conditions = " AND ".join(f'"{field.column_name}" = {db.param}' for field in where)
    converters = [field.db_value for field in (*updated, *where)]
    values = [tuple(convert(value) for convert, value in zip(converters, row)) for row in rows]
    if values:
        db.cursor().executemany(f'UPDATE "{model._meta.table_name}" SET {sets} WHERE {conditions}', values)
