"""Shared fixtures: every test gets its own database (a file, or a PostgreSQL database), never the developer's
own data.

Test modules marked `both_backends` run each test that uses `db` twice: on an SQLite file and on a PostgreSQL
database (see tests/postgres_support.py); `sqlite_only` keeps a test of such a module on SQLite alone (file
permissions, PRAGMAs, damaged files).
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from acct_tui.store.db import close_database, open_database
from tests.postgres_support import migrate_template, start_server
from tests.ram_folder import ram_folder
from tests.ui_support import quick_pilot as install_quick_pilot


@pytest.hookimpl(tryfirst=True)  # before pytest reads the base temporary folder (xdist's workers get theirs in it)
def pytest_configure(config: pytest.Config) -> None:
    # A test process holds far more long-lived objects than the app (every test module, Hypothesis, the
    # Textual apps of earlier tests until collected): at Python's default thresholds its full collections
    # walked them all about 30 times a worker, 7 % of the suite's CPU time. Cycles left by the tests are still
    # collected, less often.
    gc.set_threshold(*TEST_GC_THRESHOLDS)
    if config.option.basetemp is None and not hasattr(config, "workerinput") and (ram := ram_folder()):
        config.option.basetemp = config.stash[_RAM_BASETEMP] = tempfile.mkdtemp(prefix="acct-tui-tests-", dir=ram)
    config.addinivalue_line("markers", "both_backends: run the module's `db` tests on SQLite and on PostgreSQL")
    config.addinivalue_line("markers", "sqlite_only: a test about the SQLite file itself")
    config.addinivalue_line("markers", "postgres_only: a test of the team database on PostgreSQL")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish() -> None:
    # The process ends now and its memory with it: pytest's last full collection would first walk and free
    # what the tests left (2-3 s a worker, at the very end of the run).
    gc.freeze()


def pytest_unconfigure(config: pytest.Config) -> None:
    if folder := config.stash.get(_RAM_BASETEMP, None):
        shutil.rmtree(folder, ignore_errors=True)  # RAM: nothing may be left behind


_RAM_BASETEMP = pytest.StashKey[str]()
TEST_GC_THRESHOLDS = (50_000, 20, 10)


# The longest tests (2-4 s each) start first, one worker's share of them each, so that with -n 2 no worker
# is left with one of them at the end (or with all of them) while the other idles. A renamed test just loses its
# place in front; nothing is skipped.
LONG_TESTS = (
    "test_screens_read_whole.py::test_every_screen_and_dialog_reads_whole",
    "test_approver_sees.py::test_one_account_through_20_steps_and_4_approvals_with_a_rejection",
    "test_accounts_screen.py::test_demo_portfolio_loads_with_one_key",
    "test_cli.py::test_demo_loads_a_portfolio_at_varied_stages_once",
    "test_workflow_ui.py::test_complete_reject_redo_approve_and_keep_a_note",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def place(item: pytest.Item) -> int:
        return next((rank for rank, name in enumerate(LONG_TESTS) if name in item.nodeid), len(LONG_TESTS))

    ranked = sorted(items, key=place)  # stable: every other test keeps its order
    long_count = sum(place(item) < len(LONG_TESTS) for item in ranked)
    items[:] = _long_first_in_every_share(ranked[:long_count], ranked[long_count:],
                                          int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def _long_first_in_every_share(long: list[pytest.Item], rest: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """`--dist worksteal` first hands each worker the next contiguous share of the list (the pending tests
    divided by the workers still without one); a worker then steals only from the end of another's share.
    Each share opens with its turn of the long tests, dealt longest first like cards."""
    ordered: list[pytest.Item] = []
    remaining = len(long) + len(rest)
    for share in range(workers):
        size = remaining // (workers - share)
        own = long[share::workers]
        ordered += own + rest[:max(0, size - len(own))]
        rest = rest[max(0, size - len(own)):]
        remaining -= size
    return ordered + rest


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    definition = metafunc.definition
    if "backend" in metafunc.fixturenames and definition.get_closest_marker("postgres_only"):
        metafunc.parametrize("backend", ["postgresql"], indirect=True)
    elif ("db" in metafunc.fixturenames and definition.get_closest_marker("both_backends")
          and not definition.get_closest_marker("sqlite_only")):
        metafunc.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCT_TUI_DB", str(tmp_path / "env-default.db"))
    monkeypatch.setenv("ACCT_TUI_USER", "tester")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # keymap and settings
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(tmp_path / "documents"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for variable in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSERVICE"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for this test process, with a migrated template database; the tests that need
    it are skipped, with the reason, where it cannot start."""
    server, reason, handle = start_server()
    if server is None:
        pytest.skip(reason)
    migrate_template(server)
    yield server
    server.stop_background()
    handle.cleanup()


@pytest.fixture
def postgres_url(postgres_server):
    """The URL of a fresh database at the latest schema, dropped after the test."""
    name = postgres_server.new_database()
    yield postgres_server.url(name)
    close_database()
    postgres_server.drop_database(name)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "acct.db"


@pytest.fixture
def db_target(backend: str, request: pytest.FixtureRequest, db_path: Path) -> Path | str:
    """Where the test's database is: a file, or a PostgreSQL URL."""
    return request.getfixturevalue("postgres_url") if backend == "postgresql" else db_path


@pytest.fixture
def db(db_target):
    database = open_database(db_target)
    yield database
    close_database()


@pytest.fixture(autouse=True)
def quick_pilot(monkeypatch: pytest.MonkeyPatch) -> None:
    """`pilot.press` and `pilot.pause` without Textual's fixed sleeps when the app is provably idle (see
    tests/ui_support.py): the same waits, a fraction of the suite's time."""
    install_quick_pilot(monkeypatch)
