"""Peewee models. Every record has a UUID primary key so databases can later be merged (laptop <-> jump host)
without id clashes, and every change is also recorded as an `AuditEvent` (who, what, when, before/after).

Values that several screens list quickly (progress, current step, next approval) are kept on `Run` by the
services whenever a step changes, so the account list needs no per-row work.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

from peewee import (
    AutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    DecimalField,
    ForeignKeyField,
    IntegerField,
    SQL,
    Model,
    SmallIntegerField,
    TextField,
    UUIDField,
)

database = DatabaseProxy()


def utcnow() -> datetime:
    """Naive UTC timestamps everywhere in the database; screens convert to local time."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class TimestampField(DateTimeField):
    """A naive UTC timestamp, read back with `datetime.fromisoformat`: Peewee's own parser tries format after
    format with strptime, which costs about a second per 100,000 rows in the account list."""

    def python_value(self, value: object) -> object:
        if isinstance(value, str):
            return datetime.fromisoformat(value)
        return value


class AmountField(DecimalField):
    """A decimal amount read back the same from both backends: SQLite stores 45776000.00 as the number
    45776000 and 2.50 as 2.5, PostgreSQL's NUMERIC(17, 2) keeps the zeros; they are dropped here too, so
    reports and exports are the same byte for byte."""

    def python_value(self, value: object) -> object:
        if isinstance(value, Decimal):  # only PostgreSQL hands back a Decimal; SQLite gives int or float
            value = value.to_integral_value() if value == value.to_integral_value() else value.normalize()
        return super().python_value(value)


class BaseModel(Model):
    id = UUIDField(primary_key=True, default=uuid.uuid4)

    class Meta:
        database = database
        legacy_table_names = False


class SchemaVersion(Model):
    version = IntegerField(primary_key=True)
    description = CharField()
    applied_at = TimestampField(default=utcnow)

    class Meta:
        database = database
        table_name = "schema_version"


class Account(BaseModel):
    name = CharField(max_length=200)
    name_key = CharField(max_length=200, unique=True)  # casefolded name: unique regardless of case
    owner = CharField(max_length=200, default="", index=True)
    segment = CharField(max_length=20)
    stage = CharField(max_length=30)
    industry = CharField(max_length=200, default="")
    annual_revenue = AmountField(max_digits=17, decimal_places=2, null=True, auto_round=True)
    archived = BooleanField(default=False, index=True)
    created_at = TimestampField(default=utcnow)
    updated_at = TimestampField(default=utcnow)
    last_activity_at = TimestampField(default=utcnow)
    version = IntegerField(default=1)


class TemplateVersion(BaseModel):
    """One version of a workflow template, kept whole (its TOML text) so a run can always be read with the
    version it follows, even when the file it came from is gone. Versions are never changed once installed."""

    name = CharField(max_length=60)  # the template's key, the same in all its versions
    version = IntegerField()
    text = TextField()
    installed_at = TimestampField(default=utcnow)
    installed_by = CharField()

    class Meta:
        table_name = "template_version"
        indexes = ((("name", "version"), True),)


class Run(BaseModel):
    """A run follows one template version (`template_name`, `template_version`) from start to end, unless it
    is upgraded; its steps' rows are known by step key, their numbers are positions in that version."""

    account = ForeignKeyField(Account, backref="runs", unique=True, on_delete="CASCADE")
    template_name = CharField()
    started_at = TimestampField(default=utcnow)
    started_by = CharField()
    done_count = SmallIntegerField(default=0)
    step_count = SmallIntegerField()
    current_step = SmallIntegerField(null=True)
    next_approval = SmallIntegerField(null=True)
    updated_at = TimestampField(default=utcnow)
    # The SQL default fills the column for the runs a database had before versions were kept (schema 5).
    template_version = IntegerField(default=1, constraints=[SQL("DEFAULT 1")])


class StepState(BaseModel):
    run = ForeignKeyField(Run, backref="steps", on_delete="CASCADE")
    number = SmallIntegerField()
    status = CharField(max_length=10, index=True)
    submitted_at = TimestampField(null=True)  # approvals: when they last entered the queue
    submitted_by = CharField(null=True)
    finished_at = TimestampField(null=True)  # tasks: done; approvals: decided
    finished_by = CharField(null=True)
    updated_at = TimestampField(default=utcnow)
    # A copy of the task's due-date field, kept by `set_field`, so overdue tasks are one indexed range.
    due_on = DateField(null=True)
    step_key = CharField(max_length=60, null=True)  # filled on every row; NULL only while schema 5 migrates

    class Meta:
        indexes = (
            (("run", "number"), True),
            (("status", "due_on", "run"), False),
            (("status", "submitted_at"), False),  # the oldest pending approvals, without sorting them all
            (("run", "step_key"), True),
        )


class FieldValue(BaseModel):
    """One form value. `value` is text: ISO date, option label, JSON list of labels, or the text itself."""

    run = ForeignKeyField(Run, backref="values", on_delete="CASCADE")
    step = SmallIntegerField()
    key = CharField(max_length=40)
    value = TextField(default="")
    version = IntegerField(default=1)  # optimistic concurrency: a save names the version it was based on
    updated_at = TimestampField(default=utcnow)
    updated_by = CharField()
    step_key = CharField(max_length=60, null=True)  # filled on every row; NULL only while schema 5 migrates

    class Meta:
        table_name = "field_value"
        indexes = (
            (("run", "step", "key"), True),
            (("run", "step_key", "key"), True),
            (("key", "step_key", "value", "run"), False),  # answers counted across the portfolio, by index alone
        )


class ApprovalDecision(BaseModel):
    run = ForeignKeyField(Run, backref="decisions", on_delete="CASCADE")
    step = SmallIntegerField()
    decision = CharField(max_length=10)
    approver = CharField()
    comment = TextField(default="")
    submitted_at = TimestampField(null=True)
    decided_at = TimestampField(default=utcnow, index=True)
    # decided_at - submitted_at, kept when deciding: turnaround statistics are then plain SQL aggregates
    # (timestamp differences have no portable SQL spelling).
    turnaround_seconds = IntegerField(null=True)
    step_key = CharField(max_length=60, null=True)  # filled on every row; NULL only while schema 5 migrates

    class Meta:
        table_name = "approval_decision"


class AuditEvent(BaseModel):
    at = TimestampField(default=utcnow, index=True)
    actor = CharField()
    action = CharField(max_length=40)
    entity = CharField(max_length=20)
    entity_id = UUIDField()
    account_id = UUIDField(null=True, index=True)
    step = SmallIntegerField(null=True)
    before = TextField(default="{}")  # JSON of the fields that changed, before and after
    after = TextField(default="{}")

    class Meta:
        table_name = "audit_event"


class KpiEntry(BaseModel):
    """One measured value of a KPI (see `acct_tui.workflow.kpi.METRICS`) for an account on a date.

    At most one value per account, metric and date, so each metric is a clean time series. `step` is the
    step it was entered from (a step whose role is "kpi", 10 or 13 in the packaged template): a value entered
    in a step an approval covers (13, covered by 15) is signed off with it, and locked with it.
    """

    account = ForeignKeyField(Account, backref="kpi_entries", on_delete="CASCADE", index=False)  # see Meta
    metric = CharField(max_length=20)
    value = AmountField(max_digits=17, decimal_places=2, auto_round=True)
    measured_on = DateField()
    step = SmallIntegerField(null=True)
    version = IntegerField(default=1)
    created_at = TimestampField(default=utcnow)
    created_by = CharField()
    updated_at = TimestampField(default=utcnow)
    updated_by = CharField()
    step_key = CharField(max_length=60, null=True)  # the step it was entered from, like `step`

    class Meta:
        table_name = "kpi_entry"
        indexes = (
            (("account", "metric", "measured_on"), True),
            (("account", "metric", "measured_on", "value"), False),  # covers "latest value" for the portfolio
        )


class Objective(BaseModel):
    """An objective set in step 6 (title, target, due date) and judged in step 20 (result, achieved).

    With `metric` set, the target is a value of that KPI (`target_value`) and reports compare it with the
    latest measured value; otherwise the target is free text. `achieved` stays NULL until step 20 judges it.
    """

    run = ForeignKeyField(Run, backref="objectives", on_delete="CASCADE", index=False)  # see Meta
    position = SmallIntegerField()
    title = CharField(max_length=200)
    metric = CharField(max_length=20, null=True)
    target = CharField(max_length=200)
    target_value = AmountField(max_digits=17, decimal_places=2, auto_round=True, null=True)
    due_on = DateField(null=True)
    result = TextField(default="")
    achieved = BooleanField(null=True)
    version = IntegerField(default=1)
    created_at = TimestampField(default=utcnow)
    created_by = CharField()
    updated_at = TimestampField(default=utcnow)
    updated_by = CharField()

    class Meta:
        indexes = ((("run", "position"), False),)


class SavedView(BaseModel):
    """A view of the account list one user saved: its filter query, sort, archived toggle and columns, under
    a name and the key that switches to it. Kept in the database so it travels with the user's data."""

    user_name = CharField(max_length=255)
    name = CharField(max_length=60)
    key = CharField(max_length=10)
    filter_text = TextField(default="")
    sort_column = CharField(max_length=20)
    sort_descending = BooleanField(default=False)
    show_archived = BooleanField(default=False)
    columns = TextField(default="[]")  # JSON list of column keys
    created_at = TimestampField(default=utcnow)
    updated_at = TimestampField(default=utcnow)

    class Meta:
        table_name = "saved_view"
        indexes = (
            (("user_name", "name"), True),
            (("user_name", "key"), True),
        )


class UndoMark(BaseModel):
    """Marks the audit event an undo (or a redo) wrote, and the change it took back (or made again): with
    these the user's undo history is rebuilt from the audit log after a restart, as vim's undo tree from
    its undo file. `change` is the id of the first audit event of that change."""

    event = UUIDField(unique=True)
    change = UUIDField(index=True)
    kind = CharField(max_length=4)  # "undo" or "redo"
    user_name = CharField(max_length=255)
    at = TimestampField(default=utcnow)

    class Meta:
        table_name = "undo_mark"


class SummaryPart(Model):
    """One active account's share of a portfolio figure (see `acct_tui.store.summaries`): under `topic`, a
    label (`key`, `detail`) and, for figures that depend on the day, a date (`due_on`). `count` and `total`
    add up into `SummaryTotal`; `low`/`high` (whole seconds or cents) give minimum and maximum by index.
    Derived data, rebuilt from the records whenever in doubt: not synced, not imported."""

    id = AutoField()
    account = UUIDField(index=True)
    topic = CharField(max_length=40)
    key = TextField()
    detail = TextField(default="")
    due_on = DateField(null=True)
    count = IntegerField()
    total = TextField(default="0")  # an exact decimal: sums of money-like values must not round
    low = BigIntegerField(null=True)
    high = BigIntegerField(null=True)

    class Meta:
        database = database
        table_name = "summary_part"
        indexes = (
            (("topic", "due_on", "key", "account", "count"), False),  # covers what is overdue on a day
            (("topic", "key", "low"), False),
            (("topic", "key", "high"), False),
            (("topic", "account", "key", "count", "low"), False),  # covers each account's objectives and KPIs
        )


class SummaryTotal(Model):
    """The sum of every active account's `SummaryPart` under one label: what the portfolio report reads."""

    id = AutoField()
    topic = CharField(max_length=40)
    key = TextField()
    detail = TextField(default="")
    count = IntegerField()
    total = TextField(default="0")

    class Meta:
        database = database
        table_name = "summary_total"
        indexes = ((("topic", "key", "detail"), True),)


SUMMARY_MODELS = (SummaryPart, SummaryTotal)

ALL_MODELS = (SchemaVersion, TemplateVersion, Account, Run, StepState, FieldValue, ApprovalDecision, AuditEvent,
              KpiEntry, Objective, SavedView, UndoMark)
