"""Where the app's stylesheet is: inside the installed package, else at the top of the source tree."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

STYLESHEET_NAME = "screens.tcss"


def stylesheet_path() -> Path:
    """The wheel carries the stylesheet as `acct_tui/screens.tcss` (hatch force-include); a source checkout
    or an editable install keeps the one file at the top of the repository."""
    packaged = files("acct_tui") / STYLESHEET_NAME
    if isinstance(packaged, Path) and packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / STYLESHEET_NAME
