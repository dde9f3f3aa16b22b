"""How each kind of record becomes keyed values for the change log (`read_*`), and how a value that came
from another database is written back into the tables (`apply_value`).

Keys name things by what they are, not by local row ids that differ between databases: an account field by
account id + field; a step state by run id + step key; a form value by run id + step key + field key; a KPI
value by account + metric + date; a saved view by user + name; a template version by name + version.
Records made once and never changed (approval decisions, audit events) travel by their id.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Iterator

from acct_tui.store.models import (
    Account,
    ApprovalDecision,
    AuditEvent,
    FieldValue,
    KpiEntry,
    Objective,
    Run,
    SavedView,
    StepState,
    TemplateVersion,
)
from acct_tui.store.prepared import Prepared, row_by_id
from acct_tui.sync.bulk import CONFLICT_IGNORE, bulk_insert, bulk_update, on_conflict_update
from acct_tui.workflow.fields import SEGMENTS, STAGES

ACCOUNT_FIELDS = ("name", "owner", "segment", "stage", "industry", "annual_revenue", "archived")
STEP_COLUMNS = ("status", "submitted_at", "submitted_by", "finished_at", "finished_by")
DECISION_COLUMNS = ("run", "step", "step_key", "decision", "approver", "comment", "submitted_at", "decided_at",
                    "turnaround_seconds")
OBJECTIVE_COLUMNS = ("run", "position", "title", "metric", "target", "target_value", "due_on", "result", "achieved",
                     "created_at", "created_by", "updated_at", "updated_by")
VIEW_COLUMNS = ("key", "filter_text", "sort_column", "sort_descending", "show_archived", "columns")
AUDIT_COLUMNS = ("at", "actor", "action", "entity", "entity_id", "account_id", "step", "before", "after")
APPEND_ONLY = frozenset({"decision", "audit"})
ROW_KINDS = frozenset({"kpi", "view"})  # keyed by what the row holds, which an edit can change


@dataclass(frozen=True, slots=True)
class Item:
    """One key's current value in this database (`value` None: the record is gone)."""

    kind: str
    key: str
    value: str
    row: str | None = None


def plain(value: object) -> object:
    """A column value as JSON can carry it and every database reads back the same."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.normalize() if value == value.to_integral_value() else value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def make_key(kind: str, *parts: object) -> str:
    return dumps([kind, *(plain(part) for part in parts)])


def _record(row: Any, columns: Iterable[str]) -> dict[str, object]:
    return {column: plain(getattr(row, column + "_id", None) if column in ("run", "account") else getattr(row, column))
            for column in columns}


def _item(kind: str, parts: tuple[object, ...], value: object, row: object = None) -> Item:
    return Item(kind, make_key(kind, *parts), dumps(value), str(row) if row is not None else None)


def account_items(account: Account) -> Iterator[Item]:
    for field in ACCOUNT_FIELDS:
        yield _item("account", (account.id, field), plain(getattr(account, field)))
    yield _item("account", (account.id, "created_at"), plain(account.created_at))


def run_items(run: Run) -> Iterator[Item]:
    yield _item("run", (run.id,), {"account": str(run.account_id), "template_name": run.template_name,
                                   "template_version": run.template_version, "started_at": plain(run.started_at),
                                   "started_by": run.started_by})


def step_item(step: StepState) -> Item:
    return _item("step", (step.run_id, step.step_key), {c: plain(getattr(step, c)) for c in STEP_COLUMNS})


def field_item(value: FieldValue) -> Item:
    return _item("field", (value.run_id, value.step_key, value.key), value.value)


def decision_item(decision: ApprovalDecision) -> Item:
    return _item("decision", (decision.id,), _record(decision, DECISION_COLUMNS))


def kpi_item(entry: KpiEntry) -> Item:
    return _item("kpi", (entry.account_id, entry.metric, entry.measured_on),
                 {"value": plain(entry.value), "step": entry.step, "step_key": entry.step_key}, entry.id)


def objective_item(objective: Objective) -> Item:
    return _item("objective", (objective.id,), _record(objective, OBJECTIVE_COLUMNS))


def view_item(view: SavedView) -> Item:
    return _item("view", (view.user_name, view.name), _record(view, VIEW_COLUMNS), view.id)


def template_item(version: TemplateVersion) -> Item:
    # Who installed it and when differ between databases holding the same version: the text is what counts.
    return _item("template", (version.name, version.version), {"text": version.text})


def audit_item(event: AuditEvent) -> Item:
    return _item("audit", (event.id,), _record(event, AUDIT_COLUMNS))


_ROW = {model: row_by_id(model) for model in (Account, Run, FieldValue, KpiEntry, Objective, SavedView,
                                                TemplateVersion)}
_STEPS_OF_RUN = Prepared(lambda run_id: StepState.select().where(StepState.run == run_id))
_DECISIONS_OF_RUN = Prepared(lambda run_id: ApprovalDecision.select().where(ApprovalDecision.run == run_id))


def items_of_run(run_id: object) -> list[Item]:
    run = _ROW[Run].first(run_id)
    if run is None:
        return []
    items = list(run_items(run))
    items += [step_item(step) for step in _STEPS_OF_RUN.rows(run.id)]
    items += [decision_item(d) for d in _DECISIONS_OF_RUN.rows(run.id)]
    return items


def items_of_entity(entity: str, entity_id: object) -> list[Item]:
    """The keyed values of the record an audit event names (after the change); [] when it is gone."""
    if entity == "account":
        account = _ROW[Account].first(entity_id)
        return list(account_items(account)) if account else []
    if entity == "run":
        return items_of_run(entity_id)
    if entity == "field":
        value = _ROW[FieldValue].first(entity_id)
        return [field_item(value)] if value else []
    if entity == "kpi":
        entry = _ROW[KpiEntry].first(entity_id)
        return [kpi_item(entry)] if entry else []
    if entity == "objective":
        objective = _ROW[Objective].first(entity_id)
        return [objective_item(objective)] if objective else [_item("objective", (entity_id,), None)]
    if entity == "view":
        view = _ROW[SavedView].first(entity_id)
        return [view_item(view)] if view else []
    if entity == "template":
        version = _ROW[TemplateVersion].first(entity_id)
        return [template_item(version)] if version else []
    return []


def all_items() -> Iterator[Item]:
    """Every keyed value in the database: the baseline of a database made before the change log."""
    for version in TemplateVersion.select():
        yield template_item(version)
    for account in Account.select():
        yield from account_items(account)
    for run in Run.select():
        yield from run_items(run)
    for step in StepState.select():
        yield step_item(step)
    for value in FieldValue.select():
        yield field_item(value)
    for decision in ApprovalDecision.select():
        yield decision_item(decision)
    for entry in KpiEntry.select():
        yield kpi_item(entry)
    for objective in Objective.select():
        yield objective_item(objective)
    for view in SavedView.select():
        yield view_item(view)
    for event in AuditEvent.select():
        yield audit_item(event)


# Writing values that came from another database -----------------------------------------------------------

def _parse_time(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def _parse_date(text: object) -> date | None:
    return date.fromisoformat(text) if isinstance(text, str) else None


def _amount(text: object) -> Decimal | None:
    return Decimal(text) if text is not None else None


def _ensure_account(account_id: str) -> None:
    if not Account.select().where(Account.id == account_id).exists():
        # Filled field by field by the changes that follow; the name key is settled after the batch.
        Account.insert(id=account_id, name="", name_key=f"#{account_id}", segment=SEGMENTS[0],
                       stage=STAGES[0]).execute()


def step_number(run_id: str, step_key: str, templates: Any) -> int:
    run = Run.get_by_id(run_id)
    template = templates.get(run.template_name, run.template_version)
    return next((s.number for s in template.steps if s.key == step_key), 0)


def local_row(key: str) -> str | None:
    """The id of the row holding a KPI value or saved view here, so deleting it later logs a deletion."""
    kind, *parts = json.loads(key)
    if kind == "kpi":
        account_id, metric, measured_on = parts
        row = KpiEntry.select(KpiEntry.id).where((KpiEntry.account == account_id) & (KpiEntry.metric == metric) & (
            KpiEntry.measured_on == _parse_date(measured_on))).scalar()
    elif kind == "view":
        user_name, name = parts
        row = SavedView.select(SavedView.id).where((SavedView.user_name == user_name) & (SavedView.name == name)).scalar()
    else:
        return None
    return str(row) if row is not None else None


def apply_value(key: str, value: object, actor: str, at: datetime, templates: Any) -> tuple[str | None, str | None]:
    """Write one incoming value; returns (account id, run id) it touched, for the work after the batch."""
    kind, *parts = json.loads(key)
    if kind == "account":
        account_id, field = parts
        _ensure_account(account_id)
        if field == "annual_revenue":
            value = _amount(value)
        elif field == "created_at":
            value = _parse_time(value)
        Account.update({field: value}).where(Account.id == account_id).execute()
        return account_id, None
    if kind == "run":
        (run_id,) = parts
        assert isinstance(value, dict)
        if Run.select().where(Run.id == run_id).exists():
            Run.update(template_name=value["template_name"], template_version=value["template_version"]).where(
                Run.id == run_id).execute()
        else:
            _ensure_account(value["account"])
            Run.insert(id=run_id, account=value["account"], template_name=value["template_name"],
                       template_version=value["template_version"], started_at=_parse_time(value["started_at"]),
                       started_by=value["started_by"], step_count=0, updated_at=at).execute()
        return value["account"], run_id
    if kind == "step":
        run_id, step_key = parts
        assert isinstance(value, dict)
        columns = {"status": value["status"], "submitted_by": value["submitted_by"],
                   "finished_by": value["finished_by"], "submitted_at": _parse_time(value["submitted_at"]),
                   "finished_at": _parse_time(value["finished_at"]), "updated_at": at}
        updated = StepState.update(columns).where((StepState.run == run_id) & (StepState.step_key == step_key)).execute()
        if not updated:
            StepState.insert(id=uuid.uuid4(), run=run_id, step_key=step_key,
                             number=step_number(run_id, step_key, templates), **columns).execute()
        return None, run_id
    if kind == "field":
        run_id, step_key, field_key = parts
        updated = FieldValue.update(value=value, version=FieldValue.version + 1, updated_at=at, updated_by=actor).where(
            (FieldValue.run == run_id) & (FieldValue.step_key == step_key) & (FieldValue.key == field_key)).execute()
        if not updated:
            FieldValue.insert(id=uuid.uuid4(), run=run_id, step_key=step_key, key=field_key, value=value,
                              step=step_number(run_id, step_key, templates), updated_at=at, updated_by=actor).execute()
        return None, run_id
    if kind == "decision":
        (decision_id,) = parts
        if value is not None and not ApprovalDecision.select().where(ApprovalDecision.id == decision_id).exists():
            assert isinstance(value, dict)
            ApprovalDecision.insert(id=decision_id, **{**value, "submitted_at": _parse_time(value["submitted_at"]),
                                                      "decided_at": _parse_time(value["decided_at"])}).execute()
        return None, None
    if kind == "kpi":
        account_id, metric, measured_on = parts
        where = ((KpiEntry.account == account_id) & (KpiEntry.metric == metric)
                 & (KpiEntry.measured_on == _parse_date(measured_on)))
        if value is None:
            KpiEntry.delete().where(where).execute()
            return account_id, None
        assert isinstance(value, dict)
        columns = {"value": _amount(value["value"]), "step": value["step"], "step_key": value["step_key"],
                   "updated_at": at, "updated_by": actor}
        if not KpiEntry.update(columns).where(where).execute():
            KpiEntry.insert(id=uuid.uuid4(), account=account_id, metric=metric, measured_on=_parse_date(measured_on),
                            created_at=at, created_by=actor, **columns).execute()
        return account_id, None
    if kind == "objective":
        (objective_id,) = parts
        Objective.delete().where(Objective.id == objective_id).execute()
        if value is not None:
            assert isinstance(value, dict)
            Objective.insert(id=objective_id, **{
                **value, "target_value": _amount(value["target_value"]), "due_on": _parse_date(value["due_on"]),
                "created_at": _parse_time(value["created_at"]), "updated_at": _parse_time(value["updated_at"])},
            ).execute()
        return None, None
    if kind == "view":
        user_name, name = parts
        SavedView.delete().where((SavedView.user_name == user_name) & (SavedView.name == name)).execute()
        if value is not None:
            assert isinstance(value, dict)
            # A key another view of the user took meanwhile goes to the incoming view: the newer choice.
            SavedView.delete().where((SavedView.user_name == user_name) & (SavedView.key == value["key"])).execute()
            SavedView.insert(id=uuid.uuid4(), user_name=user_name, name=name, created_at=at, updated_at=at,
                             **value).execute()
        return None, None
    if kind == "template":
        name, version = parts
        if value is not None and not TemplateVersion.select().where(
                (TemplateVersion.name == name) & (TemplateVersion.version == version)).exists():
            assert isinstance(value, dict)
            TemplateVersion.insert(id=uuid.uuid4(), name=name, version=version, text=value["text"],
                                   installed_by=actor, installed_at=at).execute()
        return None, None
    if kind == "audit":
        (event_id,) = parts
        if value is not None and not AuditEvent.select().where(AuditEvent.id == event_id).exists():
            assert isinstance(value, dict)
            AuditEvent.insert(id=event_id, **{**value, "at": _parse_time(value["at"])}).execute()
        return None, None
    raise ValueError(f"unknown kind {kind!r}")


BULK_KINDS = frozenset({"account", "run", "step", "field", "decision", "audit", "kpi"})
_BULK_CHUNK = 500


def _insert(model: Any, rows: list[dict[str, Any]], conflict: str = "") -> None:
    """Rows given as dicts of the same fields, every NOT NULL column among them."""
    if rows:
        names = list(rows[0])
        bulk_insert(model, [model._meta.fields[name] for name in names],
                    [[row[name] for name in names] for row in rows], conflict)


def _account_value(field: str, value: object) -> object:
    if field == "annual_revenue":
        return _amount(value)
    if field == "created_at":
        return _parse_time(value)
    return value


def update_accounts(values: dict[str, object]) -> set[str]:
    """Write incoming values of account fields (by key) with one prepared statement per field; returns the
    accounts touched. A sync of a thousand edited accounts would otherwise build a thousand statements."""
    by_field: dict[str, list[tuple[object, str]]] = {}
    for key, value in values.items():
        _, account_id, field = json.loads(key)
        by_field.setdefault(field, []).append((_account_value(field, value), account_id))
    accounts = {account_id for rows in by_field.values() for _, account_id in rows}
    for account_id in accounts - _existing_ids(Account, list(accounts)):
        _ensure_account(account_id)
    for field, rows in by_field.items():
        bulk_update(Account, [Account._meta.fields[field]], [Account.id], rows)
    return accounts


def insert_new(pending: dict[str, tuple[object, str, datetime]], templates: Any) -> tuple[set[str], set[str]]:
    """Write, a few statements per table, the keys this database had never seen (a first sync brings
    hundreds of thousands); returns the accounts and runs touched. Keys of rows that exist already (a field
    of an account made here) are written one by one."""
    by_kind: dict[str, list[tuple[list[Any], object, str, datetime]]] = {kind: [] for kind in BULK_KINDS}
    for key, (value, actor, at) in pending.items():
        kind, *parts = json.loads(key)
        by_kind[kind].append((parts, value, actor, at))
    account_fields: dict[str, dict[str, object]] = {}
    for (account_id, field), value, _, _ in by_kind["account"]:
        account_fields.setdefault(account_id, {})[field] = _account_value(field, value)
    kpi_accounts = [parts[0] for parts, value, _, _ in by_kind["kpi"] if value is not None]
    wanted_accounts = (list(account_fields) + [value["account"] for _, value, _, _ in by_kind["run"]]  # type: ignore[index]
                       + kpi_accounts)
    existing = _existing_ids(Account, wanted_accounts)
    new_accounts = []
    at_first = min((at for _, _, _, at in by_kind["account"]), default=None)
    for account_id, fields in account_fields.items():
        if account_id in existing:
            Account.update(fields).where(Account.id == account_id).execute()
            continue
        new_accounts.append({"id": account_id, "name": "", "name_key": f"#{account_id}", "owner": "",
                             "segment": SEGMENTS[0], "stage": STAGES[0], "industry": "", "annual_revenue": None,
                             "archived": False, "created_at": at_first, "updated_at": at_first,
                             "last_activity_at": at_first, "version": 1, **fields})
        existing.add(account_id)
    for account_id in set(wanted_accounts) - existing:
        _ensure_account(account_id)
    _insert(Account, new_accounts)
    existing_runs = _existing_ids(Run, [parts[0] for parts, _, _, _ in by_kind["run"]])
    new_runs, run_versions = [], {}
    for (run_id,), value, actor, at in by_kind["run"]:
        assert isinstance(value, dict)
        run_versions[run_id] = (value["template_name"], value["template_version"])
        if run_id in existing_runs:
            apply_value(make_key("run", run_id), value, actor, at, templates)
            continue
        new_runs.append({"id": run_id, "account": value["account"], "template_name": value["template_name"],
                         "template_version": value["template_version"],
                         "started_at": _parse_time(value["started_at"]), "started_by": value["started_by"],
                         "step_count": 0, "done_count": 0, "updated_at": at})
    _insert(Run, new_runs)
    needed = {parts[0] for kind in ("step", "field") for parts, _, _, _ in by_kind[kind]} - set(run_versions)
    for start in range(0, len(needed), _BULK_CHUNK):
        chunk = list(needed)[start:start + _BULK_CHUNK]
        for run_id, name, version in Run.select(Run.id, Run.template_name, Run.template_version).where(
                Run.id.in_(chunk)).tuples():
            run_versions[str(run_id)] = (name, version)

    def number(run_id: str, step_key: str) -> int:
        template = templates.get(*run_versions[run_id])
        return next((s.number for s in template.steps if s.key == step_key), 0)

    _insert(StepState, [
        {"id": uuid.uuid4(), "run": run_id, "step_key": step_key, "number": number(run_id, step_key),
         "status": value["status"], "submitted_by": value["submitted_by"], "finished_by": value["finished_by"],
         "submitted_at": _parse_time(value["submitted_at"]), "finished_at": _parse_time(value["finished_at"]),
         "updated_at": at}
        for (run_id, step_key), value, _, at in by_kind["step"] if isinstance(value, dict)],
        on_conflict_update([StepState.run, StepState.step_key],
                           [StepState.status, StepState.submitted_by, StepState.finished_by, StepState.submitted_at,
                            StepState.finished_at, StepState.updated_at]))
    _insert(FieldValue, [
        {"id": uuid.uuid4(), "run": run_id, "step_key": step_key, "key": field_key, "value": value,
         "step": number(run_id, step_key), "version": 1, "updated_at": at, "updated_by": actor}
        for (run_id, step_key, field_key), value, actor, at in by_kind["field"]],
        on_conflict_update([FieldValue.run, FieldValue.step_key, FieldValue.key],
                           [FieldValue.value, FieldValue.updated_at, FieldValue.updated_by]))
    _insert(ApprovalDecision, [
        {"id": decision_id, **value, "submitted_at": _parse_time(value["submitted_at"]),
         "decided_at": _parse_time(value["decided_at"])}
        for (decision_id,), value, _, _ in by_kind["decision"] if isinstance(value, dict)],
        CONFLICT_IGNORE)
    _insert(AuditEvent, [{"id": event_id, **value, "at": _parse_time(value["at"])}
                         for (event_id,), value, _, _ in by_kind["audit"] if isinstance(value, dict)],
            CONFLICT_IGNORE)
    _insert(KpiEntry, [
        {"id": uuid.uuid4(), "account": account_id, "metric": metric, "measured_on": _parse_date(measured_on),
         "value": _amount(value["value"]), "step": value["step"], "step_key": value["step_key"], "version": 1,
         "created_at": at, "created_by": actor, "updated_at": at, "updated_by": actor}
        for (account_id, metric, measured_on), value, actor, at in by_kind["kpi"] if isinstance(value, dict)],
        on_conflict_update([KpiEntry.account, KpiEntry.metric, KpiEntry.measured_on],
                           [KpiEntry.value, KpiEntry.step, KpiEntry.step_key, KpiEntry.updated_at,
                            KpiEntry.updated_by]))
    runs = {parts[0] for kind in ("run", "step", "field") for parts, _, _, _ in by_kind[kind]}
    accounts = set(account_fields) | {value["account"] for _, value, _, _ in by_kind["run"]}  # type: ignore[index]
    return accounts | set(kpi_accounts), runs


def kpi_rows(accounts: Iterable[str]) -> dict[str, str]:
    """The local row of each KPI value of these accounts, by key."""
    rows: dict[str, str] = {}
    accounts = list(accounts)
    for start in range(0, len(accounts), _BULK_CHUNK):
        for entry_id, account_id, metric, measured_on in KpiEntry.select(
                KpiEntry.id, KpiEntry.account, KpiEntry.metric, KpiEntry.measured_on).where(
                KpiEntry.account.in_(accounts[start:start + _BULK_CHUNK])).tuples():
            rows[make_key("kpi", account_id, metric, measured_on)] = str(entry_id)
    return rows


def _existing_ids(model: Any, ids: list[str]) -> set[str]:
    found: set[str] = set()
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _BULK_CHUNK):
        found |= {str(i) for (i,) in model.select(model.id).where(model.id.in_(unique[start:start + _BULK_CHUNK])).tuples()}
    return found
