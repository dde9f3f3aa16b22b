"""The user's own keys: `keymap.toml` in the config folder maps binding ids to keys, applied with Textual's
keymap (`App.set_keymap`), so the footer, `?` and the bindings themselves all follow it.

The file is flat TOML, one line per binding to move:

    "accounts.add" = "n"
    "accounts.down" = "down,ctrl+n"

Whatever cannot be used (a file that is not TOML, an id no binding has, a key no terminal can deliver as
itself) is left out and told to the user in one line; everything else still applies.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from platformdirs import user_config_path
from textual.binding import Binding
from textual.keys import Keys, _normalize_key_list, key_to_character

if TYPE_CHECKING:
    from textual.app import App

APP_NAME = "acct-tui"
KEYMAP_FILE = "keymap.toml"

# Keys a terminal sends as another key (or not at all): bound to one, the action would fire on the other
# key or never (see FACTS.md, "Keys that terminals cannot tell apart"). Keyed by Textual's key name.
UNRELIABLE_KEYS = {
    "ctrl+h": "arrives as backspace",
    "ctrl+i": "arrives as tab",
    "ctrl+m": "arrives as enter",
    "ctrl+[": "arrives as escape",
    "ctrl+left_square_bracket": "arrives as escape",
    "ctrl+space": "arrives as ctrl+@",
    "ctrl+enter": "does not arrive at all",
    "ctrl+tab": "does not arrive at all",
    "ctrl+backspace": "does not arrive at all",
    "ctrl+b": "is taken by tmux",
}
MODIFIERS = {"ctrl", "alt", "shift", "meta", "super", "hyper"}
# Every key name Textual knows, without its modifiers ("f5", "pageup", "home", ...).
_KEY_NAMES = {key.value.rpartition("+")[2] for key in Keys} | {"space", "enter", "tab", "backspace"}


def config_folder() -> Path:
    return user_config_path(APP_NAME, appauthor=False)


def keymap_path() -> Path:
    return config_folder() / KEYMAP_FILE


@dataclass(frozen=True, slots=True)
class BindingInfo:
    id: str
    description: str
    default: str
    where: str  # the screen, dialog or widget the binding belongs to


def _acct_tui_classes(root: type) -> Iterator[type]:
    for subclass in root.__subclasses__():
        if subclass.__module__.startswith("acct_tui."):
            yield subclass
        yield from _acct_tui_classes(subclass)


def binding_catalogue() -> dict[str, BindingInfo]:
    """Every binding of acct-tui that has an id, by id, in the order the classes define them."""
    from textual.dom import DOMNode

    import acct_tui.app  # noqa: F401  (the app and its first screen)
    import acct_tui.screens
    import acct_tui.widgets

    # The other screens are imported lazily by the app: import them all to see every binding.
    for package in (acct_tui.screens, acct_tui.widgets):
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    catalogue: dict[str, BindingInfo] = {}
    for cls in dict.fromkeys(_acct_tui_classes(DOMNode)):
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding) and binding.id and binding.id not in catalogue:
                catalogue[binding.id] = BindingInfo(binding.id, binding.tooltip or binding.description,
                                                    binding.key, cls.__name__)
    return catalogue


def normalised_keys(keys: str) -> str:
    """`keys` spelled as Textual matches them: a lone character by its name ("?" -> "question_mark")."""
    return _normalize_key_list(keys)


def key_problem(keys: str) -> str | None:
    """Why `keys` (a comma-separated list, as in a Binding) cannot be bound, or None when it can."""
    for key in normalised_keys(keys).split(","):
        *modifiers, name = key.split("+")
        if not name:
            return f"“{keys}” names no key"
        if any(modifier not in MODIFIERS for modifier in modifiers) or not (
            len(name) == 1 or name in _KEY_NAMES or key_to_character(name) is not None
        ):
            return f"“{key}” is not a key name"
        if key in UNRELIABLE_KEYS:
            return f"{key} {UNRELIABLE_KEYS[key]} in a terminal"
    return None


@dataclass(frozen=True, slots=True)
class UserKeymap:
    keys: dict[str, str]  # binding id -> keys, only those that can be used
    problem: str | None  # one line for the user, None when the whole file applied


def load_keymap(path: Path | None = None) -> UserKeymap:
    """The user's keymap: every usable line of the file, and one line about the rest."""
    path = path or keymap_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UserKeymap({}, None)
    except (OSError, UnicodeDecodeError) as error:
        return UserKeymap({}, f"Cannot read your keymap {path} ({error}); using the default keys.")
    try:
        entries = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return UserKeymap({}, f"Your keymap {path} is not valid TOML ({error}); using the default keys.")
    if not entries:
        return UserKeymap({}, None)
    known = binding_catalogue()
    usable: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in entries.items():
        if binding_id not in known:
            close = difflib.get_close_matches(binding_id, list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"no binding has the id “{binding_id}”{hint}")
        elif not isinstance(keys, str):
            problems.append(f"{binding_id}: the key must be text in quotes, such as \"f5\"")
        elif problem := key_problem(keys):
            problems.append(f"{binding_id}: {problem}")
        else:
            usable[binding_id] = normalised_keys(keys)
    for binding_id, keys in list(usable.items()):
        if clash := _clash(binding_id, keys, known, usable):
            problems.append(f"{binding_id}: {clash}")
            del usable[binding_id]
    if not problems:
        return UserKeymap(usable, None)
    return UserKeymap(usable, f"Keymap {path}: " + "; ".join(problems) + " — default keys kept for those.")


def _clash(binding_id: str, keys: str, known: dict[str, BindingInfo], usable: dict[str, str]) -> str | None:
    """Why `keys` cannot go to `binding_id`: another binding of the same screen or widget has one of them
    (Textual would silently take it from that binding)."""
    wanted = set(keys.split(","))
    where = known[binding_id].where
    for other in known.values():
        if other.id == binding_id or other.where != where:
            continue
        taken = wanted & set(usable.get(other.id, normalised_keys(other.default)).split(","))
        if taken:
            return f"{', '.join(sorted(taken))} is already the key of {other.id}"
    return None


def current_key_display(app: App, binding: Binding) -> str:
    """How the key that runs `binding` now is shown: the user's key when the keymap moved it."""
    keys = app._keymap.get(binding.id or "")  # Textual keeps the keymap only there (normalised)
    if keys:
        return app.get_key_display(binding.with_key(keys.split(",")[0], key_display=None))
    return app.get_key_display(binding)
