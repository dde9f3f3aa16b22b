"""Text a user typed that could not be saved, held durably outside the database until the user applies or
discards it.

A save can be refused (a gate granted meanwhile in another session, a value over a limit, a decision already
made) or fail (the database busy, read-only, a full disk). Whatever the editor held then is kept here, with
the reason, in a small file of its own beside the database (`<db>-held.json`, mode 0600). The file is
replaced atomically (a new file in the same folder, flushed to disk, renamed over the old one), so a kill
at any moment leaves either the old list or the new one. When even that write fails (the disk is full) the
list stays in memory, `durable` is False, and `flush()` is retried until it succeeds.

Nothing leaves the list except by `remove()`, which the app calls only when the user discards an edit, or
after the held text (or text the user typed over it) was committed to the database.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from platformdirs import user_data_path

from acct_tui.store.backend import describe_url, is_database_url
from acct_tui.store.db import APP_NAME

# Where a held edit belongs.
FIELD = "field"  # a field of a checklist step: `step` and `key`
COMMENT = "comment"  # a rejection comment on the approval gate `step`
ACCOUNT = "account"  # the account form: `value` maps each form field to its text
KPI = "kpi"  # the KPI editor of step `step`: `value` maps metric, value, date (and the entry corrected)
OBJECTIVE = "objective"  # the objectives editor of step `step`: `value` maps its inputs

WAITING = "Waiting for the database: another program is writing."
# What a change still waiting when acct-tui last closed (or was killed) says at the next start.
INTERRUPTED = "Not written: acct-tui closed while the database was busy."


def held_path(db_path: Path | str) -> Path:
    """The held-edits file of the database at `db_path`: beside the file, or for a team database (a URL) in
    the user's own data folder, named after the URL without its password."""
    if is_database_url(db_path):
        digest = hashlib.sha256(describe_url(db_path).encode()).hexdigest()[:16]
        return user_data_path(APP_NAME, appauthor=False) / f"team-{digest}-held.json"
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + "-held.json")


@dataclass(frozen=True, slots=True)
class HeldEdit:
    """One edit the user typed and that is not saved. `value` is as typed: a string, a list of choices, or a
    mapping of a form's fields to their text (always JSON)."""

    id: str
    kind: str
    account_id: str | None
    account_name: str
    step: int | None
    key: str
    label: str
    value: Any
    reason: str
    at: str
    run_id: str | None = None
    target_id: str | None = None  # the KPI entry or objective being corrected, when there is one

    @property
    def place(self) -> tuple[str, str | None, int | None, str, str | None]:
        """Where it belongs: a newer held edit for the same place replaces this one (it was typed over it)."""
        return (self.kind, self.account_id, self.step, self.key, self.target_id)

    @property
    def where(self) -> str:
        """Where it belongs, in words."""
        if self.kind == FIELD:
            return f"step {self.step}, {self.label}"
        if self.kind == COMMENT:
            return f"rejection comment on approval step {self.step}"
        if self.kind == ACCOUNT:
            return "account form" if self.account_id else "new account form"
        return f"step {self.step}, {self.label}"

    @property
    def text(self) -> str:
        """The value as one text to read or copy."""
        if isinstance(self.value, dict):
            return "\n".join(f"{name}: {text}" for name, text in self.value.items())
        if isinstance(self.value, (list, tuple)):
            return ", ".join(map(str, self.value))
        return "" if self.value is None else str(self.value)


def new_held_edit(kind: str, *, account_id: uuid.UUID | str | None, account_name: str, value: Any, reason: str,
                  step: int | None = None, key: str = "", label: str = "", run_id: uuid.UUID | str | None = None,
                  target_id: uuid.UUID | str | None = None) -> HeldEdit:
    return HeldEdit(
        id=uuid.uuid4().hex,
        kind=kind,
        account_id=str(account_id) if account_id else None,
        account_name=account_name,
        step=step,
        key=key,
        label=label or key,
        value=list(value) if isinstance(value, tuple) else value,
        reason=reason,
        at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        run_id=str(run_id) if run_id else None,
        target_id=str(target_id) if target_id else None,
    )


class HeldStore:
    """The held edits of one database, in memory and in their file. Safe to use from several threads, and
    from several sessions on one database: each write merges with the file under a lock on its folder, so
    one session never drops what another held, nor brings back what another applied or discarded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._edits: dict[str, HeldEdit] = {}
        self._changed: set[str] = set()  # held or replaced here since the file was last written
        self._removed: set[str] = set()  # removed here since then
        self.durable = True
        self.problem = ""  # why the last write failed, when `durable` is False
        self._unreadable = False  # a file that could not be read is never written over
        self._load()

    def _read(self) -> dict[str, HeldEdit]:
        """The held edits in the file (none before the first); OSError or ValueError when it cannot be read."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("held"), list):
            raise ValueError("not a list of held edits")
        edits = {}
        for item in data["held"]:
            try:
                edit = HeldEdit(**item)
            except TypeError:
                continue
            edits[edit.id] = edit
        return edits

    def _load(self) -> None:
        try:
            edits = self._read()
        except (OSError, ValueError) as error:
            # Kept aside, never overwritten: the user's text may still be read from it by hand.
            self.problem = f"Could not read the held edits in {self.path} ({error}); the file is left as it was."
            self.durable = False
            self._unreadable = True
            return
        for edit in edits.values():
            # A change that was waiting when its session ended: nothing is writing it now.
            self._edits[edit.id] = replace(edit, reason=INTERRUPTED) if edit.reason == WAITING else edit

    def edits(self) -> list[HeldEdit]:
        with self._lock:
            return sorted(self._edits.values(), key=lambda edit: edit.at)

    def __len__(self) -> int:
        return len(self._edits)

    def get(self, edit_id: str) -> HeldEdit | None:
        return self._edits.get(edit_id)

    def at_place(self, kind: str, account_id: uuid.UUID | str | None, step: int | None = None,
                 key: str | None = None) -> list[HeldEdit]:
        """Held edits of one account (and step, and field when given)."""
        account = str(account_id) if account_id else None
        return [edit for edit in self.edits() if edit.kind == kind and edit.account_id == account
                and (step is None or edit.step == step) and (key is None or edit.key == key)]

    def hold(self, edit: HeldEdit) -> HeldEdit:
        """Keep `edit`, replacing an older one of the same place (the editor showed that one and the user typed
        on from it), except a rejection comment: each one is kept. Returns what is kept (the older one's id
        is reused, so a screen showing it still finds it)."""
        with self._lock:
            if edit.kind != COMMENT:
                for older in self._edits.values():
                    if older.place == edit.place:
                        edit = replace(edit, id=older.id)
                        break
            self._edits[edit.id] = edit
            self._changed.add(edit.id)
            self._removed.discard(edit.id)
            self.flush()
            return edit

    def remove(self, edit_ids: Iterable[str]) -> None:
        with self._lock:
            removed = [self._edits.pop(edit_id).id for edit_id in edit_ids if edit_id in self._edits]
            if removed:
                self._removed.update(removed)
                self._changed.difference_update(removed)
                self.flush()

    def release(self, kind: str, account_id: uuid.UUID | str | None, step: int | None, key: str,
                saved_value: Any) -> None:
        """A value for this place was committed: the held edit it was typed from is applied. A step's field
        shows its held text in the editor, so what was saved from there was typed over it; only a newer value
        still waiting to be written stays held."""
        saved = list(saved_value) if isinstance(saved_value, tuple) else saved_value
        self.remove([edit.id for edit in self.at_place(kind, account_id, step, key)
                     if edit.value == saved or (kind == FIELD and edit.reason != WAITING)])

    def flush(self) -> bool:
        """Write the list to its file atomically, merged with what other sessions wrote there meanwhile (and
        take theirs in); False (and `durable` False) when that failed."""
        with self._lock:
            if self._unreadable:
                return False
            try:
                with self._folder_locked():
                    merged = {edit_id: edit for edit_id, edit in self._read().items() if edit_id not in self._removed}
                    merged.update((edit_id, self._edits[edit_id]) for edit_id in self._changed)
                    self._write({"held": [asdict(edit) for edit in merged.values()]})
            except (OSError, ValueError) as error:
                self.durable = False
                self.problem = (f"Held edits are kept in memory only: writing {self.path} failed ({error}). "
                                "They are written as soon as there is room again.")
                return False
            self._edits = {edit_id: self._edits.get(edit_id, edit) for edit_id, edit in merged.items()}
            self._changed.clear()
            self._removed.clear()
            self.durable = True
            self.problem = ""
            return True

    @contextmanager
    def _folder_locked(self) -> Iterator[None]:
        """Sessions on the same database write the file one at a time (an advisory lock on its folder)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a team database's: the data folder
        descriptor = os.open(self.path.parent, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def _write(self, data: dict[str, Any]) -> None:
        folder = self.path.parent
        temporary = folder / f".{self.path.name}.{uuid.uuid4().hex}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(data, file, ensure_ascii=False)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
        folder_descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_descriptor)
        finally:
            os.close(folder_descriptor)
