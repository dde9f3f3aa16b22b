"""Text editors that keep keys in the order they were typed, and take a paste whole or not at all.

Textual inserts a printable key in the editor at once, but runs an editing key bound in the editor
(backspace, delete, arrows, home/end) only after the key has bubbled up to the app. When several keys arrive in
one read, as they do over a slow SSH link, "abcdef", backspace, "q" becomes "abcdef": the "q" is inserted first,
then backspace deletes it. These editors run their own bindings the moment the key reaches them.

A paste is inserted whole or refused whole with a message that says why: text with terminal control
characters (such as Escape) never reaches the screen, and a one-line field never keeps only the first line of
a paste (Textual's default).
"""

from __future__ import annotations

import re

from textual import events
from textual.binding import Binding
from textual.widgets import Input, TextArea

# In a form, printable keys (? too) are typed: the forms show F1 in their footer for the list of keys.
KEYS_IN_FORMS = Binding("f1", "app.show_keys", "Keys", tooltip="List every key of this screen",
                        id="form.keys")
# Terminals send the line breaks of a paste as CR; text copied from Windows has CRLF.
_LINE_BREAK = re.compile(r"\r\n?")
# What is left after line breaks are made "\n": C0 controls except tab and newline, DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
NOTHING_PASTED = "Nothing was pasted: "


def paste_refusal(text: str, *, one_line: bool) -> str | None:
    """Why `text` (line breaks already made "\\n") cannot be pasted into an editor, or None."""
    if _CONTROL.search(text):
        return NOTHING_PASTED + "the text contains terminal control characters (such as Escape)."
    if one_line and "\n" in text:
        return NOTHING_PASTED + f"this field takes one line and the text has {text.count(chr(10)) + 1}."
    return None


class _KeysInOrder:
    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if self.check_action(binding.action, ()) is not False:
                    event.stop()
                    event.prevent_default()
                    await self.run_action(binding.action)
                    return
        await super()._on_key(event)

    def _paste_refusal(self, text: str) -> str | None:
        """Why `text` (line breaks made "\\n") cannot be pasted here, or None."""
        raise NotImplementedError

    def _on_paste(self, event: events.Paste) -> None:
        # Runs before the Input/TextArea handler, which inserts `event.text` unless the default is prevented.
        text = _LINE_BREAK.sub("\n", event.text)
        refusal = self._paste_refusal(text)
        if refusal is None:
            event.text = text
            return
        event.prevent_default()
        event.stop()
        self.app.bell()
        self.notify(refusal, severity="warning", markup=False)


class LineEditor(_KeysInOrder, Input):
    """A one-line `Input` that applies editing keys in typing order and takes a paste whole."""

    def _paste_refusal(self, text: str) -> str | None:
        text = text.removesuffix("\n")  # a copied line often brings its line break along
        refusal = paste_refusal(text, one_line=True)
        if refusal is None and self.max_length:
            selection = self.selection
            length = len(self.value) - abs(selection.end - selection.start) + len(text)
            if length > self.max_length:
                refusal = NOTHING_PASTED + f"the field holds up to {self.max_length:,} characters."
        return refusal


class NotesEditor(_KeysInOrder, TextArea):
    """A `TextArea` that applies editing keys in typing order and takes a paste whole."""

    def _paste_refusal(self, text: str) -> str | None:
        return paste_refusal(text, one_line=False)
