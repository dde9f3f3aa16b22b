"""Schema 9: the change log keeps values, not display text, so it can be replayed.

Before, a `field.set` audit event logged each side as `{field key: the value as shown}` ("Paid, Open", "—");
now each side is `{"key", "step_key", "value"}` with the value as JSON (`values.field_event`). Older events
are converted where the field can still be found and the text reads back to exactly the value it showed;
the others are left as they were (history views still show their text; undo says it cannot take them back).
The sync change log carries audit events whole, so their copies there are converted too.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import peewee

from acct_tui.store.models import AuditEvent, FieldValue, Run
from acct_tui.store.templates import TemplateCache
from acct_tui.store.values import display_value, field_event, is_field_event, logged_value
from acct_tui.sync.bulk import bulk_update
from acct_tui.sync.entities import audit_item, make_key
from acct_tui.sync.models import SyncChange, SyncTip
from acct_tui.template import Field
from acct_tui.workflow.field_kinds import NONE_SHOWN, field_kind

PAGE = 2000  # events read and rewritten at a time
CHUNK = 500  # keys per IN (...) list: below SQLite's variable limit


def value_from_display(field: Field, text: str | None) -> object:
    """A value in normal form back from the text `display_value` showed it as (None: never saved)."""
    kind = field_kind(field)
    if text is None or text == NONE_SHOWN:
        return kind.decode(field, None)  # the kind's empty value
    if kind.holds_list:
        # Labels joined with ", " in the options' order; a label may itself hold ", ", so match whole labels.
        chosen, rest = [], text
        for option in field.options:
            if rest == option or rest.startswith(option + ", "):
                chosen.append(option)
                rest = rest[len(option) + 2:]
        return tuple(chosen)
    return kind.decode(field, text)


def _converted(field: Field, step_key: str, side: dict[str, Any]) -> dict[str, Any] | None:
    """One side of an older event as a value, or None when its text does not read back exactly."""
    if not side:  # a before that older versions left empty
        return field_event(field.key, step_key, logged_value(field, value_from_display(field, None)))
    if set(side) != {field.key} or not (side[field.key] is None or isinstance(side[field.key], str)):
        return None
    text = side[field.key]
    value = value_from_display(field, text)
    if text is not None and display_value(field, value) != text:
        return None
    return field_event(field.key, step_key, logged_value(field, value))


def _legacy_pages() -> Iterator[list[tuple[Any, ...]]]:
    last = None
    while True:
        query = (AuditEvent.select(AuditEvent.id, AuditEvent.before, AuditEvent.after, FieldValue.step_key,
                                   Run.template_name, Run.template_version)
                 .join(FieldValue, on=(FieldValue.id == AuditEvent.entity_id))
                 .join(Run, on=(Run.id == FieldValue.run))
                 .where(AuditEvent.action == "field.set")
                 .order_by(AuditEvent.id).limit(PAGE))
        if last is not None:
            query = query.where(AuditEvent.id > last)
        rows = list(query.tuples())
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def log_values_not_text(db: peewee.Database) -> None:
    templates = TemplateCache()
    for rows in _legacy_pages():
        updates = []
        for event_id, before_text, after_text, step_key, template_name, version in rows:
            before, after = json.loads(before_text), json.loads(after_text)
            if is_field_event(after):
                continue
            step = templates.get(template_name, version).step_by_key(step_key) if step_key else None
            field = next((field for field in step.fields if {field.key} == set(after)), None) if step else None
            if field is None:
                continue
            new_before, new_after = _converted(field, step_key, before), _converted(field, step_key, after)
            if new_before is not None and new_after is not None:
                updates.append((json.dumps(new_before, ensure_ascii=False, sort_keys=True),
                                json.dumps(new_after, ensure_ascii=False, sort_keys=True), event_id))
        bulk_update(AuditEvent, [AuditEvent.before, AuditEvent.after], [AuditEvent.id], updates)
        _convert_sync_copies([event_id for *_, event_id in updates])


def _convert_sync_copies(event_ids: list[Any]) -> None:
    """The change log's copy of each converted event (an audit key has one change: its tip). Events written
    straight into the tables (a bulk import) have none."""
    for start in range(0, len(event_ids), CHUNK):
        keys = {make_key("audit", event_id): event_id for event_id in event_ids[start:start + CHUNK]}
        tips = list(SyncTip.select(SyncTip.change, SyncTip.key).where(SyncTip.key.in_(list(keys))).tuples())
        if not tips:
            continue
        items = {item.key: item.value for item in map(audit_item, AuditEvent.select().where(
            AuditEvent.id.in_([keys[key] for _, key in tips])))}
        bulk_update(SyncTip, [SyncTip.value], [SyncTip.change], [(items[key], change) for change, key in tips])
        bulk_update(SyncChange, [SyncChange.value], [SyncChange.id], [(items[key], change) for change, key in tips])
