"""Messages shared by several screens."""

from __future__ import annotations

from textual.message import Message


class DataChanged(Message):
    """Another connection (another session, process or thread) committed a change: reload what is shown.

    Several can arrive in a burst (a bulk import in another session); only the newest one matters, so a
    queued copy is replaced instead of each one starting a reload.
    """

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DataChanged)
