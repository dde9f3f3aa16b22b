"""Where the app's stylesheet is (inside the installed package, else at the top of the source tree), and CSS
parsed once per process."""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

from textual.cache import LRUCache
from textual.css.model import RuleSet
from textual.css.stylesheet import Stylesheet
from textual.css.types import CSSLocation

STYLESHEET_NAME = "screens.tcss"
# Parsed CSS sources kept: the app's stylesheet and each widget class's default CSS, for each theme used.
PARSED_SOURCES_KEPT = 1024

_parsed: LRUCache[tuple, list[RuleSet]] = LRUCache(PARSED_SOURCES_KEPT)


def stylesheet_path() -> Path:
    """The wheel carries the stylesheet as `acct_tui/screens.tcss` (hatch force-include); a source checkout
    or an editable install keeps the one file at the top of the repository."""
    packaged = files("acct_tui") / STYLESHEET_NAME
    if isinstance(packaged, Path) and packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / STYLESHEET_NAME


def parse_css_once() -> None:
    """Have Textual parse each CSS source once per process. It parses every source again for each stylesheet it
    makes: at the start, again at the first mode switch (a fresh stylesheet), and for each app a process runs
    (every test). Its own cache lives in one stylesheet and keeps 64 sources, fewer than the app has. What a
    source parses to depends only on the source and the CSS variables (the theme), and Textual's cache already
    hands the same rules to repeated parses; kept here for the process, they are reused across stylesheets.
    Idempotent."""
    if getattr(Stylesheet._parse_rules, "parsed_once", False):
        return
    parse_rules = Stylesheet._parse_rules

    @functools.wraps(parse_rules)
    def parse_rules_once(stylesheet: Stylesheet, css: str, read_from: CSSLocation, is_default_rules: bool = False,
                         tie_breaker: int = 0, scope: str = "") -> list[RuleSet]:
        key = (css, read_from, is_default_rules, tie_breaker, scope, tuple(stylesheet._variables.items()))
        rules = _parsed.get(key)
        if rules is None:
            rules = _parsed[key] = parse_rules(stylesheet, css, read_from, is_default_rules, tie_breaker, scope)
        return rules

    parse_rules_once.parsed_once = True
    Stylesheet._parse_rules = parse_rules_once
