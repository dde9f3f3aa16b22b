"""The change log keeps values, not display strings: a form value's audit event holds the field, its step
and the value before and after as JSON; history views show them as the field shows values; schema 9
converts the events older versions logged as text (and their copies in the sync change log), leaving the
ones it cannot read back as they were, still readable."""

from __future__ import annotations

import json
from datetime import date

import pytest

from acct_tui.store import services
from acct_tui.store.audit_values import value_from_display
from acct_tui.store.db import close_database, open_database
from acct_tui.store.models import AuditEvent, SchemaVersion
from acct_tui.store.queries import account_detail, describe_event, run_view
from acct_tui.store.undo import next_plan
from acct_tui.store.values import display_value
from acct_tui.sync.entities import audit_item
from acct_tui.sync.models import SyncChange, SyncTip
from acct_tui.template import CHECKLIST, DUE_KEY, NOTES, Field, packaged_template

pytestmark = pytest.mark.both_backends
STRENGTHS = ["Strong market presence", "Diverse product portfolio"]  # in the template's order


def field_events(account_id) -> dict[str, AuditEvent]:
    """The account's form value events by field key (each field saved once here)."""
    events = AuditEvent.select().where((AuditEvent.account_id == account_id) & (AuditEvent.action == "field.set"))
    found = {}
    for event in events:
        after = json.loads(event.after)
        found[after["key"] if "step_key" in after else next(iter(after))] = event  # older events: {key: text}
    return found


def test_a_form_value_is_logged_as_a_value_and_shown_as_the_field_shows_it(db):
    account = services.create_account("Contoso")
    run = account_detail(account).run_id
    services.set_field(run, 4, "strengths", list(reversed(STRENGTHS)))
    services.set_field(run, 4, DUE_KEY, "2026-01-15")
    events = field_events(account)
    assert json.loads(events["strengths"].before) == {"key": "strengths", "step_key": "analyse-status", "value": []}
    assert json.loads(events["strengths"].after) == {"key": "strengths", "step_key": "analyse-status",
                                                     "value": STRENGTHS}
    assert json.loads(events[DUE_KEY].after)["value"] == "2026-01-15"
    lines = [entry.summary for entry in run_view(account).step_history(4)]
    assert f"set strengths: {', '.join(STRENGTHS)}" in lines and "set due: 2026-01-15" in lines


def as_logged_before_schema_9(event: AuditEvent, before: dict, after: dict) -> None:
    """Make `event` (and its copy in the sync change log) look as an older acct-tui logged it."""
    AuditEvent.update(before=json.dumps(before), after=json.dumps(after)).where(AuditEvent.id == event.id).execute()
    item = audit_item(AuditEvent.get_by_id(event.id))
    change = SyncTip.select(SyncTip.change).where(SyncTip.key == item.key).scalar()
    SyncTip.update(value=item.value).where(SyncTip.change == change).execute()
    SyncChange.update(value=item.value).where(SyncChange.id == change).execute()


def test_schema_9_converts_older_events_and_leaves_what_it_cannot_read_back(db, db_target):
    account = services.create_account("Contoso")
    run = account_detail(account).run_id
    services.set_field(run, 4, "strengths", STRENGTHS)
    services.set_field(run, 1, "notes", "Two\nlines")
    services.set_field(run, 4, "satisfaction", "Satisfied")
    events = field_events(account)
    as_logged_before_schema_9(events["strengths"], {"strengths": None},
                              {"strengths": ", ".join(STRENGTHS)})
    as_logged_before_schema_9(events["notes"], {"notes": None}, {"notes": "Two\nlines"})
    # An option since renamed in the template: its text no longer reads back as a value.
    as_logged_before_schema_9(events["satisfaction"], {"satisfaction": None}, {"satisfaction": "Delighted"})
    SchemaVersion.update(version=8).where(SchemaVersion.version == 9).execute()
    close_database()

    open_database(db_target)
    assert SchemaVersion.select().where(SchemaVersion.version == 9).exists()
    events = field_events(account)
    assert json.loads(events["strengths"].before)["value"] == []
    assert json.loads(events["strengths"].after) == {"key": "strengths", "step_key": "analyse-status",
                                                     "value": STRENGTHS}
    assert json.loads(events["notes"].after)["value"] == "Two\nlines"
    assert json.loads(events["satisfaction"].after) == {"satisfaction": "Delighted"}  # left as it was
    for event in events.values():  # the sync change log carries each event as the table now holds it
        item = audit_item(event)
        assert SyncTip.select(SyncTip.value).where(SyncTip.key == item.key).scalar() == item.value
    lines = [entry.summary for entry in run_view(account).history]
    assert "set satisfaction: Delighted" in lines and f"set strengths: {', '.join(STRENGTHS)}" in lines
    plan = next_plan("undo")
    assert plan.refusal == "An older acct-tui logged this change as text, not as a value: it cannot be undone."
    assert plan.change.action == "field.set" and "Customer satisfaction" in plan.summary


@pytest.mark.sqlite_only
def test_a_history_line_of_a_field_the_template_no_longer_has_shows_the_plain_value():
    after = {"key": "gone", "step_key": "analyse-status", "value": ["A", "B"]}
    assert describe_event("field.set", {}, after, packaged_template()) == "set gone: A, B"
    assert describe_event("field.set", {}, {**after, "value": None}, None) == "set gone: —"


@pytest.mark.sqlite_only
def test_values_come_back_from_the_text_older_versions_logged():
    checklist = Field("k", "K", CHECKLIST, ("Paid, late", "Paid", "Open"))
    assert value_from_display(checklist, display_value(checklist, ("Paid, late", "Open"))) == ("Paid, late", "Open")
    assert value_from_display(checklist, "—") == ()
    notes = Field("n", "N", NOTES)
    assert value_from_display(notes, "two\nlines") == "two\nlines"
    assert value_from_display(notes, None) == ""
    assert value_from_display(Field("d", "D", "date"), "2026-01-15") == date(2026, 1, 15)
