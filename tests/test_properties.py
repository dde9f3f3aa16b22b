"""Every service function against hostile input (hypothesis): any Unicode, control characters, text past the
limits, numbers out of range, dates in odd formats, wrong types, ids that do not exist.

For each call: it succeeds, or it is refused with a `DomainError` (a sentence for the user), never another
exception; after a refusal the database is exactly as before (nothing half-written); accepted text reads
back exactly as the documented normal form (`acct_tui.workflow.fields`).
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from acct_tui.errors import DomainError
from acct_tui.store import kpis, services
from acct_tui.store.db import close_database, open_database
from acct_tui.store.models import ALL_MODELS, Account, KpiEntry, Objective, Run, database
from acct_tui.store.queries import account_detail, run_view
from acct_tui.template import Field, packaged_template
from acct_tui.text import printable
from acct_tui.workflow.fields import MAX_COMMENT, MAX_NAME, MAX_NOTES, MAX_SHORT_TEXT, SEGMENTS, STAGES, normalize_field_value
from acct_tui.workflow.kpi import METRICS

TEMPLATE = packaged_template()
FIELD_KEYS = sorted({field.key for step in TEMPLATE.steps for field in step.fields})
OPTIONS = sorted({option for step in TEMPLATE.steps for field in step.fields for option in field.options})

quick = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Inputs. Each strategy mixes plausible values (so some calls are accepted and their round trip is checked)
# with hostile ones (so the refusals are exercised): hypothesis picks a branch of `one_of` evenly.
HOSTILE = (
    "", "   ", "\t", "a\nb", "a\r\nb", "\x1b]0;pwned\x07", "\x1b[2J", "\x00", "\x7f", "\x9b31m", "[bold]x[/]",
    "[@click=app.quit]x", "a[/]b", "[link=http://a]x", "$accent", "\u202eevil", "e\u0301", "ﬁ", "İstanbul",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "👩‍👩‍👧", "\u200b", "’", "null", "None", "'; DROP TABLE account; --",
)
# Any character a terminal or a paste can deliver (strict UTF-8 decoding never yields lone surrogates).
plain_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40)
texts = st.one_of(
    plain_text,
    plain_text,
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
    st.decimals(0, 100, places=2),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1,250,000.50", "1e15", "999999999999999.99", "-0", "42 %", "١٢٣", "0x10", "1_000", "", " "]),
    texts,
)
dates = st.one_of(
    st.dates(date(2000, 1, 1), date(2100, 12, 31)),
    st.dates(),
    st.none(),
    texts,
    st.integers(),
    st.sampled_from(["today", "tomorrow", "+7", "+2w", "+99999", "2026-02-30", "31/12/2026", "2026-1-1",
                     "1999-12-31", "2101-01-01", "2026-12-01T10:00", "２０２６-０１-０１", " 2026-06-01 "]),
)
anything = st.one_of(texts, numbers, dates, st.booleans(), st.lists(st.sampled_from(OPTIONS) | texts, max_size=4),
                     st.just({"a": 1}))
valid_steps = st.integers(1, 20)
steps = valid_steps  # steps that do not exist: see test_a_step_that_does_not_exist_is_refused_in_words
comments = long_texts


def field_value(field: Field) -> st.SearchStrategy[object]:
    """A value for `field`: mostly of its kind, sometimes anything at all."""
    plausible = {
        "checklist": st.lists(st.sampled_from(field.options or ("x",)), max_size=5),
        "multi": st.lists(st.sampled_from(field.options or ("x",)), max_size=5),
        "single": st.one_of(st.sampled_from(field.options or ("x",)), st.none()),
        "notes": long_texts,
        "text": texts,
        "date": dates,
    }[field.type]
    return st.one_of(plausible, plausible, anything)


def one_line(value: str) -> str:
    return unicodedata.normalize("NFC", value.replace("\t", " ")).strip()


def multi_line(value: str) -> str:
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))


# The database: a few accounts at different points of the workflow, shared by the examples --------------------

@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory):
    open_database(tmp_path_factory.mktemp("properties") / "acct.db")
    fresh = services.create_account("Fresh Account", actor="setup")
    waiting = services.create_account("Waiting For Approval", actor="setup")
    approved = services.create_account("Approved Account", actor="setup")
    for account_id in (waiting, approved):
        run_id = account_detail(account_id).run_id
        services.set_field(run_id, 4, "satisfaction", "Satisfied", actor="setup")
        for step in (1, 2, 3, 4):
            services.complete_step(run_id, step, actor="setup")
    services.approve(account_detail(approved).run_id, 5, actor="manager")
    kpis.add_kpi(approved, "csat", "4.5", "2026-01-15", step=10, actor="setup", today=date(2026, 6, 1))
    kpis.add_objective(account_detail(approved).run_id, "Grow revenue", "1,000,000", "2026-12-31",
                       metric="revenue", actor="setup")
    yield (fresh, waiting, approved)
    close_database()


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: what "the database is unchanged" is checked against."""
    return {
        model._meta.table_name: database.obj.execute_sql(
            f'SELECT * FROM "{model._meta.table_name}" ORDER BY rowid').fetchall()
        for model in ALL_MODELS
    }


def attempt(call: Callable[[], Any]) -> tuple[Any, DomainError | None]:
    """Run a service call: either it returns, or it raises DomainError and changed nothing."""
    before = snapshot()
    try:
        result = call()
    except DomainError as refusal:
        event("refused " + str(refusal)[:50])  # --hypothesis-show-statistics shows how often each outcome was exercised
        assert str(refusal).strip(), "a refusal must say why"
        assert snapshot() == before, f"refused ({refusal}) but the database changed"
        return None, refusal
    event("accepted")
    return result, None


def some_id(data: st.DataObject, existing: list[Any]) -> Any:
    """Mostly an id that exists; else one that never did, or not an id at all."""
    known = st.sampled_from(existing)
    return data.draw(st.one_of(known, known, known, st.builds(uuid.uuid4), texts, st.just(None)))


def account_ids() -> list[uuid.UUID]:
    return [account_id for (account_id,) in Account.select(Account.id).tuples()]


def run_ids() -> list[uuid.UUID]:
    return [run_id for (run_id,) in Run.select(Run.id).tuples()]


# Accounts ------------------------------------------------------------------------------------------------------

@quick
@given(name=texts, owner=texts, segment=st.one_of(st.sampled_from(SEGMENTS), st.sampled_from(SEGMENTS), texts),
       stage=st.one_of(st.sampled_from(STAGES), st.sampled_from(STAGES), texts), industry=texts,
       revenue=st.one_of(st.none(), numbers))
def test_create_account(portfolio, name, owner, segment, stage, industry, revenue):
    account_id, refusal = attempt(lambda: services.create_account(name, owner, segment, stage, industry, revenue))
    if refusal is None:
        detail = account_detail(account_id)
        assert (detail.name, detail.owner, detail.industry) == (one_line(name), one_line(owner), one_line(industry))
        assert 1 <= len(detail.name) <= MAX_NAME
        assert len(run_view(account_id).steps) == 20


@quick
@given(data=st.data(), changes=st.dictionaries(
    st.sampled_from(list(services.ACCOUNT_FIELDS) + ["version", "id", "archived"]), texts, max_size=3),
    expected=st.one_of(st.none(), st.integers(-1, 5)))
def test_edit_account(portfolio, data, changes, expected):
    account_id = some_id(data, account_ids())
    version, refusal = attempt(lambda: services.edit_account(account_id, expected_version=expected, **changes))
    if refusal is None:
        detail = account_detail(account_id)
        assert detail.version == version
        for key in ("name", "owner", "industry"):
            if key in changes:
                assert getattr(detail, key) == one_line(changes[key])


@quick
@given(data=st.data(), archived=st.booleans())
def test_archive_account(portfolio, data, archived):
    account_id = some_id(data, account_ids())
    _, refusal = attempt(lambda: services.archive_account(account_id, archived))
    if refusal is None:
        assert account_detail(account_id).archived is archived


@quick
@given(data=st.data())
def test_start_run(portfolio, data):
    account_id = some_id(data, account_ids())
    _, refusal = attempt(lambda: services.start_run(account_id))
    assert refusal is not None  # every account already has its run


# Steps, fields and approvals -------------------------------------------------------------------------------------

@quick
@given(data=st.data(), step=st.sampled_from([step.number for step in TEMPLATE.steps if step.fields]),
       expected=st.one_of(st.none(), st.none(), st.integers(-1, 3)))
def test_set_field(portfolio, data, step, expected):
    run_id = some_id(data, run_ids())
    fields = TEMPLATE.step(step).fields
    key = data.draw(st.one_of(st.sampled_from([field.key for field in fields]), texts), label="key")
    field = next((candidate for candidate in fields if candidate.key == key), fields[0])
    value = data.draw(field_value(field), label="value")
    version, refusal = attempt(lambda: services.set_field(run_id, step, key, value, expected_version=expected))
    if refusal is None:
        view = run_view(Run.get_by_id(run_id).account_id).step(step).field(key)
        assert view.version == version
        assert view.value == normalize_field_value(field, value)
        if isinstance(value, str) and field.type == "notes":
            assert view.value == multi_line(value)
        elif isinstance(value, str) and field.type == "text":
            assert view.value == one_line(value)


@quick
@given(data=st.data(), step=steps,
       action=st.sampled_from([services.complete_step, services.reopen_step, services.reopen_approval]))
def test_step_transitions(portfolio, data, step, action):
    run_id = some_id(data, run_ids())
    attempt(lambda: action(run_id, step))


@quick
@given(data=st.data(), step=st.one_of(st.sampled_from([5, 8, 15, 19]), steps), comment=comments,
       decide=st.sampled_from([services.approve, services.reject]))
def test_decisions(portfolio, data, step, comment, decide):
    run_id = some_id(data, run_ids())
    _, refusal = attempt(lambda: decide(run_id, step, comment))
    if refusal is None:
        decision = run_view(Run.get_by_id(run_id).account_id).decisions[-1]
        assert decision.comment == multi_line(comment).strip()


# KPIs and objectives -------------------------------------------------------------------------------------------

known_metrics = st.sampled_from([metric.key for metric in METRICS] + [metric.label for metric in METRICS])
metrics = st.one_of(known_metrics, known_metrics, texts)


@quick
@given(data=st.data(), metric=metrics, value=numbers, measured_on=dates,
       step=st.one_of(st.none(), st.sampled_from([10, 13]), steps))
def test_add_kpi(portfolio, data, metric, value, measured_on, step):
    account_id = some_id(data, account_ids())
    attempt(lambda: kpis.add_kpi(account_id, metric, value, measured_on, step=step))


@quick
@given(data=st.data(), value=st.one_of(st.none(), numbers), measured_on=st.one_of(st.none(), dates),
       expected=st.one_of(st.none(), st.integers(-1, 3)), delete=st.booleans())
def test_edit_or_delete_kpi(portfolio, data, value, measured_on, expected, delete):
    entry_id = some_id(data, [entry for (entry,) in KpiEntry.select(KpiEntry.id).tuples()] or [uuid.uuid4()])
    if delete:
        attempt(lambda: kpis.delete_kpi(entry_id, expected_version=expected))
    else:
        attempt(lambda: kpis.edit_kpi(entry_id, value=value, measured_on=measured_on, expected_version=expected))


@quick
@given(data=st.data(), title=texts, target=st.one_of(texts, numbers), due=dates,
       metric=st.one_of(st.none(), st.none(), metrics))
def test_add_objective(portfolio, data, title, target, due, metric):
    run_id = some_id(data, run_ids())
    objective_id, refusal = attempt(lambda: kpis.add_objective(run_id, title, target, due, metric=metric))
    if refusal is None:
        stored = Objective.get_by_id(objective_id)
        assert stored.title == one_line(title)


@quick
@given(data=st.data(), changes=st.dictionaries(st.sampled_from(["title", "target", "metric", "due", "result"]),
                                               anything, max_size=3),
       expected=st.one_of(st.none(), st.integers(-1, 3)),
       action=st.sampled_from(["edit", "remove", "result"]), result=long_texts,
       achieved=st.one_of(st.none(), st.booleans(), anything))
def test_change_objective(portfolio, data, changes, expected, action, result, achieved):
    objective_id = some_id(data, [item for (item,) in Objective.select(Objective.id).tuples()] or [uuid.uuid4()])
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
