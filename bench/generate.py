"""Generate a large portfolio for the benchmark, fast: rows go straight into SQLite with `executemany`.

    python bench/generate.py DB --accounts 100000 [--seed 1]

The database is created by `open_database` (so the schema is exactly the app's) and then filled the way the
service functions would have filled it, years of work at once: accounts at random points of the workflow
(step states computed by the workflow engine itself, so they are consistent), the run summary columns, form
values (due dates, assignees, notes, checklist and option choices, some overdue), approval decisions (some
rejected before being granted), KPI history, objectives, and one audit event per change. Ids are random
UUIDs stored as Peewee stores them (32 hex digits), times as Peewee writes them (naive UTC, ISO with a space).

Speed: worker processes (one per CPU) build chunks of accounts as plain tuples and write each chunk into a
part file of their own; the main process copies each part in with one `INSERT ... SELECT` per table (a copy
inside SQLite), in one transaction, with no journal (the file is new: nothing to protect), and builds the
secondary indexes once at the end instead of updating them row by row. The database is then switched back
to WAL, as the app keeps it. `--check` runs SQLite's integrity check on the result.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acct_tui.demo import INDUSTRIES  # noqa: E402
from acct_tui.demo import NOTES as DEMO_NOTES  # noqa: E402
from acct_tui.store import summaries  # noqa: E402
from acct_tui.store.db import close_database, open_database, write_transaction  # noqa: E402
from acct_tui.store.values import decode_value, display_value, encode_value, field_event, logged_value  # noqa: E402
from acct_tui.template import (  # noqa: E402
    ASSIGNEE_KEY,
    CHECKLIST,
    DATE,
    DUE_KEY,
    MULTI,
    NOTES_KEY,
    SINGLE,
    Template,
    packaged_template,
)
from acct_tui.workflow import APPROVED, DONE, PENDING, REJECTED, RunState  # noqa: E402
from acct_tui.workflow.fields import SEGMENTS, STAGES, name_key  # noqa: E402
from acct_tui.workflow.kpi import METRICS, to_places  # noqa: E402

CHUNK = 2_000  # accounts per executemany batch: bounded memory whatever the portfolio size
YEARS_OF_HISTORY = 3
ARCHIVED_SHARE = 0.05
REJECTED_BEFORE_GRANTED = 0.12  # approvals that were rejected once before being granted
CURRENTLY_REJECTED = 0.03  # accounts sitting on a rejection right now

WORDS_A = ("Northwind", "Contoso", "Fabrikam", "Tailspin", "Wingtip", "Adventure", "Alpine", "Blue Yonder", "Coho",
           "Fourth", "Humongous", "Litware", "Lucerne", "Proseware", "Southridge", "Trey", "Woodgrove", "Wide World",
           "Relecloud", "VanArsdel", "Datum", "Consolidated", "Nod", "Tasman", "Kiruna", "Sakura", "Lumière",
           "Müller", "São Paulo", "Øresund", "Παράδεισος", "Звезда", "東京", "Ñandú")
WORDS_B = ("Traders", "Pharmaceuticals", "Robotics", "Airlines", "Toys", "Cycles", "Ski House", "Winery", "Coffee",
           "Insurance", "Software", "Publishing", "Travel", "Analytics", "Video", "Research", "Bank", "Importers",
           "Hosting", "Foods", "Logistics", "Messenger", "Power & Light", "Mining", "Shipping", "Textiles")
SUFFIXES = ("", " Ltd", " GmbH", " SARL", " AB", " KK", " Inc.", " LLC", " plc", " S.A.")
NOTES = DEMO_NOTES + (
    "Two sites merged: new contact is the regional ops manager.\nAsk for the updated org chart.",
    "Café order volumes doubled after the pilot. Naïve forecast was too low.",
)
APPROVERS = ("manager", "director", "vp-sales")


def _owners(count: int) -> tuple[str, ...]:
    first = ("alice", "bob", "chandra", "dmitri", "eve", "farah", "goran", "hana", "ines", "jamal", "keiko",
             "lars", "maria", "nkechi", "oscar", "priya", "quentin", "rosa", "sven", "tomás")
    return tuple(f"{first[i % len(first)]}{'' if i < len(first) else i // len(first)}" for i in range(count))


@dataclass(frozen=True)
class Shape:
    """Where an account stands: every step's status and the run summary, as the engine computes them."""

    target: int  # the step the account is at (len(steps) + 1: finished)
    statuses: dict[int, str]
    done: int
    current_step: int | None
    next_approval: int | None
    rejected_gate: int | None  # the approval rejected right now, if any


def _values_for_completion(template: Template, number: int) -> dict[str, object]:
    return {field.key: field.options[0] for field in template.step(number).fields if field.required}


def _shapes(template: Template) -> list[Shape]:
    """One shape per stopping point: steps before `target` finished, `target` open (or pending)."""
    shapes = []
    for target in range(1, len(template.steps) + 2):
        state = RunState.new(template)
        for step in template.steps[: target - 1]:
            if step.is_approval:
                state = state.approve(step.number).state
            else:
                state = state.complete(step.number, _values_for_completion(template, step.number)).state
        progress = state.progress()
        shapes.append(Shape(target, dict(state.statuses), progress.done, progress.current_step,
                            progress.next_approval, None))
    # Sitting on a rejection: the first gate's covered steps were reopened by the approver.
    gate = template.approvals[0]
    state = RunState.new(template)
    for number in gate.covers:
        state = state.complete(number, _values_for_completion(template, number)).state
    state = state.reject(gate.number, "Please add the latest figures.").state
    progress = state.progress()
    shapes.append(Shape(gate.covers[0], dict(state.statuses), progress.done, progress.current_step,
                        progress.next_approval, gate.number))
    return shapes


class Ids:
    """UUIDs as Peewee stores them (32 hex digits), time-ordered like UUIDv7: a counter (starting at `first`),
    then random bits from the seeded generator. Ordered keys append to each table's primary-key index instead
    of landing on a random page of it, which makes the load faster; the app reads them like any UUID."""

    def __init__(self, rng: random.Random, first: int) -> None:
        self.bits = rng.getrandbits
        self.counter = first

    def __call__(self) -> str:
        self.counter += 1
        return f"{self.counter:016x}{self.bits(64):016x}"


def _stamp(moment: datetime) -> str:
    return moment.isoformat(sep=" ")


class Portfolio:
    """Builds the rows of CHUNK accounts at a time, as tuples in each table's column order."""

    def __init__(self, template: Template, seed: int, today: date, first_id: int = 0) -> None:
        self.template = template
        self.rng = random.Random(seed)
        self.id = Ids(self.rng, first_id)
        self.today = today
        self.now = datetime.combine(today, datetime.min.time()) + timedelta(hours=9)
        self.owners = _owners(40)
        self.shapes = _shapes(template)
        finished = len(template.steps) + 1
        # Fewer accounts wait at a gate than work on a step; some are finished.
        self.weights = [
            0.8 if shape.rejected_gate is None and shape.target <= len(template.steps)
            and template.step(shape.target).is_approval else
            CURRENTLY_REJECTED * 20 if shape.rejected_gate is not None else
            2.0 if shape.target == finished else 1.0
            for shape in self.shapes
        ]
        self.json_cache: dict[tuple[Any, ...], str] = {}
        self.value_cache: dict[tuple[str, object], tuple[str, str]] = {}
        self.tables: dict[str, list[tuple[Any, ...]]] = {}

    def _json(self, key: tuple[Any, ...], data: dict[str, Any]) -> str:
        text = self.json_cache.get(key)
        if text is None:
            text = self.json_cache[key] = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
        return text

    def _audit(self, at: str, actor: str, action: str, entity: str, entity_id: str, account_id: str,
               step: int | None, before: str, after: str) -> None:
        self.tables["audit_event"].append((self.id(), at, actor, action, entity, entity_id, account_id,
                                           step, before, after))

    def chunk(self, first: int, count: int) -> dict[str, list[tuple[Any, ...]]]:
        self.tables = {name: [] for name in TABLES}
        for index in range(first, first + count):
            self._account(index)
        return self.tables

    def _account(self, index: int) -> None:
        rng, template = self.rng, self.template
        shape = rng.choices(self.shapes, self.weights)[0]
        name = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)}{rng.choice(SUFFIXES)} {index:06d}"
        owner = rng.choice(self.owners)
        created = self.now - timedelta(days=rng.uniform(30, 365 * YEARS_OF_HISTORY))
        account_id, run_id = self.id(), self.id()
        revenue = Decimal(rng.randrange(50, 50_000) * 1000) if rng.random() < 0.9 else None
        fields = {"name": name, "owner": owner, "segment": rng.choice(SEGMENTS), "stage": rng.choice(STAGES),
                  "industry": rng.choice(INDUSTRIES), "annual_revenue": revenue}
        archived = rng.random() < ARCHIVED_SHARE
        created_stamp = _stamp(created)
        self._audit(created_stamp, owner, "account.create", "account", account_id, account_id, None, "{}",
                    json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str))
        self._audit(created_stamp, owner, "run.start", "run", run_id, account_id, None, "{}",
                    self._json(("start",), {"template": template.name}))
        moment = created
        step_rows = {}
        for step in template.steps:
            status = shape.statuses[step.number]
            finished_at = submitted_at = due_on = None
            finished_by = submitted_by = None
            if step.number < shape.target or status in (PENDING, REJECTED):
                moment += timedelta(hours=rng.uniform(2, 24 * 14 * YEARS_OF_HISTORY / 3))
                moment = min(moment, self.now - timedelta(minutes=rng.uniform(5, 600)))
            stamp = _stamp(moment)
            if step.is_approval:
                if status in (PENDING, APPROVED, REJECTED):
                    submitted_at, submitted_by = stamp, owner
                if status in (APPROVED, REJECTED):
                    moment = min(moment + timedelta(hours=rng.uniform(1, 72)), self.now)
                    finished_at, finished_by = _stamp(moment), rng.choice(APPROVERS)
                    self._decisions(run_id, account_id, step.number, status, stamp, moment, finished_by)
            elif step.number <= max(shape.target, shape.rejected_gate or 0):  # done, reopened or current
                due_on = self._values(run_id, account_id, step.number, status == DONE, owner, stamp)
                if status == DONE:
                    finished_at, finished_by = stamp, owner
                    self._audit(stamp, owner, "step.complete", "run", run_id, account_id, step.number,
                                self._json(("open", step.number), {"states": {str(step.number): "open"}}),
                                self._json(("done", step.number), {"states": {str(step.number): "done"}}))
            step_rows[step.number] = (self.id(), run_id, step.number, status, submitted_at, submitted_by,
                                      finished_at, finished_by, finished_at or submitted_at or created_stamp,
                                      due_on, step.key)
        self.tables["step_state"].extend(step_rows.values())
        last_activity = _stamp(min(moment, self.now))
        self.tables["account"].append((
            account_id, name, name_key(name), owner, fields["segment"], fields["stage"], fields["industry"],
            float(revenue) if revenue is not None else None, int(archived), created_stamp, last_activity,
            last_activity, 1,
        ))
        self.tables["run"].append((run_id, account_id, template.key, created_stamp, owner, shape.done,
                                   len(template.steps), shape.current_step, shape.next_approval, last_activity,
                                   template.version))
        if shape.target > 10:
            self._kpis(account_id, owner, created)
        if shape.target > 6:
            self._objectives(run_id, account_id, owner, created, finished=shape.current_step is None)

    def _values(self, run_id: str, account_id: str, number: int, finished: bool, owner: str, stamp: str
                ) -> str | None:
        """Write the step's form values; returns its due date as stored on the step state (or None)."""
        rng = self.rng
        due_on = None
        for field in self.template.step(number).fields:
            if field.type == CHECKLIST:
                value: object = field.options if finished else tuple(field.options[: rng.randint(0, len(field.options))])
            elif field.type == MULTI:
                value = tuple(option for option in field.options if rng.random() < 0.4)
            elif field.type == SINGLE:
                value = rng.choice(field.options) if finished or field.required or rng.random() < 0.5 else None
            elif field.key == NOTES_KEY:
                value = rng.choice(NOTES) if rng.random() < 0.35 else ""
            elif field.key == ASSIGNEE_KEY:  # most steps are someone's job; the owner's, mostly
                value = "" if rng.random() < 0.4 else owner if rng.random() < 0.7 else rng.choice(self.owners)
            elif field.type == DATE:  # most steps get a due date; some open ones are overdue
                offset = rng.randint(-60, -1) if finished else rng.randint(-25, 35)
                value = self.today + timedelta(days=offset) if rng.random() < 0.7 else None
            else:
                value = ""
            if value in ("", (), None):
                continue
            step_key = self.template.step(number).key
            cached = self.value_cache.get((step_key, field.key, value))
            if cached is None:
                logged = logged_value(field, value)
                cached = self.value_cache[(step_key, field.key, value)] = (
                    encode_value(field, value),
                    self._json(("set", step_key, field.key, value), field_event(field.key, step_key, logged)))
            encoded, after = cached
            if field.key == DUE_KEY:
                due_on = encoded
            value_id = self.id()
            self.tables["field_value"].append((value_id, run_id, number, field.key, encoded, 1, stamp, owner,
                                               step_key))
            empty = logged_value(field, decode_value(field, None))
            self._audit(stamp, owner, "field.set", "field", value_id, account_id, number,
                        self._json(("none", step_key, field.key), field_event(field.key, step_key, empty)), after)
        return due_on

    def _decisions(self, run_id: str, account_id: str, number: int, status: str, submitted_at: str,
                   decided_at: datetime, approver: str) -> None:
        rng = self.rng
        decisions = [(status, decided_at)]
        if status == APPROVED and rng.random() < REJECTED_BEFORE_GRANTED:  # rejected half-way, then granted
            submitted = datetime.fromisoformat(submitted_at)
            decisions.insert(0, (REJECTED, submitted + (decided_at - submitted) / 2))
        for decision, at in decisions:
            comment = "Looks good." if decision == APPROVED else "Please add the latest figures before I sign this off."
            at_stamp = _stamp(at)
            turnaround = round((at - datetime.fromisoformat(submitted_at)).total_seconds())
            self.tables["approval_decision"].append((self.id(), run_id, number, decision, approver, comment,
                                                     submitted_at, at_stamp, turnaround,
                                                     self.template.step(number).key))
            action = "approval.approve" if decision == APPROVED else "approval.reject"
            self._audit(at_stamp, approver, action, "run", run_id, account_id, number,
                        self._json(("pending", number), {"states": {str(number): "pending"}}),
                        self._json((decision, number, comment), {"comment": comment,
                                                                 "states": {str(number): decision}}))

    def _kpis(self, account_id: str, owner: str, created: datetime) -> None:
        rng = self.rng
        for metric in rng.sample(METRICS, rng.randint(1, 3)):
            span = min(metric.maximum, Decimal(10**8)) - metric.minimum
            level = metric.minimum + span * Decimal(rng.uniform(0.2, 0.8))
            quarters = rng.randint(2, 5)
            for quarter in range(quarters):
                measured_on = self.today.replace(day=1) - timedelta(days=91 * (quarters - quarter))
                value = to_places(metric, level * Decimal(rng.uniform(0.9, 1.1)))
                value = max(min(value, metric.maximum - 1 if not metric.maximum_included else metric.maximum),
                            metric.minimum)
                stamp = _stamp(max(created, datetime.combine(measured_on, datetime.min.time())))
                entry_id = self.id()
                self.tables["kpi_entry"].append((entry_id, account_id, metric.key, float(value),
                                                 measured_on.isoformat(), 10, 1, stamp, owner, stamp, owner,
                                                 self.template.step(10).key))
                self._audit(stamp, owner, "kpi.add", "kpi", entry_id, account_id, 10,
                            "{}", json.dumps({"measured_on": measured_on.isoformat(), "metric": metric.key,
                                              "value": str(value)}, sort_keys=True))

    def _objectives(self, run_id: str, account_id: str, owner: str, created: datetime, finished: bool) -> None:
        rng = self.rng
        for position in range(1, rng.randint(1, 3) + 1):
            stamp = _stamp(created + timedelta(days=rng.uniform(1, 60)))
            if rng.random() < 0.5:
                metric = rng.choice(METRICS)
                target_value = to_places(metric, metric.minimum + (min(metric.maximum, Decimal(10**8))
                                                                   - metric.minimum) * Decimal("0.75"))
                title, target, metric_key = f"Raise {metric.short}", str(target_value), metric.key
            else:
                title, target, metric_key, target_value = "Expand to a second site", "Signed by Q3", None, None
            due = (self.today + timedelta(days=rng.randint(-90, 270))).isoformat()
            achieved = (1 if rng.random() < 0.6 else 0) if finished else None
            objective_id = self.id()
            self.tables["objective"].append((
                objective_id, run_id, position, title, metric_key, target,
                float(target_value) if target_value is not None else None, due,
                "Done ahead of plan." if achieved else "", achieved, 1, stamp, owner, stamp, owner,
            ))
            self._audit(stamp, owner, "objective.add", "objective", objective_id,
                        account_id, 6, "{}", self._json(("objective", title, target),
                                                        {"title": title, "target": target}))


TABLES = ("account", "run", "step_state", "field_value", "approval_decision", "audit_event", "kpi_entry",
          "objective")
IDS_PER_CHUNK = 1 << 40  # each chunk numbers its ids from its own range: unique, and ordered chunk by chunk


def _insert_statement(connection: sqlite3.Connection, table: str) -> str:
    columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
    return f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'


def _fast(connection: sqlite3.Connection) -> None:
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "temp_store = MEMORY", "cache_size = -500000"):
        connection.execute(f"PRAGMA {pragma}")


def _build_part(job: tuple[str, list[str], int, int, int, str]) -> tuple[str, dict[str, int]]:
    """In a worker process: accounts `first`..`first + count` into a new part file with the given tables."""
    part, schema, seed, first, count, today = job
    portfolio = Portfolio(packaged_template(), seed * 1_000_003 + first, date.fromisoformat(today),
                          first_id=(first // CHUNK + 1) * IDS_PER_CHUNK)
    tables = portfolio.chunk(first, count)
    connection = sqlite3.connect(part, isolation_level=None)
    _fast(connection)
    connection.execute("BEGIN")
    for sql in schema:
        connection.execute(sql)
    for table, rows in tables.items():
        connection.executemany(_insert_statement(connection, table), rows)
    connection.execute("COMMIT")
    connection.close()
    return part, {table: len(rows) for table, rows in tables.items()}


def generate(path: Path, accounts: int, seed: int = 1, today: date | None = None, progress: bool = False,
             check: bool = False) -> dict[str, int]:
    """Create the database at `path` (which must not exist) with `accounts` accounts; returns rows per table."""
    if path.exists():
        raise SystemExit(f"{path} exists; generate into a new file")
    open_database(path)  # the app's own schema, at the latest version
    close_database()
    connection = sqlite3.connect(path, isolation_level=None)
    _fast(connection)
    schema = [sql for (sql,) in connection.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name IN (%s)" % ",".join("?" * len(TABLES)),
        TABLES)]
    # Secondary indexes are dropped for the load and built afterwards: sorting once beats millions of
    # inserts into them (the primary keys stay: they are part of each table).
    indexes = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                                 ).fetchall()
    counts = dict.fromkeys(TABLES, 0)
    today_text = (today or date.today()).isoformat()
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".generating-") as folder:
        jobs = [(str(Path(folder) / f"part-{first}.db"), schema, seed, first, min(CHUNK, accounts - first),
                 today_text) for first in range(0, accounts, CHUNK)]
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as workers:
            for done, (part, part_counts) in enumerate(workers.map(_build_part, jobs), start=1):
                connection.execute("ATTACH DATABASE ? AS part", (part,))
                connection.execute("BEGIN")
                for table in TABLES:
                    connection.execute(f'INSERT INTO main."{table}" SELECT * FROM part."{table}"')
                    counts[table] += part_counts[table]
                connection.execute("COMMIT")
                connection.execute("DETACH DATABASE part")
                os.unlink(part)
                if progress:
                    print(f"\r  {min(done * CHUNK, accounts):,} of {accounts:,} accounts", end="", file=sys.stderr,
                          flush=True)
        connection.execute("BEGIN")
        for _, sql in indexes:
            connection.execute(sql)
        connection.execute("COMMIT")
    if progress:
        print(file=sys.stderr)
    connection.execute("PRAGMA journal_mode = WAL")
    if check:
        ((verdict,),) = connection.execute("PRAGMA integrity_check(1)").fetchall()
        if verdict != "ok":
            raise SystemExit(f"the generated database failed its check: {verdict}")
    connection.close()
    open_database(path)  # rows went in without the services: the report summaries are built from them once
    with write_transaction():
        summaries.rebuild()
    close_database()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="run SQLite's integrity check on the result")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = generate(args.db, args.accounts, args.seed, progress=True, check=args.check)
    elapsed = time.perf_counter() - started
    print(f"{args.db}: {sum(counts.values()):,} rows in {elapsed:.1f} s "
          f"({', '.join(f'{table} {count:,}' for table, count in counts.items())}); "
          f"{args.db.stat().st_size / 1e6:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
