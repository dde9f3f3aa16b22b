"""Small per-user preferences the app remembers between runs (the theme), in `settings.json` in the config
folder: private to the user (0600 in a 0700 folder) and replaced whole through a renamed temporary file, so
a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from acct_tui.keymap import config_folder

SETTINGS_FILE = "settings.json"


def settings_path() -> Path:
    return config_folder() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> dict[str, object]:
    """The saved settings; a missing, unreadable or damaged file counts as none saved (the defaults apply,
    and the next change writes a good file)."""
    try:
        settings = json.loads((path or settings_path()).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return settings if isinstance(settings, dict) else {}


def save_setting(name: str, value: object, path: Path | None = None) -> None:
    """Remember `name` = `value` (raises OSError when the folder cannot be written)."""
    path = path or settings_path()
    settings = {**load_settings(path), name: value}
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(settings, file, indent=2, ensure_ascii=False)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
