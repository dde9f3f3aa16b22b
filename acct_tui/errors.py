"""The one error type users see. Every layer raises it (or a subclass) with a sentence a person understands."""

from __future__ import annotations


class DomainError(ValueError):
    """A refused action or invalid input; `str(error)` is the message to show as it is."""


class StaleEdit(DomainError):
    """Someone else saved the same value first; the caller keeps the user's text to re-apply it."""

    def __init__(self, message: str, current_value: object, current_version: int) -> None:
        super().__init__(message)
        self.current_value = current_value
        self.current_version = current_version


class StoreUnavailable(DomainError):
    """The database cannot be used (damaged, not a database, read-only, newer schema, full disk).

    `exit_code` is what the CLI exits with; the message says what happened and what to do.
    """

    def __init__(self, message: str, exit_code: int = 3) -> None:
        super().__init__(message)
        self.exit_code = exit_code
