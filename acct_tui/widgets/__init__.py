"""Reusable widgets (each takes plain data, never ORM objects)."""
