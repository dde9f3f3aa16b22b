"""A team database on PostgreSQL: its roles, the rules PostgreSQL itself enforces, and moving a personal
SQLite portfolio into it.

`acct-tui team init` (run by the database owner) creates the schema, two group roles and the rules:
- `acct_manager` works on accounts, steps, KPIs and objectives; it cannot insert an approval decision.
- `acct_approver` has everything a manager has, and decides gates.
- Triggers make the identity in the data the session user's (decisions, submissions, the audit log), refuse a
  decision on a gate whose covered steps the deciding login submitted (two people, always), and refuse a gate
  marked approved or rejected without a decision recorded in the same transaction.
- The team decides whether managers work on every account (`all`, the default) or only on the accounts whose
  owner is their login (`own`): `team init --managers own|all`. Approvers decide every account's gates, so
  they work on every account; so does the database owner. In `own` mode a trigger on each table that belongs
  to an account refuses, with a sentence naming the owner, a manager's insert, update or delete of another's
  account (a row-level-security policy would instead skip those rows without an error: the app would say
  "saved", psql "UPDATE 0").
So a login that bypasses the app (psql with the same password) meets the same refusals.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import peewee

from acct_tui.errors import DomainError, StoreUnavailable
from acct_tui.store.backend import explain_postgres, is_database_url
from acct_tui.store.db import (
    current_user,
    describe_database,
    latest_schema_version,
    open_database,
    resolve_database_path,
    retried_on_conflict,
    write_transaction,
)
from acct_tui.store import summaries
from acct_tui.store.models import ALL_MODELS, SchemaVersion
from acct_tui.workflow import APPROVED, REJECTED

MANAGER_ROLE = "acct_manager"
APPROVER_ROLE = "acct_approver"
ROLES = {"manager": MANAGER_ROLE, "approver": APPROVER_ROLE}
# What managers work on: every account, or only the accounts whose owner is their login.
MANAGERS_ALL = "all"
MANAGERS_OWN = "own"
MANAGER_SCOPES = (MANAGERS_ALL, MANAGERS_OWN)
# The team's settings: a table only the database owner writes (a session setting could be changed by anyone).
SETTINGS_TABLE = "team_setting"
# A transaction-local setting that lets the database owner (and only the owner) copy history recorded under
# other names: `team import` keeps who did what in the personal portfolio.
IMPORT_SETTING = "acct.importing"

_DATABASE_OWNER = "(SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database())"
_OWNER_IMPORTING = f"(current_setting('{IMPORT_SETTING}', true) = 'on' AND session_user = {_DATABASE_OWNER})"
# Tables whose rows belong to one account, and how a row names it.
_ACCOUNT_TABLES = {"account": "id", "run": "account_id", "kpi_entry": "account_id", "step_state": "run_id",
                   "field_value": "run_id", "objective": "run_id"}

TEAM_SCHEMA_SQL = (
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{MANAGER_ROLE}') THEN
            CREATE ROLE {MANAGER_ROLE} NOLOGIN;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APPROVER_ROLE}') THEN
            CREATE ROLE {APPROVER_ROLE} NOLOGIN;
        END IF;
    END $$""",
    f"GRANT {MANAGER_ROLE} TO {APPROVER_ROLE}",
    f"CREATE TABLE IF NOT EXISTS {SETTINGS_TABLE} (name VARCHAR(40) PRIMARY KEY, value TEXT NOT NULL)",
    f"INSERT INTO {SETTINGS_TABLE} (name, value) VALUES ('managers', '{MANAGERS_ALL}') ON CONFLICT DO NOTHING",
    f"GRANT USAGE ON SCHEMA public TO {MANAGER_ROLE}",
    f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {MANAGER_ROLE}",
    f"GRANT INSERT, UPDATE ON account, run, step_state, field_value, kpi_entry, objective TO {MANAGER_ROLE}",
    f"GRANT DELETE ON kpi_entry, objective TO {MANAGER_ROLE}",
    f"GRANT INSERT ON audit_event TO {MANAGER_ROLE}",
    # every change also writes the sync change log (acct_tui.sync), in the same transaction
    f"GRANT INSERT, UPDATE, DELETE ON sync_replica, sync_change, sync_tip TO {MANAGER_ROLE}",
    # and the report summaries (acct_tui.store.summaries)
    f"GRANT INSERT, UPDATE, DELETE ON summary_part, summary_total TO {MANAGER_ROLE}",
    f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {MANAGER_ROLE}",
    f"GRANT INSERT ON approval_decision TO {APPROVER_ROLE}",
    f"""CREATE OR REPLACE FUNCTION acct_decision_rules() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        submitter text;
    BEGIN
        IF {_OWNER_IMPORTING} THEN
            RETURN NEW;
        END IF;
        NEW.approver := session_user;
        SELECT submitted_by INTO submitter FROM step_state WHERE run_id = NEW.run_id AND number = NEW.step;
        IF submitter = session_user THEN
            RAISE EXCEPTION 'You submitted step % for approval (you completed the last step it covers): another '
                'approver must decide it.', NEW.step;
        END IF;
        RETURN NEW;
    END $$""",
    "DROP TRIGGER IF EXISTS acct_decision_rules ON approval_decision",
    ("CREATE TRIGGER acct_decision_rules BEFORE INSERT ON approval_decision "
     "FOR EACH ROW EXECUTE FUNCTION acct_decision_rules()"),
    f"""CREATE OR REPLACE FUNCTION acct_step_rules() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF {_OWNER_IMPORTING} THEN
            RETURN NEW;
        END IF;
        IF NEW.submitted_by IS DISTINCT FROM OLD.submitted_by OR NEW.submitted_at IS DISTINCT FROM OLD.submitted_at
        THEN
            NEW.submitted_by := session_user;
        END IF;
        IF NEW.finished_by IS DISTINCT FROM OLD.finished_by THEN
            NEW.finished_by := session_user;
        END IF;
        IF NEW.status IN ('{APPROVED}', '{REJECTED}') AND NEW.status IS DISTINCT FROM OLD.status
           AND NOT EXISTS (SELECT 1 FROM approval_decision
                           WHERE run_id = NEW.run_id AND step = NEW.number
                             AND xmin::text = pg_current_xact_id()::xid::text) THEN
            RAISE EXCEPTION 'Step % can only be decided by recording an approval decision.', NEW.number;
        END IF;
        RETURN NEW;
    END $$""",
    "DROP TRIGGER IF EXISTS acct_step_rules ON step_state",
    "CREATE TRIGGER acct_step_rules BEFORE UPDATE ON step_state FOR EACH ROW EXECUTE FUNCTION acct_step_rules()",
    f"""CREATE OR REPLACE FUNCTION acct_audit_rules() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT {_OWNER_IMPORTING} THEN
            NEW.actor := session_user;
        END IF;
        RETURN NEW;
    END $$""",
    "DROP TRIGGER IF EXISTS acct_audit_rules ON audit_event",
    "CREATE TRIGGER acct_audit_rules BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION acct_audit_rules()",
    # Whether the session user may change an account owned by `account_owner`.
    f"""CREATE OR REPLACE FUNCTION acct_works_on(account_owner text) RETURNS boolean LANGUAGE sql STABLE AS $$
        SELECT account_owner = session_user
            OR (SELECT value FROM {SETTINGS_TABLE} WHERE name = 'managers') IS DISTINCT FROM '{MANAGERS_OWN}'
            OR pg_has_role(session_user, '{APPROVER_ROLE}', 'MEMBER')
            OR session_user = {_DATABASE_OWNER}
    $$""",
    f"""CREATE OR REPLACE FUNCTION acct_ownership_rules() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        changed jsonb;
        account_owner text;
        account_name text;
    BEGIN
        IF acct_works_on(NULL) THEN  -- true whoever owns the account: no need to look the owner up
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END IF;
        IF TG_TABLE_NAME = 'account' AND TG_OP = 'INSERT' THEN  -- (NEW.owner exists only for an account)
            IF NEW.owner = '' THEN
                NEW.owner := session_user;  -- a manager's new account is theirs
            END IF;
        END IF;
        FOREACH changed IN ARRAY ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
                                       CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END] LOOP
            CONTINUE WHEN changed IS NULL;
            IF TG_TABLE_NAME = 'account' THEN
                account_owner := changed->>'owner';
                account_name := changed->>'name';
            ELSE
                SELECT owner, name INTO account_owner, account_name FROM account
                WHERE id = COALESCE((changed->>'account_id')::uuid,
                                    (SELECT account_id FROM run WHERE id = (changed->>'run_id')::uuid));
            END IF;
            IF NOT acct_works_on(account_owner) THEN
                RAISE EXCEPTION '“%” belongs to %: in this team managers work only on the accounts they own.',
                    account_name, COALESCE(NULLIF(account_owner, ''), 'nobody');
            END IF;
        END LOOP;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END $$""",
    *(statement for table in _ACCOUNT_TABLES for statement in (
        f"DROP TRIGGER IF EXISTS acct_ownership_rules ON {table}",
        f"CREATE TRIGGER acct_ownership_rules BEFORE INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION acct_ownership_rules()",
    )),
)


def refuse_on_team_database(cli_db: str | None, command: str) -> None:
    """`db backup` and `db check` work on a file; a team database has PostgreSQL's own tools for both."""
    target = resolve_database_path(cli_db)
    if not is_database_url(target):
        return
    shown = describe_database(target)
    if command == "backup":
        advice = (f"back it up with PostgreSQL's own tool, as the database owner: pg_dump --format=custom "
                  f"--file=acct.dump '{shown}' (restore with pg_restore)")
    else:
        advice = (f"PostgreSQL checks its own pages; to check the indexes run pg_amcheck '{shown}', and "
                  "`acct-tui accounts list` shows whether you can connect and read it")
    raise DomainError(f"{shown} is a team database on PostgreSQL: {advice}.")


def _team_database(cli_db: str | None) -> peewee.Database:
    target = resolve_database_path(cli_db)
    if not is_database_url(target):
        raise DomainError("Team commands work on a PostgreSQL database: give its URL with --db "
                          "(for example --db postgresql://host/acct) or in ACCT_TUI_DB.")
    return open_database(target)


@retried_on_conflict
def init_team(cli_db: str | None, managers: str | None = None) -> str:
    """Create (or bring up to date) the schema, the roles, their grants and the rules, and set what managers
    work on when `managers` is given. Run it again after an upgrade: every statement can be repeated.
    Returns what managers work on now."""
    import psycopg

    if managers is not None and managers not in MANAGER_SCOPES:
        raise DomainError(f"“{managers}” is not a choice for managers: {' or '.join(MANAGER_SCOPES)}.")
    db = _team_database(cli_db)
    with write_transaction():
        cursor = db.cursor()  # the statements hold % signs of PL/pgSQL: sent without parameters, as written
        try:
            for statement in TEAM_SCHEMA_SQL:
                cursor.execute(statement)
        except psycopg.Error as error:  # the cursor is the driver's own: Peewee does not wrap its errors
            raise explain_postgres(error, describe_database(db.database)) from None
        name = db.execute_sql("SELECT current_database()").fetchone()[0]
        db.execute_sql(f"GRANT CONNECT ON DATABASE {_quoted(name)} TO {MANAGER_ROLE}, {APPROVER_ROLE}")
        if managers is not None:
            db.execute_sql(f"UPDATE {SETTINGS_TABLE} SET value = %s WHERE name = 'managers'", (managers,))
        return db.execute_sql(f"SELECT value FROM {SETTINGS_TABLE} WHERE name = 'managers'").fetchone()[0]


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@retried_on_conflict
def grant_role(cli_db: str | None, login: str, role: str) -> str:
    """Make `login` (a PostgreSQL login role) a member of the team role for `role`; returns that group role."""
    if role not in ROLES:
        raise DomainError(f"“{role}” is not a team role: choose {' or '.join(ROLES)}.")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.@-]{0,62}", login):
        raise DomainError(f"“{login[:70]}” is not a PostgreSQL login name.")
    db = _team_database(cli_db)
    exists = db.execute_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone()
    if not exists:
        raise DomainError(f"PostgreSQL has no login named “{login}”: create it first (createuser {login}, "
                          "then give it a password), and grant it again.")
    with write_transaction():
        db.execute_sql(f"GRANT {ROLES[role]} TO {_quoted(login)}")
    return ROLES[role]


@dataclass(frozen=True, slots=True)
class Imported:
    """How many rows of each table the import added (all zero when the portfolio was imported before)."""

    rows: dict[str, int]

    @property
    def accounts(self) -> int:
        return self.rows.get("account", 0)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _read_portfolio(path: Path) -> dict[type[peewee.Model], list[dict]]:
    """Every row of a personal SQLite portfolio, read through a read-only connection, as Python values."""
    from acct_tui.store.db import _inspect_existing

    if not path.is_file():
        raise DomainError(f"There is no acct-tui database at {path}.")
    try:
        _inspect_existing(path)
    except OSError as error:
        raise DomainError(f"{path} cannot be read ({error}).") from None
    source = peewee.SqliteDatabase(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        with source.bind_ctx(ALL_MODELS):
            version = SchemaVersion.select(peewee.fn.MAX(SchemaVersion.version)).scalar()
            if version != latest_schema_version():
                raise DomainError(f"{path} has schema {version}; open it once with `acct-tui --db {path} accounts "
                                  f"list` to bring it to schema {latest_schema_version()}, then import it.")
            return {model: list(model.select().dicts()) for model in ALL_MODELS if model is not SchemaVersion}
    except (peewee.DatabaseError, sqlite3.DatabaseError) as error:
        raise StoreUnavailable(f"{path} cannot be read as an acct-tui database ({error}).", exit_code=4) from None
    finally:
        source.close()


@retried_on_conflict
def import_portfolio(cli_db: str | None, file: str | os.PathLike[str]) -> Imported:
    """Copy a personal SQLite portfolio into the team database with its ids and its whole history. Rows
    already there (same id) are left as they are, so importing twice changes nothing."""
    from acct_tui.store.models import Account

    rows = _read_portfolio(Path(file).expanduser())
    db = _team_database(cli_db)
    added: dict[str, int] = {}
    owner = db.execute_sql("SELECT pg_get_userbyid(datdba) FROM pg_database "
                           "WHERE datname = current_database()").fetchone()[0]
    if owner != current_user():
        raise DomainError(f"Importing keeps who did what, so only the database owner ({owner}) may do it: "
                          "ask them to run `acct-tui team import FILE`.")
    with write_transaction():
        db.execute_sql(f"SELECT set_config('{IMPORT_SETTING}', 'on', true)")
        clashes = _name_clashes(rows[Account])
        if clashes:
            raise DomainError(
                f"The team database already has other accounts named {', '.join(clashes[:5])}"
                f"{' and more' if len(clashes) > 5 else ''}: rename them in one of the two, then import again."
            )
        for model, records in rows.items():
            count = 0
            for start in range(0, len(records), 500):
                batch = records[start:start + 500]
                count += model.insert_many(batch).on_conflict_ignore().as_rowcount().execute()
            added[model._meta.table_name] = count
        summaries.refresh(record["id"] for record in rows[Account])
    return Imported(added)


def _name_clashes(accounts: list[dict]) -> list[str]:
    from acct_tui.store.models import Account

    by_key = {record["name_key"]: record for record in accounts}
    existing = Account.select(Account.id, Account.name_key, Account.name).where(
        Account.name_key.in_(list(by_key))).tuples()
    return sorted(f"“{name}”" for account_id, key, name in existing if account_id != by_key[key]["id"])


__all__ = ["MANAGER_SCOPES", "ROLES", "Imported", "grant_role", "import_portfolio", "init_team",
           "refuse_on_team_database"]
