"""Saved views of the account list, per user.

A view is a filter query, a sort, the archived toggle and the columns shown, saved under a name and a key
that switches to it. Views live in the database (they travel with the user's data) and each save or
delete is one write transaction with one audit event, as every change is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from acct_tui.errors import DomainError
from acct_tui.store.db import current_user, retried_on_conflict, write_transaction
from acct_tui.store.models import SavedView, utcnow
from acct_tui.store.services import _audit
from acct_tui.workflow.fields import one_line_text

MAX_VIEW_NAME = 60
# Keys every terminal delivers as themselves, also behind tmux and over SSH (see FACTS.md): F-keys and
# alt+digit. alt+letter is left out: escape then a letter typed quickly arrives as alt+letter.
VIEW_KEY = re.compile(r"^(f([1-9]|1[0-2])|alt\+[0-9])$")
VIEW_KEYS_HELP = "F1-F12 or alt+0 to alt+9"


@dataclass(frozen=True, slots=True)
class View:
    name: str
    key: str
    filter_text: str
    sort_column: str
    sort_descending: bool
    show_archived: bool
    columns: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "key": self.key, "filter": self.filter_text, "sort": self.sort_column,
                "descending": self.sort_descending, "archived_shown": self.show_archived,
                "columns": list(self.columns)}


def normalise_view_key(key: str) -> str:
    """The key as typed ("F5", " Alt+1 ") in the spelling Textual reports it ("f5", "alt+1")."""
    return "".join(key.split()).lower()


def view_key_problem(key: str) -> str | None:
    if VIEW_KEY.match(normalise_view_key(key)):
        return None
    return (f"“{key.strip()[:20]}” cannot open a view: use {VIEW_KEYS_HELP}, which every terminal delivers "
            "(letters are taken by the list's own keys).")


def _view(row: SavedView) -> View:
    return View(row.name, row.key, row.filter_text, row.sort_column, bool(row.sort_descending),
                bool(row.show_archived), tuple(json.loads(row.columns)))


def saved_views(user: str | None = None) -> list[View]:
    """The user's views, by name."""
    query = SavedView.select().where(SavedView.user_name == (user or current_user())).order_by(SavedView.name)
    return [_view(row) for row in query]


@retried_on_conflict
def save_view(view: View, *, user: str | None = None) -> View:
    """Save `view` (replacing the user's view of the same name); refused when its key opens another view."""
    name = one_line_text(view.name, "The view's name", MAX_VIEW_NAME, required=True)
    if problem := view_key_problem(view.key):
        raise DomainError(problem)
    key = normalise_view_key(view.key)
    user = user or current_user()
    record = {"filter_text": one_line_text(view.filter_text, "The filter", 1000), "sort_column": view.sort_column,
              "sort_descending": view.sort_descending, "show_archived": view.show_archived,
              "columns": json.dumps(list(view.columns))}
    with write_transaction():
        other = SavedView.get_or_none((SavedView.user_name == user) & (SavedView.key == key)
                                      & (SavedView.name != name))
        if other is not None:
            raise DomainError(f"{key} already opens your view “{other.name}”: choose another key, or delete "
                              "that view first.")
        existing = SavedView.get_or_none((SavedView.user_name == user) & (SavedView.name == name))
        now = utcnow()
        if existing is None:
            saved = SavedView.create(user_name=user, name=name, key=key, created_at=now, updated_at=now, **record)
            before: dict[str, Any] = {}
        else:
            before = _view(existing).as_json()
            SavedView.update(key=key, updated_at=now, **record).where(SavedView.id == existing.id).execute()
            saved = SavedView.get_by_id(existing.id)
        stored = _view(saved)
        _audit("view.save", "view", saved.id, user, before=before, after=stored.as_json(), at=now)
    return stored


@retried_on_conflict
def delete_view(name: str, *, user: str | None = None) -> None:
    user = user or current_user()
    with write_transaction():
        existing = SavedView.get_or_none((SavedView.user_name == user) & (SavedView.name == name))
        if existing is None:
            raise DomainError(f"You have no view named “{name[:MAX_VIEW_NAME]}”.")
        before = _view(existing).as_json()
        existing.delete_instance()
        _audit("view.delete", "view", existing.id, user, before=before)
