"""Text editors that keep keys in the order they were typed.

Textual inserts a printable key in the editor at once, but runs an editing key bound in the editor
(backspace, delete, arrows, home/end) only after the key has bubbled up to the app. When several keys arrive in
one read, as they do over a slow SSH link, "abcdef", backspace, "q" becomes "abcdef": the "q" is inserted first,
then backspace deletes it. These editors run their own bindings the moment the key reaches them.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.widgets import Input, TextArea

# In a form, printable keys (? too) are typed: the forms show F1 in their footer for the list of keys.
KEYS_IN_FORMS = Binding("f1", "app.show_keys", "Keys", tooltip="List every key of this screen",
                        id="form.keys")


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


class LineEditor(_KeysInOrder, Input):
    """A one-line `Input` that applies editing keys in typing order."""


class NotesEditor(_KeysInOrder, TextArea):
    """A `TextArea` that applies editing keys in typing order."""
