"""A write transaction PostgreSQL aborts for colliding with another session (a serialization failure, a
deadlock) runs again whole, from the start of its service, without the user hearing of it; a bounded number
of times."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from acct_tui.store import db as store_db
from acct_tui.store import services
from acct_tui.store.backend import WRITE_LOCK_KEY, WriteConflict
from acct_tui.store.db import CONFLICT_ATTEMPTS, EXIT_BUSY, retried_on_conflict, write_transaction
from acct_tui.store.models import Account, AuditEvent, database

LOCK_WAIT_TIMEOUT_SECONDS = 30


class Background:
    """A call on a thread of its own (so a connection of its own), for a session that will wait on a lock."""

    def __init__(self, call: Callable[[], object]) -> None:
        self.outcome: object = None
        self._thread = threading.Thread(target=self._run, args=(call,))
        self._thread.start()

    def _run(self, call: Callable[[], object]) -> None:
        try:
            self.outcome = call()
        except Exception as error:  # noqa: BLE001  (the test asserts on whatever came out)
            self.outcome = error
        finally:
            database.close()

    def result(self) -> object:
        self._thread.join(timeout=60)
        return self.outcome


def counting_attempts(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """Each time `edit_account` reads its account (once per attempt of its transaction), an entry."""
    reads: list[uuid.UUID] = []
    read_account = services._get_account

    def counted(account_id):
        reads.append(account_id)
        return read_account(account_id)

    monkeypatch.setattr(services, "_get_account", counted)
    return reads


def wait_until_a_session_waits_for_a_lock(server, name: str) -> None:
    import psycopg

    deadline = time.monotonic() + LOCK_WAIT_TIMEOUT_SECONDS
    with psycopg.connect(server.url(name, "postgres"), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                      "AND wait_event_type = 'Lock'", (name,)).fetchone()[0]
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the app's write never waited for the other session's lock")


def database_name(db) -> str:
    return urlsplit(db.database).path.lstrip("/")


def assert_edited_once_keeping_the_other_sessions_change(account_id: uuid.UUID) -> None:
    account = Account.get_by_id(account_id)
    # The attempt that failed had read the industry before the other session changed it; only the attempt
    # that ran again from the start, on fresh data, was kept.
    assert (account.owner, account.industry, account.version) == ("Mia", "Retail", 2)
    assert AuditEvent.select().where(AuditEvent.action == "account.edit").count() == 1


@pytest.mark.postgres_only
def test_a_write_aborted_as_a_serialization_failure_runs_again_whole(db, backend, postgres_server, monkeypatch):
    import psycopg

    account_id = services.create_account("Acme", industry="Software")
    name = database_name(db)
    # A team may run every transaction SERIALIZABLE; new sessions take it.
    postgres_server.admin(f"ALTER DATABASE {name} SET default_transaction_isolation = 'serializable'")
    attempts = counting_attempts(monkeypatch)
    with psycopg.connect(postgres_server.url(name, "postgres")) as other:
        other.execute("UPDATE account SET industry = 'Retail' WHERE id = %s", (account_id,))
        edit = Background(lambda: services.edit_account(account_id, owner="Mia"))
        wait_until_a_session_waits_for_a_lock(postgres_server, name)
        other.commit()  # the app's transaction began before this commit: it cannot be serialised after it
    assert edit.result() == 2
    assert len(attempts) == 2
    assert_edited_once_keeping_the_other_sessions_change(account_id)


@pytest.mark.postgres_only
def test_a_write_chosen_as_a_deadlock_victim_runs_again_whole(db, backend, postgres_server, monkeypatch):
    import psycopg

    account_id = services.create_account("Acme", industry="Software")
    name = database_name(db)
    attempts = counting_attempts(monkeypatch)
    with psycopg.connect(postgres_server.url(name, "postgres")) as other:
        # The app's session looks for deadlocks after PostgreSQL's default second: it finds this one first
        # and is the transaction PostgreSQL aborts.
        other.execute("SET deadlock_timeout = '60s'")
        other.execute("UPDATE account SET industry = 'Retail' WHERE id = %s", (account_id,))
        edit = Background(lambda: services.edit_account(account_id, owner="Mia"))
        wait_until_a_session_waits_for_a_lock(postgres_server, name)  # the app holds the write lock, waits for the row
        other.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))  # and this waits for the app: a cycle
        other.commit()
    assert edit.result() == 2
    assert len(attempts) == 2
    assert_edited_once_keeping_the_other_sessions_change(account_id)


def test_a_conflict_every_time_is_given_up_after_a_few_attempts(db, monkeypatch):
    monkeypatch.setattr(store_db, "CONFLICT_PAUSE_SECONDS", 0)
    calls = []

    @retried_on_conflict
    def always_collides() -> None:
        calls.append(1)
        raise WriteConflict("Another session changed the same data at the same moment.", exit_code=EXIT_BUSY)

    with pytest.raises(WriteConflict):
        always_collides()
    assert len(calls) == CONFLICT_ATTEMPTS


def test_a_conflict_inside_another_services_transaction_runs_the_outer_service_again(db, monkeypatch):
    monkeypatch.setattr(store_db, "CONFLICT_PAUSE_SECONDS", 0)
    inner_calls, outer_calls = [], []

    @retried_on_conflict
    def inner() -> None:
        inner_calls.append(1)
        if len(inner_calls) == 1:
            raise WriteConflict("collided", exit_code=EXIT_BUSY)

    @retried_on_conflict
    def outer() -> str:
        outer_calls.append(1)
        with write_transaction():
            services.create_account(f"Attempt {len(outer_calls)}")
            inner()
        return "done"

    assert outer() == "done"
    assert (len(outer_calls), len(inner_calls)) == (2, 2)
    assert [account.name for account in Account.select()] == ["Attempt 2"]  # the first attempt left nothing
