"""Every kind of form field in one place: how a value is checked and put in normal form, stored as text and
read back, shown on one line and exported. Adding a kind is one entry here plus its editor
(`acct_tui.widgets.step_form.FIELD_EDITORS`).

Values in their normal form:
- checklist / multi: a tuple of option labels, in template order, no repeats
- single: an option label, or None
- notes / text: a string (notes keep newlines and tabs)
- date: a `datetime.date`, or None

Stored text keeps the database portable (SQLite and PostgreSQL alike) and makes dates sortable: a due date
is stored as an ISO string, so `value < '2026-11-23'` finds overdue tasks in SQL.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

from acct_tui.errors import DomainError
from acct_tui.template import CHECKLIST, DATE, MULTI, NOTES, SINGLE, TEXT, Field
from acct_tui.workflow.fields import choose, multi_line_text, one_line_text, parse_date

NONE_SHOWN = "—"


@dataclass(frozen=True, slots=True)
class FieldKind:
    name: str
    normalize: Callable[[Field, object], object]  # user input -> normal form; DomainError says what is wrong
    encode: Callable[[Field, object], str]  # normal form -> stored text
    decode: Callable[[Field, str | None], object]  # stored text -> normal form (unreadable text: empty)
    display: Callable[[Field, object], str]  # one line, for reports, history and the approval queue
    export: Callable[[object], object]  # the JSON value of a normal-form value
    example: Callable[[Field, random.Random], object]  # a plausible value: demo portfolio, property tests
    holds_list: bool = False  # stored as a JSON list of labels
    tick_list: bool = False  # reports say how many of the items are ticked
    multi_line: bool = False  # shown below its label, line by line


# Choices ------------------------------------------------------------------------------------------------

def _normalize_labels(field: Field, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise DomainError(f"{field.label} takes a list of options.")
    chosen = {choose(item, field.options, field.label) for item in value}
    return tuple(option for option in field.options if option in chosen)


def _decode_labels(field: Field, text: str | None) -> tuple[str, ...]:
    try:
        labels = json.loads(text) if text else []
    except ValueError:
        labels = []
    return tuple(option for option in field.options if option in labels)


def _normalize_single(field: Field, value: object) -> str | None:
    if value is None or value == "":
        return None
    return choose(value, field.options, field.label)


def _display_labels(field: Field, value: object) -> str:
    return ", ".join(value) if value else NONE_SHOWN


def _some_labels(field: Field, rng: random.Random) -> tuple[str, ...]:
    chosen = set(rng.sample(field.options, rng.randint(1, min(3, len(field.options)))))
    return tuple(option for option in field.options if option in chosen)


# Text and dates -----------------------------------------------------------------------------------------

def _display_text(field: Field, value: object) -> str:
    return str(value) if value else NONE_SHOWN


def _decode_date(field: Field, text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _list_kind(name: str, tick_list: bool) -> FieldKind:
    return FieldKind(
        name, _normalize_labels, lambda field, value: json.dumps(list(value or ()), ensure_ascii=False),
        _decode_labels, _display_labels, list, _some_labels, holds_list=True, tick_list=tick_list,
    )


FIELD_KINDS: dict[str, FieldKind] = {kind.name: kind for kind in (
    _list_kind(CHECKLIST, tick_list=True),
    _list_kind(MULTI, tick_list=False),
    FieldKind(SINGLE, _normalize_single, lambda field, value: value or "",
              lambda field, text: text if text in field.options else None, _display_text, lambda value: value,
              lambda field, rng: rng.choice(field.options)),
    FieldKind(NOTES, lambda field, value: multi_line_text(value, field.label), lambda field, value: str(value or ""),
              lambda field, text: text or "", _display_text, lambda value: value,
              lambda field, rng: rng.choice(("Met the buyer.", "Budget closes in March.\nFollow up in April.")),
              multi_line=True),
    FieldKind(TEXT, lambda field, value: one_line_text(value, field.label), lambda field, value: str(value or ""),
              lambda field, text: text or "", _display_text, lambda value: value,
              lambda field, rng: rng.choice(("alice", "bob", "Ana María"))),
    FieldKind(DATE, lambda field, value: parse_date(value, field.label),
              lambda field, value: value.isoformat() if isinstance(value, date) else "", _decode_date,
              lambda field, value: value.isoformat() if value else NONE_SHOWN,
              lambda value: value.isoformat() if value else None,
              lambda field, rng: date(2026, 1, 1) + timedelta(days=rng.randint(0, 365))),
)}


def field_kind(field: Field) -> FieldKind:
    kind = FIELD_KINDS.get(field.type)
    if kind is None:
        raise DomainError(f"{field.label} has an unknown type {field.type!r}.")
    return kind


def normalize_field_value(field: Field, value: object) -> object:
    """Validate a form value for `field` and return it in normal form, or raise DomainError."""
    return field_kind(field).normalize(field, value)
