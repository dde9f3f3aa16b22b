"""Queries whose SQL Peewee builds once per backend, for the small statements every write runs many times.

Building the SQL of a small query costs Peewee about 150-250 µs; SQLite runs it in 10-25 µs. A `Prepared`
query is built the first time it runs on each kind of database, with a `Slot` where each argument goes; after
that a call only binds its values (converted as the column they meet would convert them) and reads the rows
the way the built query would. A list argument (for `in_`) gets one statement per length.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator

import peewee

from acct_tui.store.models import database as models_database


class Slot(peewee.Node):
    """Where argument `index` of the call goes: bound, never spliced, and converted as the column it is
    compared with (or, given `converter`, as the column it is written to). A slot with a `length` stands for a
    list of that many values, as the right side of `in_`."""

    def __init__(self, index: int, converter: Callable[[Any], Any] | None = None, length: int | None = None) -> None:
        super().__init__()
        self.index = index
        self.converter = converter
        self.length = length

    def of(self, field: peewee.Field) -> Slot:
        """This slot converted as `field` converts a value (for the values of an INSERT or UPDATE)."""
        return Slot(self.index, field.db_value, self.length)

    def __sql__(self, ctx: peewee.Context) -> peewee.Context:
        converter = self.converter or ctx.state.converter
        if self.length is None:
            return ctx.value(_Bound(self.index, converter), converter=False)
        ctx.literal("(")
        for position in range(self.length):
            if position:
                ctx.literal(", ")
            ctx.value(_Bound(self.index, converter, position), converter=False)
        return ctx.literal(")")


class _Bound:
    __slots__ = ("index", "converter", "position")

    def __init__(self, index: int, converter: Callable[[Any], Any] | None, position: int | None = None) -> None:
        self.index = index
        self.converter = converter
        self.position = position

    def value(self, values: tuple[Any, ...]) -> Any:
        value = values[self.index] if self.position is None else values[self.index][self.position]
        return self.converter(value) if self.converter else value


class Prepared:
    """`build(*slots)` returns the query, written as it would be with the values (one slot per parameter of
    `build`); `rows(*values)`, `first(*values)`, `scalar(*values)` and `execute(*values)` run it."""

    def __init__(self, build: Callable[..., peewee.BaseQuery], arity: int | None = None) -> None:
        self._build = build
        self._arity = build.__code__.co_argcount if arity is None else arity
        self._built: dict[tuple, tuple[str, list[Any], peewee.BaseQuery]] = {}
        self._lock = threading.Lock()

    def _statement(self, database: peewee.Database, values: tuple[Any, ...]) -> tuple[str, list[Any], Any]:
        lengths = tuple(len(value) if isinstance(value, list) else None for value in values)
        shape = (type(database), lengths)
        built = self._built.get(shape)
        if built is None:
            if len(values) != self._arity:
                raise TypeError(f"this query takes {self._arity} values, not {len(values)}")
            with self._lock:
                query = self._build(*(Slot(index, length=length) for index, length in enumerate(lengths)))
                sql, params = database.get_sql_context().sql(query).query()
                built = self._built[shape] = (sql, params, query)
        return built

    def _run(self, values: tuple[Any, ...]) -> tuple[Any, Any]:
        database = models_database.obj
        sql, params, query = self._statement(database, values)
        bound = [param.value(values) if isinstance(param, _Bound) else param for param in params]
        return database.execute_sql(sql, bound), query

    def build(self, *values: Any) -> Any:
        """The query itself, built by Peewee with these values (for a statement run too rarely to prepare, such
        as one without the condition the prepared one has)."""
        return self._build(*values)

    def execute(self, *values: Any) -> Any:
        """Run the statement; returns the driver's cursor (its `rowcount` for a write)."""
        return self._run(values)[0]

    def rows(self, *values: Any) -> Iterator[Any]:
        """The rows of a SELECT, as the built query gives them (models, tuples, ...)."""
        cursor, query = self._run(values)
        return iter(query._get_cursor_wrapper(cursor))

    def first(self, *values: Any) -> Any:
        return next(self.rows(*values), None)

    def scalar(self, *values: Any) -> Any:
        """The first column of the first row (of a query built with `.tuples()`), or None."""
        row = self.first(*values)
        return row[0] if row is not None else None


def row_by_id(model: type[peewee.Model]) -> Prepared:
    """The row of `model` with a given primary key: `row_by_id(Run).first(run_id)` is `Run.get_or_none(Run.id ==
    run_id)`."""
    return Prepared(lambda row_id: model.select().where(model._meta.primary_key == row_id).limit(1))


class RowInsert:
    """Writes a model instance made in Python (its id included) as one new row: `Model.create` without
    building the INSERT each time."""

    def __init__(self, model: type[peewee.Model]) -> None:
        self._fields = model._meta.sorted_fields
        self._insert = Prepared(lambda *slots: model.insert(
            {field: slot.of(field) for field, slot in zip(self._fields, slots)}), len(self._fields))

    def __call__(self, row: peewee.Model) -> None:
        self._insert.execute(*(row.__data__.get(field.name) for field in self._fields))
