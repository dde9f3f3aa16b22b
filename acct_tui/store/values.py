"""How a form value in normal form is stored as text, read back and shown: each through its field's kind
(`acct_tui.workflow.field_kinds`), so the store never looks at a field's type itself.

The change log keeps values, not what they looked like: a `field.set` audit event holds the field's key, its
step's key and the value before and after as JSON (`logged_value`); history views show them with
`shown_logged_value`, and undo hands them back to `services.set_field` as they are.
"""

from __future__ import annotations

from typing import Any

from acct_tui.errors import DomainError
from acct_tui.template import Field
from acct_tui.workflow.field_kinds import NONE_SHOWN, field_kind, normalize_field_value


def encode_value(field: Field, value: object) -> str:
    return field_kind(field).encode(field, value)


def decode_value(field: Field, text: str | None) -> object:
    return field_kind(field).decode(field, text)


def display_value(field: Field, value: object) -> str:
    """A one-line, human form of a value for reports, history and the approval queue."""
    return field_kind(field).display(field, value)


def logged_value(field: Field, value: object) -> object:
    """The JSON value the change log keeps of a value in normal form (a list of labels, an ISO date, text)."""
    return field_kind(field).export(value)


def shown_logged_value(field: Field, logged: object) -> str:
    """A logged value on one line, as `display_value` shows it; one the field no longer takes (an option
    since removed from the template) as its plain text."""
    try:
        return display_value(field, normalize_field_value(field, logged))
    except DomainError:
        return logged_text(logged)


def logged_text(logged: object) -> str:
    """A logged value as plain text, for a field no longer known."""
    if logged in (None, "", []):
        return NONE_SHOWN
    return ", ".join(map(str, logged)) if isinstance(logged, list) else str(logged)


def field_event(key: str, step_key: str, logged: object) -> dict[str, Any]:
    """One side (before or after) of a `field.set` audit event."""
    return {"key": key, "step_key": step_key, "value": logged}


def is_field_event(side: dict[str, Any]) -> bool:
    """Whether a `field.set` side holds a value (`field_event`), not the text an older version logged
    (`{key: shown text}`) and could not convert (see the schema 9 migration)."""
    return set(side) == {"key", "step_key", "value"}
