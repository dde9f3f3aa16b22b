"""acct-tui: a keyboard-first terminal app for the account-management workflow."""

import sys

__version__ = "0.1.0"

POSTGRES_DRIVERS = ("psycopg", "psycopg2")


def _import_peewee_without_postgres_drivers() -> None:
    """Peewee (and its schema migrator, through playhouse.postgres_ext) imports the PostgreSQL drivers it
    finds when it is imported: about 140 ms and 25 MB of every start, though only a team database (a
    postgresql:// URL) uses one. They are imported here, before any module of the app can, with the drivers
    hidden; `acct_tui.store.backend.connect_postgres` hands psycopg to Peewee when a URL asks for it."""
    if "peewee" in sys.modules:
        return
    hidden = {name: sys.modules.get(name) for name in POSTGRES_DRIVERS}
    sys.modules.update(dict.fromkeys(POSTGRES_DRIVERS))  # None there: `import psycopg` raises ImportError
    try:
        import peewee  # noqa: F401
        import playhouse.migrate  # noqa: F401
    finally:
        for name, module in hidden.items():
            if module is None:
                del sys.modules[name]
            else:
                sys.modules[name] = module


_import_peewee_without_postgres_drivers()
