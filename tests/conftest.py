"""Shared fixtures: every test gets its own database file, never the developer's own data."""

from __future__ import annotations

from pathlib import Path

import pytest

from acct_tui.store.db import close_database, open_database


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCT_TUI_DB", str(tmp_path / "env-default.db"))
    monkeypatch.setenv("ACCT_TUI_USER", "tester")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # keymap and settings
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(tmp_path / "documents"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "acct.db"


@pytest.fixture
def db(db_path: Path):
    database = open_database(db_path)
    yield database
    close_database()
