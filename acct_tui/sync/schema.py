"""Schema 7: the sync tables, created through Peewee (the same on SQLite and PostgreSQL), and the baseline
change log of the data a database held before (so a first sync into an empty database copies all of it)."""

from __future__ import annotations

import peewee


def add_change_log(db: peewee.Database) -> None:
    from acct_tui.sync.changelog import build_baseline, new_replica_row
    from acct_tui.sync.models import SYNC_MODELS

    db.create_tables(SYNC_MODELS)
    new_replica_row()
    build_baseline()
