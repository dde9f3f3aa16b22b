"""The report queries are portable: every one of them compiles for PostgreSQL (Peewee's other backend) with
nothing SQLite-only in it, so the store can move to a shared PostgreSQL database unchanged. No database is
opened: the models are bound to a PostgreSQL database object only to compile the queries."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import date

import peewee
import pytest

from acct_tui.store import reports, summaries
from acct_tui.store.models import ALL_MODELS, SUMMARY_MODELS

TODAY = date(2026, 6, 30)
# Every query builder of the reports module, with the arguments it is called with.
BUILDERS = {
    "archived_count_query": (),
    "active_count_query": (),
    "totals_query": (),
    "lowest_query": (summaries.TURNAROUND, "approve-plan"),
    "highest_query": (summaries.LATEST_KPI, "nps"),
    "overdue_by_holder_query": (TODAY,),
    "objectives_overdue_query": (TODAY,),
    "installed_versions_query": (),
    "pending_query": (),
    "account_lines_query": (),
    "ratings_query": ("analyse-status",),
    "waiting_query": (),
    "latest_values_query": (),
    "objective_counts_query": (),
    "overdue_parts_query": (TODAY,),
}
# SQLite's own spellings: planner hints, its aggregate and date functions, its unary-plus index trick.
SQLITE_ONLY = ("INDEXED BY", "NOT INDEXED", "CROSS JOIN", "TOTAL(", "JULIANDAY", "STRFTIME", "DATETIME(",
               "DATE(", "IFNULL(", "GROUP_CONCAT", "JSON_EACH", "+\"")
AGGREGATES = {"COUNT", "SUM", "AVG", "MIN", "MAX"}


@pytest.fixture(scope="module")
def postgres_queries() -> dict[str, tuple[peewee.SelectQuery, str, tuple]]:
    postgres = peewee.PostgresqlDatabase("reports")
    with postgres.bind_ctx(ALL_MODELS + SUMMARY_MODELS):
        built = {name: getattr(reports, name)(*arguments) for name, arguments in BUILDERS.items()}
        return {name: (query, *query.sql()) for name, query in built.items()}


def test_every_query_builder_of_the_reports_is_checked():
    builders = {name for name, value in vars(reports).items() if name.endswith("_query") and callable(value)}
    assert builders == set(BUILDERS)


def test_the_reports_module_sends_no_sql_of_its_own():
    source = inspect.getsource(reports)
    assert "execute_sql" not in source
    assert "SQL(" not in source


@pytest.mark.parametrize("name", BUILDERS)
def test_each_query_compiles_for_postgresql_without_sqlite_only_sql(postgres_queries, name):
    _, sql, params = postgres_queries[name]
    assert sql.startswith("SELECT ")
    assert sql.count("%s") == len(params)  # PostgreSQL's placeholders: compiled by its backend, not SQLite's
    assert "?" not in sql
    assert [token for token in SQLITE_ONLY if token in sql.upper()] == []


def _selects(node: object, seen: set[int]) -> Iterator[peewee.SelectQuery]:
    """The query and every subquery inside it (joins, IN lists), found by walking Peewee's node tree."""
    if id(node) in seen or isinstance(node, (type, peewee.Database, str, bytes, int, float, date)):
        return
    seen.add(id(node))
    if isinstance(node, peewee.SelectQuery):
        yield node
    if isinstance(node, dict):
        children = list(node.values())
    elif isinstance(node, (list, tuple, set)):
        children = list(node)
    elif isinstance(node, peewee.Node):
        children = list(vars(node).values())
    else:
        return
    for child in children:
        yield from _selects(child, seen)


def _is_aggregate(node: peewee.Node) -> bool:
    node = node.unwrap()
    return isinstance(node, peewee.Function) and node.name.upper() in AGGREGATES


def _same(postgres: peewee.Database, one: peewee.Node, other: peewee.Node) -> bool:
    def text(node: peewee.Node) -> str:
        return postgres.get_sql_context().sql(node.unwrap()).query()[0]
    return one is other or one.unwrap() is other.unwrap() or text(one) == text(other)


@pytest.mark.parametrize("name", BUILDERS)
def test_grouped_queries_select_only_groups_and_aggregates(postgres_queries, name):
    """PostgreSQL refuses a bare column beside an aggregate (SQLite takes it from some row of the group)."""
    query = postgres_queries[name][0]
    postgres = peewee.PostgresqlDatabase("reports")
    grouped = [select for select in _selects(query, set()) if select._group_by]
    for select in grouped:
        for column in select._returning:
            assert _is_aggregate(column) or any(_same(postgres, column, group) for group in select._group_by), (
                f"{name}: {postgres.get_sql_context().sql(column.unwrap()).query()[0]} is neither grouped nor "
                "aggregated")
