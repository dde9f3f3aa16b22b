"""The account list's query language, as typed in its filter box (pure: no Textual, no SQL).

    owner:alice stage:onboarding segment:key overdue rejected waiting not-touched:30 progress:>50 acme

Every term must hold. `key:value` terms compare with the account's fields (case ignored; a value matches
the start of a stage or segment, any part of an owner); `overdue`, `rejected` and `waiting` are flags;
a leading `-` negates a term (`-overdue`); anything else is text looked for in the name or owner. Quotes
group words: `owner:"ana lima"`, `"big corp"`. A word with an unknown key (`acme:eu`) is plain text, so
names holding a colon can still be found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import compress, repeat
from operator import contains, itemgetter
from typing import Any, Callable, Protocol, Sequence, TypeVar

FLAGS = ("overdue", "rejected", "waiting")
KEYS = ("owner", "stage", "segment", "not-touched", "progress")
# Offered by completion, in this order.
TERMS = (*(f"{key}:" for key in KEYS), *FLAGS)
MAX_DAYS = 36500

_TOKEN = re.compile(r'(-?)(?:([a-z-]+):("[^"]*"?|\S*)|("[^"]*"?|\S+))', re.IGNORECASE)
_QUOTED_TERM = re.compile(r"^([a-z-]+):(.*)$", re.IGNORECASE)
_PROGRESS = re.compile(r"^(?:(<=|>=|<|>|=)?(\d{1,3})|(\d{1,3})-(\d{1,3}))%?$")


class QueryableAccount(Protocol):
    """What a query reads of an account: a sequence whose first items are these, in this order (the account
    list's rows are plain tuples that start so: at 100,000 rows an object per row, a named tuple's too, costs
    the garbage collector a pass over every one of them; a plain tuple of values it leaves alone)."""

    def __getitem__(self, index: int) -> Any: ...


# The positions of what a query reads in a `QueryableAccount`.
SEARCH_TEXT = 0  # folded "name\nowner"
OWNER_KEY = 1  # folded owner
STAGE_KEY = 2  # folded stage
SEGMENT_KEY = 3  # folded segment
OVERDUE = 4  # a count of overdue tasks
REJECTED = 5  # an approval was refused and waits for its steps again
WAITING = 6  # an approval waits for a decision
PERCENT_DONE = 7  # -1 without a run
LAST_ACTIVITY = 8  # naive UTC datetime
QUERIED_FIELDS = ("search_text", "owner_key", "stage_key", "segment_key", "overdue", "rejected", "waiting",
                  "percent_done", "last_activity")
_search_text = itemgetter(SEARCH_TEXT)
_FLAG_POSITIONS = {"overdue": OVERDUE, "rejected": REJECTED, "waiting": WAITING}


Test = Callable[[QueryableAccount], bool]
Account = TypeVar("Account", bound=QueryableAccount)


@dataclass(frozen=True)
class Condition:
    """One term other than plain text. `spelling` (the term as typed, folded) makes equal terms compare equal."""

    spelling: str
    test: Test = field(compare=False)
    cheap: bool = field(default=False, compare=False)  # a flag, read straight off the row
    timed: bool = field(default=False, compare=False)  # its answer changes with the time (not-touched:N)
    # owner:, stage: and segment: (not negated): the key and the folded value, for `implies`.
    key: str = field(default="", compare=False)
    value: str = field(default="", compare=False)

    def implies(self, other: Condition) -> bool:
        """Whether every account this term matches is matched by `other` too: the same term, or the same key
        typed on (`owner:ali` after `owner:al`: any part of the owner; `stage:onb` after `stage:on`: the
        start of the stage). Not a term whose meaning changes as it is typed (`progress:<5` then
        `progress:<50` matches more), nor one that depends on the time (`not-touched:30` matches more
        accounts as time passes)."""
        if self.timed or other.timed:
            return False
        if self == other:
            return True
        if not self.key or self.key != other.key:
            return False
        return other.value in self.value if self.key == "owner" else self.value.startswith(other.value)


@dataclass(frozen=True)
class AccountQuery:
    words: tuple[str, ...] = ()  # folded text, each looked for in the name or owner
    conditions: tuple[Condition, ...] = ()
    problems: tuple[str, ...] = ()  # terms that were left out, in words

    @property
    def is_empty(self) -> bool:
        return not self.words and not self.conditions

    @property
    def is_timed(self) -> bool:
        """Whether the same query can match other accounts later (a term counts days up to now)."""
        return any(condition.timed for condition in self.conditions)

    def matches(self, account: QueryableAccount) -> bool:
        text = account[SEARCH_TEXT]
        return all(word in text for word in self.words) and all(c.test(account) for c in self.conditions)

    def filter(self, accounts: Sequence[Account]) -> tuple[Account, ...]:
        """The accounts that match, in their order. One pass per term, each over what the last one kept:
        at 100,000 accounts a pass of one plain test is a few milliseconds, a test of every term per row
        several times that. A tuple, built by C iterators: once the garbage collector has seen that it holds
        only rows (tuples of plain values) it never walks it again, where it walks a list of them at every
        pass (at 100,000 rows a pass took 10-25 ms, now and then in the middle of a keystroke)."""
        kept = tuple(accounts)
        for word in self.words:
            kept = tuple(compress(kept, map(contains, map(_search_text, kept), repeat(word))))
        for condition in self.conditions:
            kept = tuple(filter(condition.test, kept))
        return kept

    def narrows(self, earlier: AccountQuery) -> bool:
        """Whether every account this query matches was matched by `earlier` too (typing on in a word or in
        a term's value, or adding a term): then only what `earlier` matched needs testing. Each of
        `earlier`'s words is part of one of these words, and each of its terms is implied by one of these."""
        return (all(any(old in new for new in self.words) for old in earlier.words)
                and all(any(new.implies(old) for new in self.conditions) for old in earlier.conditions))


def _progress_test(value: str) -> Test | None:
    match = _PROGRESS.match(value)
    if not match:
        return None
    operator, number, low, high = match.groups()
    if number is not None:
        limit = float(number)
        return {
            None: lambda a: a[PERCENT_DONE] == limit, "=": lambda a: a[PERCENT_DONE] == limit,
            "<": lambda a: 0 <= a[PERCENT_DONE] < limit, "<=": lambda a: 0 <= a[PERCENT_DONE] <= limit,
            ">": lambda a: a[PERCENT_DONE] > limit, ">=": lambda a: a[PERCENT_DONE] >= limit,
        }[operator]
    low_limit, high_limit = sorted((float(low), float(high)))
    return lambda a: low_limit <= a[PERCENT_DONE] <= high_limit


def _condition(key: str, value: str, now: datetime) -> Test | str:
    """The test for `key:value`, or a message saying why the term cannot be used."""
    folded = value.casefold()
    if key in ("owner", "stage", "segment") and not folded:
        return f"{key}: needs a value ({key}:…)"
    if key == "owner":
        return lambda a: folded in a[OWNER_KEY]
    if key == "stage":
        return lambda a: a[STAGE_KEY].startswith(folded)
    if key == "segment":
        return lambda a: a[SEGMENT_KEY].startswith(folded)
    if key == "not-touched":
        if not value.isdigit() or not 0 < int(value) <= MAX_DAYS:
            return "not-touched: needs a number of days, such as not-touched:30"
        since = now - timedelta(days=int(value))
        return lambda a: a[LAST_ACTIVITY] < since
    test = _progress_test(value)
    if test is None:
        return "progress: needs a percentage, such as progress:>50, progress:<25 or progress:20-60"
    return test


def _unquoted(value: str) -> str:
    return value[1:].removesuffix('"') if value.startswith('"') else value


def parse_query(text: str, now: datetime) -> AccountQuery:
    """The query typed as `text`; `now` (naive UTC) anchors not-touched:N."""
    words: list[str] = []
    conditions: list[Condition] = []
    problems: list[str] = []
    for match in _TOKEN.finditer(text):
        negated, key, keyed_value, plain = match.groups()
        value = _unquoted(keyed_value if key is not None else plain)
        if key is None and (quoted_term := _QUOTED_TERM.match(value)) and quoted_term[1].casefold() in KEYS:
            key, value = quoted_term.groups()  # "not-touched:30": quotes around a whole term
        folded_key = (key or "").casefold()
        test: Test | str | None = None
        if folded_key in KEYS:
            test = _condition(folded_key, value, now)
        elif key is None and value.casefold() in FLAGS:
            flag = value.casefold()
            test = itemgetter(_FLAG_POSITIONS[flag])  # overdue is a count: any above 0 is true
        if isinstance(test, str):
            problems.append(test)
            continue
        if test is None:  # plain text: in the name or owner
            word = (f"{key}:{value}" if key is not None else value).casefold()
            if not word:
                continue
            if not negated:
                words.append(word)
                continue
            test = lambda a, word=word: word in a[SEARCH_TEXT]  # noqa: E731
        typed_on = folded_key in ("owner", "stage", "segment") and not negated
        conditions.append(Condition(match.group().casefold(), (lambda a, test=test: not test(a)) if negated else test,
                                    cheap=key is None and not negated, timed=folded_key == "not-touched",
                                    key=folded_key if typed_on else "", value=value.casefold() if typed_on else ""))
    # Flags first: each pass tests only what the last one kept, and a flag is the quickest test there is.
    conditions.sort(key=lambda condition: not condition.cheap)
    return AccountQuery(tuple(words), tuple(conditions), tuple(problems))


def complete(text: str, owners: tuple[str, ...] = (), stages: tuple[str, ...] = (),
             segments: tuple[str, ...] = ()) -> str | None:
    """`text` with its last term completed (a key, a flag, or a value of owner, stage or segment), or None."""
    head, _, last = text.rpartition(" ")
    negation = "-" if last.startswith("-") else ""
    term = last[len(negation):]
    if not term:
        return None
    key, colon, partial = term.partition(":")
    folded_key = key.casefold()
    if colon:
        choices = {"owner": owners, "stage": stages, "segment": segments}.get(folded_key, ())
        for choice in choices:
            if partial and choice.casefold().startswith(partial.casefold().strip('"')) and choice != partial:
                quoted = f'"{choice}"' if " " in choice else choice
                return f"{head}{' ' if head else ''}{negation}{key}:{quoted}"
        return None
    for candidate in TERMS:
        if candidate.startswith(folded_key) and candidate != folded_key:
            return f"{head}{' ' if head else ''}{negation}{candidate}"
    return None
