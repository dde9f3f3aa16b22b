"""The sync tables: this database's replica id and logical clock, the change log, and the tips of each key.

A *key* names one field the same way in every database (account id + field, run id + step key, ...), as
JSON text. A *change* sets one key to a value (JSON; `null` for a deletion) and names the changes it
replaced (`parents`). The *tips* of a key are its changes no other change replaced: one tip normally; more
than one with different values is a conflict. The tip marked `head` holds the value this database shows.
"""

from __future__ import annotations

from peewee import BigIntegerField, BooleanField, CharField, IntegerField, Model, TextField

from acct_tui.store.models import TimestampField, database


class SyncReplica(Model):
    id = IntegerField(primary_key=True)  # always 1: one row
    replica_id = CharField(max_length=32)
    clock = BigIntegerField()  # hybrid logical clock: milliseconds << 16 | counter

    class Meta:
        database = database
        table_name = "sync_replica"


class SyncChange(Model):
    id = CharField(max_length=36, primary_key=True)
    origin = CharField(max_length=32)
    hlc = BigIntegerField()
    kind = CharField(max_length=12)
    key = TextField()
    value = TextField()
    parents = TextField(default="[]")
    actor = CharField(max_length=255)
    at = TimestampField()

    class Meta:
        database = database
        table_name = "sync_change"
        indexes = ((("origin", "hlc"), False),)


class SyncTip(Model):
    change = CharField(max_length=36, primary_key=True)
    key = TextField(index=True)
    kind = CharField(max_length=12)
    row = CharField(max_length=36, null=True, index=True)  # the local row it came from, for deletions
    value = TextField()
    head = BooleanField(default=False, index=True)  # a tip that is not the head means a key with several

    class Meta:
        database = database
        table_name = "sync_tip"


SYNC_MODELS = (SyncReplica, SyncChange, SyncTip)
