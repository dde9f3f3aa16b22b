"""acct-tui: a keyboard-first terminal app for the account-management workflow."""

import sys as _sys

__version__ = "0.1.0"


def _import_peewee_without_psycopg() -> None:
    """Peewee imports the PostgreSQL driver when it is itself imported (~140 ms, half of every command's
    start) even for the SQLite file most users have; `acct_tui.store.backend.load_psycopg` hands the driver to
    Peewee when a PostgreSQL database is opened."""
    if "peewee" in _sys.modules or "psycopg" in _sys.modules:
        return
    _sys.modules["psycopg"] = None  # Peewee's `import psycopg` raises ImportError, as where it is not installed
    try:
        import peewee  # noqa: F401
        import playhouse.migrate  # noqa: F401  (imports Peewee's PostgreSQL extensions, which try psycopg too)
    finally:
        del _sys.modules["psycopg"]


_import_peewee_without_psycopg()
