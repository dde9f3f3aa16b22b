"""Every service function against hostile input (hypothesis): any Unicode, control characters, text past the
limits, numbers out of range, dates in odd formats, wrong types, ids that do not exist.

Two kinds of property per function:
- hostile input: the call succeeds or is refused with a `DomainError` (a sentence for the user), never another
  exception, and after a refusal every row of every table is as before (nothing half-written);
- valid input: the call is accepted and the text reads back exactly in the documented normal form
  (`acct_tui.workflow.fields`: one-line text trimmed and NFC, notes NFC with CRLF turned into LF).

`--hypothesis-show-statistics` shows how often each refusal was exercised.
"""

from __future__ import annotations

import os
import sqlite3
import unicodedata
import uuid
from datetime import date
from decimal import Decimal
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from processes import acct

from acct_tui.errors import DomainError
from acct_tui.store import kpis, services
from acct_tui.store.db import close_database, open_database
from acct_tui.store.models import (
    ALL_MODELS,
    Account,
    KpiEntry,
    Objective,
    Run,
    database,
)
from acct_tui.store.queries import account_detail, run_view
from acct_tui.template import Field, packaged_template
from acct_tui.text import printable
from acct_tui.workflow.field_kinds import normalize_field_value
from acct_tui.workflow.fields import (
    MAX_COMMENT,
    MAX_NAME,
    MAX_NOTES,
    MAX_REVENUE,
    MAX_SHORT_TEXT,
    SEGMENTS,
    STAGES,
    is_blank,
)
from acct_tui.workflow.kpi import METRICS, to_places

TEMPLATE = packaged_template()
OPTIONS = sorted({option for step in TEMPLATE.steps for field in step.fields for option in field.options})
APPROVALS = [step.number for step in TEMPLATE.approvals]
TODAY = date(2026, 6, 1)

quick = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Inputs ---------------------------------------------------------------------------------------------------------
HOSTILE = (
    "", "   ", "\t", "a\nb", "a\r\nb", "\x1b]0;pwned\x07", "\x1b[2J", "\x00", "\x7f", "\x9b31m", "[bold]x[/]",
    "[@click=app.quit]x", "a[/]b", "[link=http://a]x", "$accent", "\u202eevil", "e\u0301", "ﬁ", "İstanbul",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "👩‍👩‍👧", "\u200b", "’", "null", "None", "'; DROP TABLE account; --",
)
# Any character a terminal or a paste can deliver: Textual decodes input as strict UTF-8, so never a lone
# surrogate (the command line can pass one: see test_cli_arguments_that_are_not_utf8_are_refused).
printable_chars = st.characters(blacklist_categories=("Cc", "Cs"))
valid_text = st.text(printable_chars, min_size=1, max_size=60).filter(lambda text: not is_blank(text))
valid_notes = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=[
    chr(code) for code in [*range(0x00, 0x09), *range(0x0B, 0x0D), *range(0x0E, 0x20), *range(0x7F, 0xA0)]
]), max_size=300)
texts = st.one_of(
    valid_text,
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),  # control characters included
    st.sampled_from(HOSTILE),
    st.builds(lambda n, c: c * n, st.integers(MAX_SHORT_TEXT - 2, MAX_SHORT_TEXT + 2), st.sampled_from("aé漢")),
)
long_texts = st.one_of(
    texts,
    st.builds(lambda n: "é" * n, st.sampled_from([MAX_COMMENT, MAX_COMMENT + 1, MAX_NOTES, MAX_NOTES + 1])),
)
numbers = st.one_of(
    st.integers(0, 10**7),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1,250,000.50", "1e15", "999999999999999.99", "-0", "42 %", "١٢٣", "0x10", "1_000", "", " "]),
    texts,
)
dates = st.one_of(
    st.dates(),
    st.none(),
    texts,
    st.integers(),
    st.sampled_from(["today", "tomorrow", "+7", "+2w", "+99999", "2026-02-30", "31/12/2026", "2026-1-1",
                     "1999-12-31", "2101-01-01", "2026-12-01T10:00", "２０２６-０１-０１", " 2026-06-01 "]),
)
valid_dates = st.one_of(st.dates(date(2000, 1, 1), date(2100, 12, 31)).map(date.isoformat),
                        st.sampled_from(["today", "tomorrow", "+7", "+2w", " 2026-06-01 "]))
anything = st.one_of(texts, numbers, dates, st.booleans(), st.lists(st.sampled_from(OPTIONS) | texts, max_size=4),
                     st.just({"a": 1}))
steps = st.integers(1, len(TEMPLATE.steps))  # steps that do not exist: test_a_step_that_does_not_exist_is_refused
versions = st.one_of(st.none(), st.integers(-1, 3))
known_metrics = st.sampled_from([metric.key for metric in METRICS] + [metric.label for metric in METRICS])
metrics = st.one_of(known_metrics, texts)


def hostile_value(field: Field) -> st.SearchStrategy[object]:
    """A value for `field`: of its kind, or anything at all."""
    of_its_kind = {
        "checklist": st.lists(st.sampled_from(field.options) | texts, max_size=5),
        "multi": st.lists(st.sampled_from(field.options) | texts, max_size=5),
        "single": st.one_of(st.sampled_from(field.options), texts),
        "notes": long_texts,
        "text": texts,
        "date": dates,
    }[field.type]
    return st.one_of(of_its_kind, anything)


def valid_value(field: Field) -> st.SearchStrategy[object]:
    return {
        "checklist": st.lists(st.sampled_from(field.options), max_size=5),
        "multi": st.lists(st.sampled_from(field.options), max_size=5),
        "single": st.sampled_from(field.options),
        "notes": valid_notes,
        "text": valid_text,
        "date": valid_dates,
    }[field.type]


def one_line(value: str) -> str:
    return unicodedata.normalize("NFC", value.replace("\t", " ")).strip()


def multi_line(value: str) -> str:
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))


# The database: accounts at different points of the workflow, shared by the examples ------------------------

def new_account(name: str, *, through_step: int = 0) -> uuid.UUID:
    """An account whose steps up to `through_step` are done (steps 1-4 done: approval 5 is pending)."""
    account_id = services.create_account(name, actor="setup")
    run_id = account_detail(account_id).run_id
    if through_step >= 4:
        services.set_field(run_id, 4, "satisfaction", "Satisfied", actor="setup")
    for step in range(1, through_step + 1):
        services.complete_step(run_id, step, actor="setup")
    return account_id


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory):
    global watcher
    path = tmp_path_factory.mktemp("properties") / "acct.db"
    open_database(path)
    watcher = sqlite3.connect(path)
    new_account("Fresh Account")
    new_account("Waiting For Approval", through_step=4)
    approved = new_account("Approved Account", through_step=4)
    services.approve(account_detail(approved).run_id, 5, actor="manager")
    kpis.add_kpi(approved, "csat", "4.5", "2026-01-15", step=10, actor="setup", today=TODAY)
    kpis.add_objective(account_detail(approved).run_id, "Grow revenue", "1,000,000", "2026-12-31",
                       metric="revenue", actor="setup")
    yield
    watcher.close()
    close_database()


watcher: sqlite3.Connection  # a second connection: its data_version moves whenever anything is committed


def snapshot() -> tuple[int, dict[str, int]]:
    """What "the database is unchanged" is checked against: SQLite's commit counter as another connection
    sees it (any committed change moves it, a rolled-back transaction does not) and the rows per table."""
    ((committed,),) = watcher.execute("PRAGMA data_version").fetchall()
    counts = {
        model._meta.table_name: database.obj.execute_sql(f'SELECT COUNT(*) FROM "{model._meta.table_name}"').fetchone()[0]
        for model in ALL_MODELS
    }
    return committed, counts


def attempt(call: Callable[[], Any]) -> tuple[Any, DomainError | None]:
    """Run a service call: either it returns, or it raises DomainError and changed nothing."""
    before = snapshot()
    try:
        result = call()
    except DomainError as refusal:
        event(f"refused: {str(refusal)[:40]}")
        assert str(refusal).strip(), "a refusal must say why"
        assert snapshot() == before, f"refused ({refusal}) but the database changed"
        return None, refusal
    event("accepted")
    return result, None


def accept(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except DomainError as refusal:
        raise AssertionError(f"valid input refused: {refusal}") from None


def some_id(data: st.DataObject, table: type, column: Any) -> Any:
    """Mostly an id that exists now; else one that never did, or not an id at all. (Drawn as an index, so the
    strategy stays the same while the table changes between examples.)"""
    choice = data.draw(st.one_of(st.integers(0, 10**6), st.integers(0, 10**6), st.builds(uuid.uuid4), texts,
                                 st.none()), label="id")
    if isinstance(choice, int):
        existing = [row for (row,) in table.select(column).order_by(column).tuples()]
        return existing[choice % len(existing)] if existing else uuid.UUID(int=choice)
    return choice


def account_id_of(run_id: uuid.UUID) -> uuid.UUID:
    return Run.get_by_id(run_id).account_id


# Accounts ------------------------------------------------------------------------------------------------------

@quick
@given(name=texts, owner=texts, segment=st.one_of(st.sampled_from(SEGMENTS), texts),
       stage=st.one_of(st.sampled_from(STAGES), texts), industry=texts, revenue=st.one_of(st.none(), numbers))
def test_create_account_refuses_in_words(portfolio, name, owner, segment, stage, industry, revenue):
    attempt(lambda: services.create_account(name, owner, segment, stage, industry, revenue))


@quick
@given(name=valid_text, owner=st.one_of(st.just(""), valid_text), segment=st.sampled_from(SEGMENTS),
       stage=st.sampled_from(STAGES), industry=st.one_of(st.just(""), valid_text),
       revenue=st.one_of(st.none(), st.decimals(0, 10**12, places=2), st.integers(0, int(MAX_REVENUE) - 1)))
def test_create_account_keeps_valid_text_exactly(portfolio, name, owner, segment, stage, industry, revenue):
    name = f"{name} {uuid.uuid4().hex[:8]}"  # unique, so a name already used does not refuse it
    account_id = accept(lambda: services.create_account(name, owner, segment.upper(), f" {stage} ", industry,
                                                        revenue))
    detail = account_detail(account_id)
    assert (detail.name, detail.owner, detail.industry) == (one_line(name), one_line(owner), one_line(industry))
    assert (detail.segment, detail.stage) == (segment, stage)
    assert detail.annual_revenue == (None if revenue is None else Decimal(revenue).quantize(Decimal("0.01")))
    assert len(detail.name) <= MAX_NAME + 9
    assert len(run_view(account_id).steps) == len(TEMPLATE.steps)


@quick
@given(data=st.data(), changes=st.dictionaries(
    st.sampled_from(list(services.ACCOUNT_FIELDS) + ["version", "id", "archived"]), anything, max_size=3),
    expected=versions)
def test_edit_account_refuses_in_words(portfolio, data, changes, expected):
    account_id = some_id(data, Account, Account.id)
    attempt(lambda: services.edit_account(account_id, expected_version=expected, **changes))


@quick
@given(owner=valid_text, industry=valid_text)
def test_edit_account_keeps_valid_text_exactly(portfolio, owner, industry):
    account_id = new_account(f"Edited {uuid.uuid4().hex}")
    version = account_detail(account_id).version
    new_version = accept(lambda: services.edit_account(account_id, expected_version=version, owner=owner,
                                                       industry=industry))
    detail = account_detail(account_id)
    assert (detail.owner, detail.industry, detail.version) == (one_line(owner), one_line(industry), new_version)


@quick
@given(data=st.data(), archived=st.booleans())
def test_archive_account(portfolio, data, archived):
    account_id = some_id(data, Account, Account.id)
    _, refusal = attempt(lambda: services.archive_account(account_id, archived))
    if refusal is None:
        assert account_detail(account_id).archived is archived


@quick
@given(data=st.data())
def test_start_run_refuses_a_second_run(portfolio, data):
    account_id = some_id(data, Account, Account.id)
    _, refusal = attempt(lambda: services.start_run(account_id))
    assert refusal is not None  # every account already has its run


# Steps, fields and approvals -------------------------------------------------------------------------------------

@quick
@given(data=st.data(), step=st.sampled_from([step.number for step in TEMPLATE.steps if step.fields]),
       expected=versions)
def test_set_field_refuses_in_words(portfolio, data, step, expected):
    run_id = some_id(data, Run, Run.id)
    fields = TEMPLATE.step(step).fields
    key = data.draw(st.one_of(st.sampled_from([field.key for field in fields]), texts), label="key")
    field = next((candidate for candidate in fields if candidate.key == key), fields[0])
    value = data.draw(hostile_value(field), label="value")
    attempt(lambda: services.set_field(run_id, step, key, value, expected_version=expected))


@quick
@given(data=st.data(), step=st.one_of(st.none(), st.sampled_from([step.number for step in TEMPLATE.steps])),
       where=texts, text=long_texts, applied=st.booleans())
def test_record_held_outcome_refuses_in_words(portfolio, data, step, where, text, applied):
    account_id = some_id(data, Account, Account.id)
    attempt(lambda: services.record_held_outcome(account_id, step, where, text, applied))


@quick
@given(data=st.data(), step=st.sampled_from([step.number for step in TEMPLATE.steps if step.fields]))
def test_set_field_keeps_valid_values_exactly(portfolio, data, step):
    run_id = account_detail(new_account(f"Fields {uuid.uuid4().hex}")).run_id
    field = data.draw(st.sampled_from(TEMPLATE.step(step).fields), label="field")
    value = data.draw(valid_value(field), label="value")
    version = accept(lambda: services.set_field(run_id, step, field.key, value, expected_version=0))
    view = run_view(account_id_of(run_id)).step(step).field(field.key)
    assert view.value == normalize_field_value(field, value)
    assert view.version == version == (1 if view.value not in ("", (), None) else version)
    if field.type == "notes":
        assert view.value == multi_line(value)
    elif field.type == "text":
        assert view.value == one_line(value)


@quick
@given(data=st.data(), step=steps,
       action=st.sampled_from([services.complete_step, services.reopen_step, services.reopen_approval]))
def test_step_transitions_refuse_in_words(portfolio, data, step, action):
    run_id = some_id(data, Run, Run.id)
    attempt(lambda: action(run_id, step))


@quick
@given(data=st.data(), step=st.one_of(st.sampled_from(APPROVALS), steps), comment=long_texts,
       decide=st.sampled_from([services.approve, services.reject]))
def test_decisions_refuse_in_words(portfolio, data, step, comment, decide):
    run_id = some_id(data, Run, Run.id)
    attempt(lambda: decide(run_id, step, comment))


@quick
@given(comment=valid_notes.filter(lambda text: not is_blank(text)), decide=st.sampled_from([services.approve,
                                                                                        services.reject]))
def test_decisions_keep_the_comment_exactly(portfolio, comment, decide):
    account_id = new_account(f"Decision {uuid.uuid4().hex}", through_step=4)
    accept(lambda: decide(account_detail(account_id).run_id, 5, comment))
    (decision,) = run_view(account_id).decisions
    assert decision.comment == multi_line(comment).strip()


# KPIs and objectives -------------------------------------------------------------------------------------------

@quick
@given(data=st.data(), metric=metrics, value=numbers, measured_on=dates,
       step=st.one_of(st.none(), st.sampled_from([10, 13]), steps))
def test_add_kpi_refuses_in_words(portfolio, data, metric, value, measured_on, step):
    account_id = some_id(data, Account, Account.id)
    attempt(lambda: kpis.add_kpi(account_id, metric, value, measured_on, step=step, today=TODAY))


@quick
@given(metric=st.sampled_from(METRICS), fraction=st.decimals(0, 1, places=4),
       measured_on=st.dates(date(2000, 1, 1), TODAY))
def test_add_kpi_keeps_valid_values(portfolio, metric, fraction, measured_on):
    account_id = new_account(f"KPI {uuid.uuid4().hex}")
    span = min(metric.maximum, Decimal(10**9)) - metric.minimum
    value = metric.minimum + span * fraction
    if not metric.in_range(value):
        value = metric.minimum
    entry_id = accept(lambda: kpis.add_kpi(account_id, metric.key, value, measured_on.isoformat(), today=TODAY))
    (view,) = kpis.kpi_entries(account_id)
    assert (view.id, view.value, view.measured_on) == (entry_id, to_places(metric, value), measured_on)


@quick
@given(data=st.data(), value=st.one_of(st.none(), numbers), measured_on=st.one_of(st.none(), dates),
       expected=versions, delete=st.booleans())
def test_edit_or_delete_kpi_refuses_in_words(portfolio, data, value, measured_on, expected, delete):
    entry_id = some_id(data, KpiEntry, KpiEntry.id)
    if delete:
        attempt(lambda: kpis.delete_kpi(entry_id, expected_version=expected))
    else:
        attempt(lambda: kpis.edit_kpi(entry_id, value=value, measured_on=measured_on, expected_version=expected,
                                      today=TODAY))


@quick
@given(data=st.data(), title=texts, target=st.one_of(texts, numbers), due=dates,
       metric=st.one_of(st.none(), metrics))
def test_add_objective_refuses_in_words(portfolio, data, title, target, due, metric):
    run_id = some_id(data, Run, Run.id)
    attempt(lambda: kpis.add_objective(run_id, title, target, due, metric=metric))


@quick
@given(title=valid_text, target=valid_text, due=valid_dates, result=valid_notes)
def test_objectives_keep_valid_text_exactly(portfolio, title, target, due, result):
    run_id = account_detail(new_account(f"Objective {uuid.uuid4().hex}")).run_id
    objective_id = accept(lambda: kpis.add_objective(run_id, title, target, due))
    (view,) = kpis.objectives(run_id)
    assert (view.id, view.title, view.target) == (objective_id, one_line(title), one_line(target))
    # Step 20's result: its step is locked until the run gets there, which is a refusal in words.
    _, refusal = attempt(lambda: kpis.record_result(objective_id, result, True, expected_version=view.version))
    if refusal is None:
        assert kpis.objectives(run_id)[0].result == multi_line(result).strip()


@quick
@given(data=st.data(), changes=st.dictionaries(st.sampled_from(["title", "target", "metric", "due", "result"]),
                                               anything, max_size=3),
       expected=versions, action=st.sampled_from(["edit", "remove", "result"]), result=long_texts,
       achieved=st.one_of(st.none(), st.booleans()))
def test_change_objective_refuses_in_words(portfolio, data, changes, expected, action, result, achieved):
    objective_id = some_id(data, Objective, Objective.id)
    if action == "edit":
        attempt(lambda: kpis.edit_objective(objective_id, expected_version=expected, **changes))
    elif action == "remove":
        attempt(lambda: kpis.remove_objective(objective_id, expected_version=expected))
    else:
        attempt(lambda: kpis.record_result(objective_id, result, achieved, expected_version=expected))


# What reaches a terminal ------------------------------------------------------------------------------------------

@quick
@given(text=st.text())
def test_printable_leaves_no_terminal_control(text):
    shown = printable(text)
    assert not any(unicodedata.category(char) == "Cc" and char not in "\n\t" for char in shown)
    flat = printable(text, keep_newlines=False)
    assert "\n" not in flat and "\t" not in flat


# Found by these properties (fixed) ------------------------------------------------------------------------------

@pytest.mark.parametrize("action", [services.complete_step, services.reopen_step, services.reopen_approval,
                                    services.approve, services.reject], ids=lambda action: action.__name__)
@pytest.mark.parametrize("step", [0, len(TEMPLATE.steps) + 1])
def test_a_step_that_does_not_exist_is_refused_in_words(db, action, step):
    run_id = account_detail(services.create_account("Northwind Traders")).run_id
    arguments = (run_id, step, "a comment") if action in (services.approve, services.reject) else (run_id, step)
    with pytest.raises(DomainError):
        action(*arguments)


def test_the_largest_revenue_accepted_reads_back_exactly_and_stays_editable(db):
    largest = "9999999999999.99"
    account_id = services.create_account("Northwind Traders", annual_revenue=largest)
    assert account_detail(account_id).annual_revenue == Decimal(largest)
    services.edit_account(account_id, owner="bob")


def test_cli_arguments_that_are_not_utf8_are_refused(tmp_path):
    undecodable = os.fsdecode(b"Caf\xe9 Lumi\xe8re")  # Latin-1 typed into a UTF-8 program: lone surrogates
    result = acct("accounts", "add", undecodable, db=tmp_path / "acct.db")
    assert result.returncode == 2
    assert result.stderr.startswith("acct-tui: an argument holds bytes that are not UTF-8 text")
    assert "Traceback" not in result.stderr


def test_a_login_name_that_is_not_utf8_is_recorded_readably(db, monkeypatch):
    monkeypatch.setenv("ACCT_TUI_USER", os.fsdecode(b"b\xf6b"))
    account_id = services.create_account("Northwind Traders")
    assert run_view(account_id).history[-1].actor == "b\ufffdb"
