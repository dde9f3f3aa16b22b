"""How a form value in normal form (see `acct_tui.workflow.fields`) is stored as text, and read back.

Text keeps the database portable (SQLite and PostgreSQL alike) and makes dates sortable: a due date is
stored as an ISO string so `value < '2026-11-23'` finds overdue tasks in SQL.
"""

from __future__ import annotations

import json
from datetime import date

from acct_tui.template import CHECKLIST, DATE, MULTI, SINGLE, Field


def encode_value(field: Field, value: object) -> str:
    if field.type in (CHECKLIST, MULTI):
        return json.dumps(list(value or ()), ensure_ascii=False)
    if field.type == DATE:
        return value.isoformat() if isinstance(value, date) else ""
    if field.type == SINGLE:
        return value or ""
    return str(value or "")


def decode_value(field: Field, text: str | None) -> object:
    if field.type in (CHECKLIST, MULTI):
        try:
            labels = json.loads(text) if text else []
        except ValueError:
            labels = []
        return tuple(option for option in field.options if option in labels)
    if field.type == DATE:
        try:
            return date.fromisoformat(text) if text else None
        except ValueError:
            return None
    if field.type == SINGLE:
        return text if text in field.options else None
    return text or ""


def empty_value(field: Field) -> object:
    return decode_value(field, None)


def display_value(field: Field, value: object) -> str:
    """A one-line, human form of a value for reports, history and the approval queue."""
    if field.type in (CHECKLIST, MULTI):
        return ", ".join(value) if value else "—"
    if field.type == DATE:
        return value.isoformat() if value else "—"
    return str(value) if value else "—"
