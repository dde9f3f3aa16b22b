"""How a form value in normal form is stored as text, read back and shown: each through its field's kind
(`acct_tui.workflow.field_kinds`), so the store never looks at a field's type itself."""

from __future__ import annotations

from acct_tui.template import Field
from acct_tui.workflow.field_kinds import field_kind


def encode_value(field: Field, value: object) -> str:
    return field_kind(field).encode(field, value)


def decode_value(field: Field, text: str | None) -> object:
    return field_kind(field).decode(field, text)


def display_value(field: Field, value: object) -> str:
    """A one-line, human form of a value for reports, history and the approval queue."""
    return field_kind(field).display(field, value)
