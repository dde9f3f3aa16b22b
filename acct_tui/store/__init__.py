"""Peewee models, opening the database, service functions (all writes) and queries (all reads)."""
