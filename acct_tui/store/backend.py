"""What differs between the two databases acct-tui runs on, in one place.

The per-user SQLite file is the default; a team shares one PostgreSQL database (`--db postgresql://...`).
Services, queries and screens are the same on both: they reach the differences only through `backend_for(db)`
(how a write transaction begins, how another session's commit is noticed, how errors read) and the few
module functions here. Each backend says what its SQL needs (column types, seconds between timestamps).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import peewee

from acct_tui.errors import DomainError, StoreUnavailable

URL_SCHEMES = ("postgresql://", "postgres://")
CHANGES_CHANNEL = "acct_changes"
# Every acct-tui write transaction on PostgreSQL first takes this transaction-scoped advisory lock, so writes
# are serialised as SQLite's BEGIN IMMEDIATE serialises them: a service's read-check-write sees the latest data
# (without it, under READ COMMITTED, approve and reject of one gate both succeeded). The number is "acct" in ASCII.
WRITE_LOCK_KEY = 0x61636374
CONNECT_TIMEOUT_SECONDS = 10
# The change listener's thread looks this often whether it is asked to stop; after a failure it waits this
# long before connecting again.
LISTEN_POLL_SECONDS = 0.5
RECONNECT_PAUSE_SECONDS = 1.0
MASK = "********"


def is_database_url(target: object) -> bool:
    """`--db`/`$ACCT_TUI_DB` names a PostgreSQL database rather than a file."""
    return isinstance(target, str) and target.lower().startswith(URL_SCHEMES)


def mask_password(text: str) -> str:
    """`text` with every password of a connection URL or key=value string replaced by a mask."""
    text = re.sub(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@", rf"\1{MASK}@", text, flags=re.IGNORECASE)
    return re.sub(r"(password\s*=\s*)('[^']*'|[^&\s]+)", rf"\1{MASK}", text, flags=re.IGNORECASE)


def describe_url(url: str) -> str:
    """The URL as shown to the user: its password masked, its other parts kept so the user sees what was used."""
    parts = urlsplit(url)
    query = urlencode([(key, MASK if key.lower() == "password" else value) for key, value in parse_qsl(parts.query)],
                      safe="/")
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        if ":" in user:
            user = user.split(":", 1)[0] + ":" + MASK
        netloc = f"{user}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# Exit codes for a PostgreSQL server that cannot be used (SQLite's are in acct_tui.store.db; 2 is a refused request).
EXIT_SERVER_UNREACHABLE = 9
EXIT_AUTHENTICATION_FAILED = 10
EXIT_NO_SUCH_DATABASE = 11
EXIT_PERMISSION_DENIED = 12
# SQLSTATEs of a transaction PostgreSQL aborted because it collided with another one: run again, it succeeds.
SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
LOCK_NOT_AVAILABLE = "55P03"  # a lock_timeout ran out


class WriteConflict(StoreUnavailable):
    """PostgreSQL aborted a write transaction (a serialization failure or a deadlock) and rolled it back
    whole: running the service again from its start is safe (see `acct_tui.store.db.retried_on_conflict`)."""


class SqliteBackend:
    """The per-user file: BEGIN IMMEDIATE, `PRAGMA data_version`, SQLite's own SQL spellings."""

    name = "sqlite"
    watch_seconds = 1.0  # how often the app reads data_version
    column_types: ClassVar[dict[str, str]] = {
        "uuid": "TEXT", "timestamp": "DATETIME", "boolean": "INTEGER", "small_integer": "INTEGER"}
    param = "?"

    @staticmethod
    def seconds_between(later: str, earlier: str) -> str:
        return f"CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400) AS INTEGER)"

    @staticmethod
    def as_date(text: str) -> str:
        return text  # dates are ISO text already (a CAST would make 2026-01-15 the number 2026)

    def begin_write(self, db: peewee.Database) -> AbstractContextManager[Any]:
        return db.atomic("IMMEDIATE")

    @staticmethod
    def wait_briefly_for_locks(db: peewee.Database, milliseconds: int) -> None:
        """This thread's writes give up waiting for another connection's write lock after `milliseconds`
        (SQLITE_BUSY: `StoreUnavailable` with EXIT_BUSY)."""
        db.execute_sql(f"PRAGMA busy_timeout = {int(milliseconds)}")

    def data_version(self, db: peewee.Database) -> int:
        """SQLite's change counter for the calling thread's connection: it moves when another connection
        commits (another process or another thread), never for this connection's own writes."""
        ((version,),) = db.execute_sql("PRAGMA data_version").fetchall()
        return int(version)

    def session_user(self, db: peewee.Database) -> str | None:
        return None  # nobody logs in to a file: the actor is the OS login

    def install(self, db: peewee.Database) -> None:
        """Nothing beyond the models' tables."""

    def close(self) -> None:
        """No connection of its own."""


SQLITE = SqliteBackend()


class ChangeListener:
    """A connection of its own, on a thread of its own, that LISTENs on the changes channel; `version()`
    counts the commits of other connections, as SQLite's data_version does, without a round trip (the UI
    thread calls it several times a second, and a server gone silent must not freeze the app). After a dropped
    connection the thread reconnects and counts one change, so the screens reload whatever they missed."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._lock = threading.Lock()
        self._senders: list[str] = []  # the backend pid of each commit notified and not yet counted
        self._changes = 0
        self._problem: str | None = None
        self._stopping: threading.Event | None = None  # set to stop the running thread (each has its own)

    def version(self, own_pid: int | None) -> int:
        with self._lock:
            connected = None
            if self._stopping is None:
                self._stopping, connected = threading.Event(), threading.Event()
                threading.Thread(target=self._listen, args=(self._stopping, connected),
                                 name="acct-tui change listener", daemon=True).start()
        if connected is not None:
            # The first version is read once listening (or failing): a commit made meanwhile is not missed.
            connected.wait(CONNECT_TIMEOUT_SECONDS + 1)
        with self._lock:
            if self._problem is not None:
                # the app's change watcher handles Peewee's errors; the listener is the one raw psycopg connection
                raise peewee.OperationalError(self._problem)
            self._changes += sum(sender != str(own_pid) for sender in self._senders)
            self._senders.clear()
            return self._changes

    def _listen(self, stopping: threading.Event, connected: threading.Event) -> None:
        import psycopg

        first = True
        while not stopping.is_set():
            try:
                connection = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
            except psycopg.Error as error:
                with self._lock:
                    self._problem = mask_password(" ".join(str(error).split()))
                connected.set()
                stopping.wait(RECONNECT_PAUSE_SECONDS)
                continue
            try:
                with connection:
                    connection.execute(f"LISTEN {CHANGES_CHANNEL}")
                    with self._lock:
                        self._problem = None
                        self._changes += 0 if first else 1  # whatever was committed while not listening
                    first = False
                    connected.set()
                    while not stopping.is_set():
                        # Returns after the timeout (to look at `_stopping`); raises when the connection drops.
                        for notification in connection.notifies(timeout=LISTEN_POLL_SECONDS):
                            with self._lock:
                                self._senders.append(notification.payload)
            except psycopg.Error:
                continue  # the connection dropped (a restart, the network): connect again at once

    def close(self) -> None:
        """Tell the thread to stop; it closes its connection within LISTEN_POLL_SECONDS (nobody waits for it)."""
        with self._lock:
            if self._stopping is not None:
                self._stopping.set()
                self._stopping = None


class PostgresBackend:
    """A team database on PostgreSQL: an advisory lock starts each write transaction, LISTEN/NOTIFY tells
    sessions about each other's commits, and the actor is the session user."""

    name = "postgresql"
    # Reading the listener's count costs no round trip: looking four times a second shows another session's
    # commit within the second, reload included.
    watch_seconds = 0.25
    column_types: ClassVar[dict[str, str]] = {
        "uuid": "UUID", "timestamp": "TIMESTAMP", "boolean": "BOOLEAN", "small_integer": "SMALLINT"}
    param = "%s"

    def __init__(self, url: str) -> None:
        self.url = url
        self._listener = ChangeListener(url)
        self._session_user: str | None = None
        self._lock_waits = threading.local()  # .milliseconds: set on threads that wait briefly for the lock

    @staticmethod
    def seconds_between(later: str, earlier: str) -> str:
        return f"CAST(ROUND(EXTRACT(EPOCH FROM ({later} - {earlier}))) AS INTEGER)"

    @staticmethod
    def as_date(text: str) -> str:
        return f"CAST({text} AS DATE)"

    @contextmanager
    def begin_write(self, db: peewee.Database) -> Iterator[None]:
        with db.atomic():
            milliseconds = getattr(self._lock_waits, "milliseconds", None)
            if milliseconds is not None:  # for this transaction only: a new connection needs no setting again
                db.execute_sql("SELECT set_config('lock_timeout', %s, true)", (f"{milliseconds}ms",))
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            yield

    def wait_briefly_for_locks(self, db: peewee.Database, milliseconds: int) -> None:
        """This thread's writes give up waiting for another session's write lock after `milliseconds`
        (lock_not_available: `StoreUnavailable` with EXIT_BUSY), as SQLite's busy timeout does."""
        self._lock_waits.milliseconds = int(milliseconds)

    def data_version(self, db: peewee.Database) -> int:
        """Commits seen on the changes channel from every connection but the calling thread's own."""
        return self._listener.version(db.connection().info.backend_pid)

    def session_user(self, db: peewee.Database) -> str:
        if self._session_user is None:
            self._session_user = db.execute_sql("SELECT session_user").fetchone()[0]
        return self._session_user

    def install(self, db: peewee.Database) -> None:
        """What the models cannot say: a notification at each commit that writes the audit log (every change
        does), and names sorted byte by byte as on SQLite whatever the server's collation."""
        for statement in POSTGRES_SCHEMA_SQL:
            db.execute_sql(statement)

    def close(self) -> None:
        self._listener.close()


POSTGRES_SCHEMA_SQL = (
    f"""CREATE OR REPLACE FUNCTION acct_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{CHANGES_CHANNEL}', pg_backend_pid()::text);
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS acct_notify_change ON audit_event",
    ("CREATE TRIGGER acct_notify_change AFTER INSERT OR UPDATE OR DELETE ON audit_event "
     "FOR EACH STATEMENT EXECUTE FUNCTION acct_notify_change()"),
    'ALTER TABLE account ALTER COLUMN name_key TYPE VARCHAR(200) COLLATE "C"',
)


def backend_for(db: peewee.Database | None) -> SqliteBackend | PostgresBackend:
    backend = getattr(db, "acct_backend", None)
    return backend if backend is not None else SQLITE


def connect_postgres(url: str) -> peewee.PostgresqlDatabase:
    """A Peewee database for `url` (libpq reads PG* variables, a service file and ~/.pgpass for what the URL
    leaves out); each thread opens its own connection when it first needs one."""
    try:
        _hand_psycopg_to_peewee()
    except ImportError:
        raise StoreUnavailable(
            "PostgreSQL needs the psycopg driver: pip install 'acct-tui[team]'", exit_code=3
        ) from None
    # Peewee hands a `postgresql://` database name to libpq whole, as conninfo.
    conninfo = "postgresql://" + url.split("://", 1)[1]
    db = TeamDatabase(conninfo, prefer_psycopg3=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    db.acct_backend = PostgresBackend(conninfo)
    return db


def _hand_psycopg_to_peewee() -> None:
    """Peewee was imported without the PostgreSQL drivers (`acct_tui._import_peewee_without_postgres_drivers`):
    give it psycopg 3 now, as its own import would have (the module names it reads the driver by, and the
    transaction states its adapter reads off the class)."""
    import psycopg
    from psycopg.pq import TransactionStatus
    from psycopg.types.json import Json, Jsonb

    if peewee.psycopg is None:
        peewee.psycopg, peewee.TransactionStatus, peewee.Json_pg3, peewee.Jsonb_pg3 = (
            psycopg, TransactionStatus, Json, Jsonb)
        adapter = peewee.Psycopg3Adapter
        adapter.txn_idle, adapter.txn_inerror, adapter.txn_unknown = (
            TransactionStatus.IDLE, TransactionStatus.INERROR, TransactionStatus.UNKNOWN)


class TeamDatabase(peewee.PostgresqlDatabase):
    """Peewee's PostgreSQL database (the URL goes to libpq whole, so `?host=`, `?service=` and every other
    libpq parameter work), reconnecting after a dropped connection when no transaction is open."""

    acct_backend: PostgresBackend | None = None

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        try:
            return super().execute_sql(sql, params)
        except (peewee.OperationalError, peewee.InterfaceError) as error:
            if self.in_transaction() or not _connection_lost(error):
                raise
            self._reconnect()
            return super().execute_sql(sql, params)

    def begin(self, isolation_level: Any = None) -> None:
        """BEGIN is the first statement of a transaction: nothing is lost by sending it again on a new
        connection when the old one turns out to be dropped."""
        try:
            super().begin(isolation_level)
        except (peewee.OperationalError, peewee.InterfaceError) as error:
            if not _connection_lost(error):
                raise
            self._reconnect()
            super().begin(isolation_level)

    def _reconnect(self) -> None:
        self.close()
        self.connect()


def _connection_lost(error: BaseException) -> bool:
    text = str(error).lower()
    return any(sign in text for sign in ("connection is closed", "server closed the connection",
                                         "terminating connection", "connection is lost"))


def _sqlstate(error: BaseException) -> str | None:
    seen: BaseException | None = error
    while seen is not None:
        state = getattr(seen, "sqlstate", None)
        if state:
            return state
        seen = seen.__cause__ or seen.__context__
    return None


def explain_postgres(error: BaseException, where: str) -> DomainError:
    """A PostgreSQL failure in one line, with its own exit code, its password masked."""
    from acct_tui.store.db import EXIT_BUSY, EXIT_UNUSABLE

    detail = mask_password(" ".join(str(error).split()))
    text = detail.lower()
    state = _sqlstate(error) or ""
    if state == "P0001":
        # a refusal of the team rules (raised by a trigger): the message is written for the user
        message = detail.split("ERROR:")[-1].strip()
        return DomainError(re.sub(r"\s*CONTEXT:.*$", "", message))
    if state == "42501" or "permission denied" in text or "must be owner" in text:
        return StoreUnavailable(
            f"PostgreSQL refused this for your login ({_first_clause(detail)}). {_missing_role_hint(text)}",
            exit_code=EXIT_PERMISSION_DENIED,
        )
    if state == LOCK_NOT_AVAILABLE:
        return StoreUnavailable(
            f"Another session is writing to {where} (its write lock was held for longer than this session "
            "waits). Your change was not saved; try again.",
            exit_code=EXIT_BUSY,
        )
    if state in (SERIALIZATION_FAILURE, DEADLOCK_DETECTED):
        return WriteConflict(
            f"Another session changed the same data at the same moment ({_first_clause(detail)}). Your change "
            "was not saved; try again.",
            exit_code=EXIT_BUSY,
        )
    if "password authentication failed" in text or "no password supplied" in text or "authentication failed" in text:
        return StoreUnavailable(
            f"PostgreSQL at {where} did not accept your login (authentication failed). Check the user name "
            "and the password in ~/.pgpass (or PGPASSWORD); passwords are never shown.",
            exit_code=EXIT_AUTHENTICATION_FAILED,
        )
    if "does not exist" in text and "database" in text:
        return StoreUnavailable(
            f"There is no database named in {where} on that server ({_first_clause(detail)}). Ask the database "
            "owner to create it (createdb) and run `acct-tui team init`.",
            exit_code=EXIT_NO_SUCH_DATABASE,
        )
    if "role" in text and "does not exist" in text:
        return StoreUnavailable(
            f"PostgreSQL does not know your login ({_first_clause(detail)}). Ask the database owner to "
            "create it and run `acct-tui team grant USER manager|approver`.",
            exit_code=EXIT_AUTHENTICATION_FAILED,
        )
    if (isinstance(error, (peewee.OperationalError, peewee.InterfaceError)) or "connection" in text) and (
        "connect" in text or "server" in text or "timeout" in text or "closed" in text or "terminating" in text
    ):
        return StoreUnavailable(
            f"The PostgreSQL server of {where} cannot be reached ({_first_clause(detail)}). Nothing was saved; "
            "check the server is running and the address, then try again.",
            exit_code=EXIT_SERVER_UNREACHABLE,
        )
    return StoreUnavailable(f"The database {where} cannot be used: {detail}", exit_code=EXIT_UNUSABLE)


def _first_clause(detail: str) -> str:
    detail = detail.removeprefix("connection failed: ")
    for marker in (" Is the server running", " HINT:", " CONTEXT:"):
        detail = detail.split(marker)[0]
    return detail.strip().removesuffix(".")


def _missing_role_hint(text: str) -> str:
    if "permission denied for table approval_decision" in text:
        role, name = "acct_approver", "approver"
    elif "permission denied for table" in text:
        role, name = "acct_manager", "manager"
    else:  # the schema, roles and grants: `team init` and `team grant`
        return "Setting up the team database is for its owner: ask them to run the command."
    return f"It needs the {role} role: ask the database owner to run `acct-tui team grant YOUR_LOGIN {name}`."
