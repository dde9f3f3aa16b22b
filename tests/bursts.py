"""Send keys and pastes to an app the way a terminal delivers them over a slow link: several in one read.

`pilot.press` hands the app one key and waits for it to be handled before the next, which hides every bug
of keys typed ahead. These helpers queue every event of a burst before the app handles the first, exactly as
the driver's input thread does with the events it parses from one read; then the test waits (`settle`) and
looks at the screen and the database.
"""

from __future__ import annotations

import unicodedata

from textual import events
from textual.app import App
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

from textual._xterm_parser import XTermParser


def key_event(key: str) -> events.Key:
    """The event of one key named as for `pilot.press` ("enter", "ctrl+s", "a", "."), as the driver makes it."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        character = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
    except KeyError:
        character = key if len(key) == 1 else None
    return events.Key(key, character)


def typed(text: str) -> list[str]:
    """The key names that type `text`, for `burst`."""
    return [_character_to_key(character) if not character.isalnum() else character for character in text]


def burst(app: App, *keys: str | events.Paste) -> None:
    """Queue keys (names as for `pilot.press`) and pastes for the app, all before it handles the first."""
    for key in keys:
        event = key if isinstance(key, events.Paste) else key_event(key)
        event.set_sender(app)
        app.post_message(event)


def read(app: App, data: str) -> None:
    """Queue what the terminal sends as `data` in one read (escape sequences, bracketed pastes), parsed by
    the parser the app's driver reads the terminal with, all before the app handles the first event."""
    parser = getattr(app.get_driver_class(), "parser_class", XTermParser)()
    # The end of input stands for the pause after the read: a lone Escape at the end is then the Escape key.
    events_read = [*parser.feed(data), *parser.feed("")]
    for event in events_read:
        event.set_sender(app)
        app.post_message(event)
