"""Completion for the account list's filter box: keys of the query language, and values of owner, stage
and segment (shown greyed after the cursor; right arrow takes it)."""

from __future__ import annotations

from textual.suggester import Suggester

from acct_tui.workflow.fields import SEGMENTS, STAGES
from acct_tui.workflow.query import complete


class QuerySuggester(Suggester):
    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.owners: tuple[str, ...] = ()  # the owners of the loaded accounts, set by the screen

    async def get_suggestion(self, value: str) -> str | None:
        return complete(value, self.owners, STAGES, SEGMENTS)
