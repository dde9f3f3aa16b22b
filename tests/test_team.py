"""The team database on PostgreSQL: identity from the server, roles PostgreSQL enforces (through the app and
with raw SQL on the same login), races between sessions, importing a personal portfolio, one-line errors."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from processes import acct, child_env

from acct_tui.errors import DomainError, StaleEdit, StoreUnavailable
from acct_tui.store import queries, services, summaries
from acct_tui.store.backend import EXIT_NO_SUCH_DATABASE, EXIT_PERMISSION_DENIED, EXIT_SERVER_UNREACHABLE
from acct_tui.store.db import EXIT_NEWER_SCHEMA, close_database, current_user, open_database
from acct_tui.store.models import Account, ApprovalDecision, AuditEvent, FieldValue, StepState, database
from acct_tui.store.team import grant_role, import_portfolio, init_team
from acct_tui.template import NOTES_KEY
from acct_tui.workflow import APPROVED, PENDING, REJECTED

pytestmark = pytest.mark.postgres_only


@dataclass
class Team:
    server: object
    name: str

    def url(self, login: str) -> str:
        return self.server.url(self.name, login)

    def login(self, login: str) -> None:
        """Continue the test as `login`, in a new session."""
        close_database()
        open_database(self.url(login))

    def raw(self, login: str, sql: str, *params: object) -> None:
        """One statement through psycopg as `login`, as psql would send it."""
        import psycopg

        with psycopg.connect(self.url(login), autocommit=True) as connection:
            connection.execute(sql, params or None)


@pytest.fixture
def team(backend, postgres_server, postgres_url) -> Team:
    """A team database set up by its owner (`tester`): mia manages, ann and ray approve."""
    init_team(postgres_url)
    grant_role(postgres_url, "mia", "manager")
    grant_role(postgres_url, "ann", "approver")
    grant_role(postgres_url, "ray", "approver")
    close_database()
    return Team(postgres_server, urlsplit(postgres_url).path.lstrip("/"))


def submitted_gate(actor_login: str, team: Team, name: str = "Acme") -> uuid.UUID:
    """As `actor_login`: an account whose steps 1-4 are done, so approval 5 waits in the queue; its run id."""
    team.login(actor_login)
    run_id = queries.account_detail(services.create_account(name)).run_id
    services.set_field(run_id, 4, "satisfaction", "Satisfied")
    for step in (1, 2, 3, 4):
        services.complete_step(run_id, step)
    return run_id


def gate_status(run_id: uuid.UUID, step: int = 5) -> str:
    return StepState.get((StepState.run == run_id) & (StepState.number == step)).status


# Identity and roles ---------------------------------------------------------------------------------------

def test_the_actor_is_the_session_user_whatever_the_environment_says(team, monkeypatch):
    monkeypatch.setenv("ACCT_TUI_USER", "someone-else")
    run_id = submitted_gate("mia", team)
    assert current_user() == "mia"
    assert {event.actor for event in AuditEvent.select()} == {"mia"}
    assert StepState.get((StepState.run == run_id) & (StepState.number == 5)).submitted_by == "mia"
    # Raw SQL cannot write history in another's name either.
    team.raw("mia", "INSERT INTO audit_event (id, at, actor, action, entity, entity_id, before, after) "
                    "VALUES (%s, now(), 'ann', 'forged', 'account', %s, '{}', '{}')", uuid.uuid4(), uuid.uuid4())
    assert AuditEvent.get(AuditEvent.action == "forged").actor == "mia"


def test_a_manager_cannot_decide_a_gate_through_the_app_or_with_sql(team):
    run_id = submitted_gate("mia", team)
    with pytest.raises(StoreUnavailable, match="acct_approver") as refusal:
        services.approve(run_id, 5)
    assert refusal.value.exit_code == EXIT_PERMISSION_DENIED
    with pytest.raises(Exception, match="permission denied for table approval_decision"):
        team.raw("mia", "INSERT INTO approval_decision (id, run_id, step, decision, approver, comment, decided_at) "
                        "VALUES (%s, %s, 5, 'approved', 'ann', '', now())", uuid.uuid4(), run_id)
    with pytest.raises(Exception, match="can only be decided by recording an approval decision"):
        team.raw("mia", "UPDATE step_state SET status = 'approved' WHERE run_id = %s AND number = 5", run_id)
    assert gate_status(run_id) == PENDING and ApprovalDecision.select().count() == 0


def test_nobody_decides_a_gate_they_submitted_through_the_app_or_with_sql(team):
    run_id = submitted_gate("ann", team)
    for decide in (lambda: services.approve(run_id, 5), lambda: services.reject(run_id, 5, "Redo it")):
        with pytest.raises(DomainError, match="You submitted step 5"):
            decide()
    # Claiming someone else submitted it does not help: the submitter recorded is always the session user.
    team.raw("ann", "UPDATE step_state SET submitted_by = 'mia' WHERE run_id = %s AND number = 5", run_id)
    with pytest.raises(Exception, match="You submitted step 5"):
        team.raw("ann", "INSERT INTO approval_decision (id, run_id, step, decision, approver, comment, decided_at) "
                        "VALUES (%s, %s, 5, 'approved', 'ray', '', now())", uuid.uuid4(), run_id)
    assert gate_status(run_id) == PENDING and ApprovalDecision.select().count() == 0
    # Another approver decides it, in their own name whatever the app is told.
    team.login("ray")
    services.approve(run_id, 5, actor="ann")
    assert gate_status(run_id) == APPROVED
    assert [decision.approver for decision in ApprovalDecision.select()] == ["ray"]


def test_in_own_mode_a_manager_changes_only_their_own_accounts_through_the_app_or_with_sql(team):
    result = acct("team", "init", "--managers", "own", db=team.url("tester"))
    assert result.returncode == 0 and "managers work on only the accounts they own" in result.stdout
    team.login("tester")
    theirs = services.create_account("Theirs", owner="ray")
    theirs_run = queries.account_detail(theirs).run_id
    team.login("mia")
    mine = services.create_account("Mine")
    assert Account.get_by_id(mine).owner == "mia"  # a manager's new account is theirs
    services.set_field(queries.account_detail(mine).run_id, 1, NOTES_KEY, "Kick-off booked")
    refused = "“Theirs” belongs to ray: in this team managers work only on the accounts they own"
    for attempt in (lambda: services.edit_account(theirs, industry="Retail"),
                    lambda: services.set_field(theirs_run, 1, NOTES_KEY, "Taken over"),
                    lambda: services.complete_step(theirs_run, 1)):
        with pytest.raises(DomainError, match=refused):
            attempt()
    with pytest.raises(DomainError, match="managers work only on the accounts they own"):
        services.edit_account(mine, owner="ray")  # nor hands their own to someone else
    for sql in ("UPDATE account SET industry = 'Retail' WHERE id = %s",
                "UPDATE step_state SET status = 'done' WHERE number = 1 AND run_id = "
                "(SELECT id FROM run WHERE account_id = %s)",
                "UPDATE run SET done_count = 20 WHERE account_id = %s"):
        with pytest.raises(Exception, match=refused):
            team.raw("mia", sql, theirs)
    assert Account.get_by_id(theirs).industry == "" and gate_status(theirs_run, 1) != "done"
    assert FieldValue.select().where((FieldValue.run == theirs_run) & (FieldValue.key == NOTES_KEY)).count() == 0
    # Approvers decide every account's gates, so they work on every account.
    team.login("ann")
    services.edit_account(theirs, industry="Retail")
    # And when the team lets managers work on all accounts, mia may too.
    init_team(team.url("tester"), managers="all")
    team.login("mia")
    services.edit_account(theirs, industry="Media")
    assert Account.get_by_id(theirs).industry == "Media"


def test_team_init_by_someone_else_than_the_owner_is_refused_in_one_line(team):
    result = acct("team", "init", db=team.url("mia"))
    assert result.returncode == EXIT_PERMISSION_DENIED
    assert "for its owner" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_login_without_a_team_role_is_told_which_role_it_needs(team):
    result = acct("accounts", "list", db=team.url("nobody"))
    assert result.returncode == EXIT_PERMISSION_DENIED
    assert "acct_manager" in result.stderr and "team grant" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_names_sort_as_on_sqlite_whatever_the_server_collation(db, backend):
    names = ["zeta", "Émile", "apple", "Banana", "_under", "10 Downing", "éclair", "Zulu"]
    for name in names:
        services.create_account(name)
    # SQLite compares the casefolded names byte by byte (UTF-8), which is code point order
    assert [row.name for row in queries.account_rows()] == sorted(names, key=str.casefold)


def test_libpq_fills_in_what_the_url_leaves_out(postgres_server, postgres_url, tmp_path, monkeypatch):
    """A service name from the service file, and PG* variables: libpq's own ways, untouched by acct-tui."""
    name = urlsplit(postgres_url).path.lstrip("/")
    services_file = tmp_path / "pg_service.conf"
    services_file.write_text(f"[acct]\nhost={postgres_server.socket_dir}\ndbname={name}\nuser=tester\n")
    monkeypatch.setenv("PGSERVICEFILE", str(services_file))
    open_database("postgresql:///?service=acct")
    services.create_account("Through the service file")
    close_database()
    for variable, value in (("PGHOST", str(postgres_server.socket_dir)), ("PGDATABASE", name), ("PGUSER", "tester")):
        monkeypatch.setenv(variable, value)
    open_database("postgres://")
    assert [row.name for row in queries.account_rows()] == ["Through the service file"]


def test_amounts_read_back_as_on_sqlite(db, backend):
    """SQLite stores 45776000.00 as 45776000 and 2.50 as 2.5: reports and exports show them so on both."""
    for name, revenue in (("Round", "45776000.00"), ("Half", "2.50"), ("Cents", "1250000.05")):
        services.create_account(name, annual_revenue=revenue)
    shown = {account.name: str(account.annual_revenue) for account in Account.select()}
    assert shown == {"Round": "45776000", "Half": "2.5", "Cents": "1250000.05"}


# Races between sessions: the advisory lock makes each read-check-write see the other's commit ------------

def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls at once, each on its own thread (so its own connection); their results or errors."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            outcomes[index] = call()
        except DomainError as error:
            outcomes[index] = error
        finally:
            database.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def refusals(outcomes: list[object]) -> list[DomainError]:
    return [outcome for outcome in outcomes if isinstance(outcome, DomainError)]


def test_approve_and_reject_of_one_gate_at_once_record_one_decision(db, backend):
    run_id = queries.account_detail(services.create_account("Acme")).run_id
    services.set_field(run_id, 4, "satisfaction", "Satisfied")
    for step in (1, 2, 3, 4):
        services.complete_step(run_id, step)
    outcomes = race(lambda: services.approve(run_id, 5, actor="ann"),
                    lambda: services.reject(run_id, 5, "No", actor="ray"))
    assert len(refusals(outcomes)) == 1
    [decision] = ApprovalDecision.select()
    assert gate_status(run_id) == (APPROVED if decision.decision == APPROVED else REJECTED)


def test_first_saves_of_one_field_at_once_keep_one_and_tell_the_other(db, backend):
    run_id = queries.account_detail(services.create_account("Acme")).run_id
    outcomes = race(*(lambda text=text: services.set_field(run_id, 1, NOTES_KEY, text, expected_version=0)
                      for text in ("left", "right")))
    [refused] = refusals(outcomes)
    assert isinstance(refused, StaleEdit)
    [saved] = FieldValue.select().where(FieldValue.key == NOTES_KEY)
    assert saved.version == 1 and saved.value == refused.current_value


def test_two_edits_of_one_version_at_once_lose_no_text(db, backend):
    run_id = queries.account_detail(services.create_account("Acme")).run_id
    services.set_field(run_id, 1, NOTES_KEY, "base")
    outcomes = race(*(lambda text=text: services.set_field(run_id, 1, NOTES_KEY, text, expected_version=1)
                      for text in ("left", "right")))
    [refused] = refusals(outcomes)
    assert isinstance(refused, StaleEdit) and refused.current_version == 2
    saved = FieldValue.get(FieldValue.key == NOTES_KEY)
    assert saved.version == 2 and saved.value in ("left", "right")


# Importing a personal portfolio ---------------------------------------------------------------------------

@pytest.fixture
def personal_portfolio(tmp_path: Path) -> Path:
    """A personal SQLite portfolio with history: two accounts, a gate submitted by alice and approved by bob."""
    path = tmp_path / "personal" / "acct.db"
    open_database(path)
    run_id = queries.account_detail(services.create_account("Acme", owner="alice")).run_id
    services.create_account("Fabrikam", owner="bob")
    services.set_field(run_id, 4, "satisfaction", "Satisfied", actor="alice")
    for step in (1, 2, 3, 4):
        services.complete_step(run_id, step, actor="alice")
    services.approve(run_id, 5, "Fine", actor="bob")
    close_database()
    return path


def snapshot() -> tuple:
    return (sorted((str(a.id), a.name) for a in Account.select()),
            sorted((str(d.id), d.approver) for d in ApprovalDecision.select()),
            sorted((str(e.id), e.actor, e.action) for e in AuditEvent.select()))


def test_import_keeps_ids_and_history_and_a_second_run_changes_nothing(team, personal_portfolio):
    open_database(personal_portfolio)
    expected = snapshot()
    close_database()
    url = team.url("tester")
    first = import_portfolio(url, personal_portfolio)
    assert first.accounts == 2 and first.total > 40
    assert snapshot() == expected  # same ids, and bob's decision is still bob's
    assert summaries.differences() == []  # imported records come with their report summaries
    assert import_portfolio(url, personal_portfolio).total == 0
    assert snapshot() == expected


def test_only_the_database_owner_imports(team, personal_portfolio):
    with pytest.raises(DomainError, match="only the database owner"):
        import_portfolio(team.url("ann"), personal_portfolio)
    assert Account.select().count() == 0


def test_two_imports_at_once_import_once(team, personal_portfolio):
    command = [sys.executable, "-m", "acct_tui", "--db", team.url("tester"), "team", "import",
               str(personal_portfolio)]
    imports = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=child_env()) for _ in range(2)]
    results = [process.communicate(timeout=60) for process in imports]
    assert [process.returncode for process in imports] == [0, 0], results
    said = sorted(output.split()[0] for output, _ in results)
    assert said == ["Imported", "Nothing"]
    team.login("tester")
    assert Account.select().count() == 2 and ApprovalDecision.select().count() == 1


def test_import_refuses_an_account_name_already_taken_by_another_account(team, personal_portfolio):
    team.login("mia")
    services.create_account("ACME")
    with pytest.raises(DomainError, match="“ACME”"):
        import_portfolio(team.url("tester"), personal_portfolio)
    assert [a.name for a in Account.select()] == ["ACME"]


# Errors in one line, with their own exit codes, and never a password -----------------------------------------

def test_an_unreachable_server_is_its_own_exit_code_and_the_password_is_masked():
    result = acct("accounts", "list", db="postgresql://bob:s3cret@127.0.0.1:1/acct")
    assert result.returncode == EXIT_SERVER_UNREACHABLE
    assert "cannot be reached" in result.stderr and "s3cret" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_database_and_a_newer_schema_have_their_own_exit_codes(postgres_server, postgres_url):
    missing = acct("accounts", "list", db=postgres_server.url("no_such_db"))
    assert missing.returncode == EXIT_NO_SUCH_DATABASE and "does not exist" in missing.stderr
    open_database(postgres_url)
    database.execute_sql("INSERT INTO schema_version (version, description, applied_at) VALUES (99, 'x', now())")
    close_database()
    newer = acct("accounts", "list", db=postgres_url)
    assert newer.returncode == EXIT_NEWER_SCHEMA and "newer acct-tui" in newer.stderr


def test_a_refused_password_has_its_own_exit_code():
    import peewee

    from acct_tui.store.backend import EXIT_AUTHENTICATION_FAILED, explain_postgres

    refused = peewee.OperationalError('connection failed: connection to server at "db" (10.0.0.5), port 5432 '
                                      'failed: FATAL:  password authentication failed for user "bob"')
    explained = explain_postgres(refused, "postgresql://bob:********@db/acct")
    assert explained.exit_code == EXIT_AUTHENTICATION_FAILED and "authentication failed" in str(explained)


def test_backup_and_check_say_what_to_run_on_a_team_database(postgres_url):
    for command, tool in ((("db", "backup", "x.db"), "pg_dump"), (("db", "check"), "pg_amcheck")):
        result = acct(*command, db=postgres_url.replace("tester@", "tester:pw@"))
        assert result.returncode == 2 and tool in result.stderr and "Traceback" not in result.stderr
        assert ":pw@" not in result.stderr


def test_a_dropped_connection_reconnects_and_the_watcher_catches_up(db, backend, postgres_server):
    from acct_tui.store.db import data_version

    services.create_account("Acme")
    seen = data_version()
    name = urlsplit(db.database).path.lstrip("/")
    postgres_server.admin(f"SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{name}'")
    assert [row.name for row in queries.account_rows()] == ["Acme"]  # a read after the drop reconnects
    # The listener, on its own thread, reconnects too and tells the screens to reload.
    deadline = time.monotonic() + 30
    while data_version() == seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert data_version() != seen


def test_a_write_after_a_dropped_connection_reconnects(db, backend, postgres_server):
    services.create_account("Before the drop")
    name = urlsplit(db.database).path.lstrip("/")
    postgres_server.admin(f"SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{name}'")
    services.create_account("After the drop")
    assert [row.name for row in queries.account_rows()] == ["After the drop", "Before the drop"]


async def test_in_the_app_an_approver_decides_anothers_submission_but_not_their_own(team):
    from acct_tui.app import AcctApp
    from tests.ui_support import screen_text, settle

    mias = submitted_gate("mia", team, "Beta")
    anns = submitted_gate("ann", team, "Alpha")  # the test goes on as ann
    app = AcctApp(team.url("ann"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")  # the queue, oldest first: mia's Beta, then ann's own Alpha
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert gate_status(mias) == APPROVED
        assert "Approved “Approval: Account Status” for Beta." in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert "You submitted step 5 for approval" in screen_text(app)
        assert "▶ Alpha · step 5 · Approval: Account Status" in screen_text(app)
    assert gate_status(anns) == PENDING
    assert [(decision.approver, decision.run_id) for decision in ApprovalDecision.select()] == [("ann", mias)]


async def test_notes_typed_while_another_session_holds_the_write_lock_are_held_and_saved_after(db, backend):
    """As on SQLite (tests/test_held_edits.py): the app waits briefly for another session's write lock, then
    says it is waiting and holds the text, and the save lands once the lock is let go."""
    import psycopg

    from acct_tui.app import WAITING_STATUS, AcctApp
    from acct_tui.store.backend import WRITE_LOCK_KEY
    from tests.test_checklist_screen import open_checklist, stored
    from tests.ui_support import screen_text, settle, shows, type_text, wait_for

    account = services.create_account("Northwind")
    app = AcctApp(db.database, watch_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        await pilot.press("enter")
        with psycopg.connect(db.database) as other:  # another session, writing
            other.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            await type_text(pilot, "typed while locked")
            await pilot.press("escape")  # leaving the notes saves them
            await shows(pilot, WAITING_STATUS)
            assert [edit.value for edit in app.held.edits()] == ["typed while locked"]
            assert stored(account, 1, "notes") == ""
        await wait_for(pilot, lambda: not app.writer.waiting)
        await settle(pilot)
        assert WAITING_STATUS not in screen_text(app)
        assert app.held.edits() == []
    assert stored(account, 1, "notes") == "typed while locked"


async def test_notes_typed_while_the_server_is_away_are_held_and_saved_when_it_is_back(db, backend,
                                                                                        postgres_server):
    from acct_tui.app import SERVER_AWAY_STATUS, AcctApp
    from tests.test_checklist_screen import open_checklist, stored
    from tests.ui_support import screen_text, settle, shows, type_text, wait_for

    account = services.create_account("Northwind")
    name = urlsplit(db.database).path.lstrip("/")
    app = AcctApp(db.database, watch_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_checklist(pilot, account)
        await pilot.press("enter")
        postgres_server.admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false",
                              f"SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{name}'")
        await type_text(pilot, "typed while away")
        await pilot.press("escape")  # leaving the notes saves them
        await shows(pilot, SERVER_AWAY_STATUS)
        assert [edit.value for edit in app.held.edits()] == ["typed while away"]
        postgres_server.admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        await wait_for(pilot, lambda: not app.writer.waiting)
        await settle(pilot)
        assert SERVER_AWAY_STATUS not in screen_text(app)
        assert app.held.edits() == []
    assert stored(account, 1, "notes") == "typed while away"
