"""Rules for the values of form fields and account attributes: what is accepted and in what normal form.
Each kind of form field applies them through its entry in `acct_tui.workflow.field_kinds`."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from acct_tui.errors import DomainError
from acct_tui.text import invisible_character

MAX_NAME = 200
MAX_SHORT_TEXT = 200
MAX_NOTES = 20_000
MAX_COMMENT = 4_000
# SQLite keeps DECIMAL as an 8-byte float: 15 significant digits survive the round trip exactly.
MAX_REVENUE = Decimal("1e13")
# Numbers whose exponent is beyond this are refused before they are rounded or formatted: Decimal spells
# out `1e999999999` as a 1.3 GB string, and no limit here needs more than 13 digits before the point.
MAX_NUMBER_EXPONENT = 20
LAST_YEAR = 2100
FIRST_YEAR = 2000

SEGMENTS = ("Transactional", "Relationship", "Strategic", "Key")
STAGES = (
    "Prospecting",
    "Onboarding",
    "Relationship building",
    "Account development",
    "Retention",
    "Closure",
)

# C0 and C1 control characters other than tab and newline: never stored in one-line text.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTROL_IN_NOTES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_RELATIVE_DATE = re.compile(r"^\+(\d{1,4})\s*([dw]?)$")


def is_blank(text: str) -> bool:
    """Whether `text` shows nothing: only spaces, invisible format characters (zero-width space, BOM, word
    joiner, direction marks) and fillers (Hangul fillers, variation selectors, braille blank)."""
    return all(invisible_character(character) or character.isspace() for character in text)


def one_line_text(value: object, what: str, limit: int = MAX_SHORT_TEXT, required: bool = False) -> str:
    """A one-line text value: trimmed, no control characters, within `limit` characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DomainError(f"{what} must be text.")
    text = unicodedata.normalize("NFC", value.replace("\t", " ")).strip()
    if _CONTROL.search(text):
        raise DomainError(f"{what} cannot contain control characters (such as Escape or line breaks).")
    if required and is_blank(text):
        raise DomainError(f"{what} cannot be empty.")
    if len(text) > limit:
        raise DomainError(f"{what} is {len(text):,} characters long; the limit is {limit:,}.")
    return text


def multi_line_text(value: object, what: str, limit: int = MAX_NOTES) -> str:
    """Notes and comments: kept as typed (newlines, tabs, any script), but no terminal control characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DomainError(f"{what} must be text.")
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    if _CONTROL_IN_NOTES.search(text):
        raise DomainError(f"{what} cannot contain control characters such as Escape.")
    if len(text) > limit:
        raise DomainError(f"{what} is {len(text):,} characters long; the limit is {limit:,}.")
    return text


def name_key(name: str) -> str:
    """What makes two account names the same: case and Unicode compatibility forms are ignored."""
    return unicodedata.normalize("NFKC", name).casefold()


def parse_date(value: object, what: str = "Date", today: date | None = None) -> date | None:
    """Accept a date, an ISO date (2026-12-01), `today`, `tomorrow`, or `+N`/`+Nd`/`+Nw` from today."""
    if value is None or isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise DomainError(f"{what} must be a date like 2026-12-01.")
    text = value.strip().lower()
    if not text:
        return None
    today = today or date.today()
    if text == "today":
        return today
    if text == "tomorrow":
        return today + timedelta(days=1)
    relative = _RELATIVE_DATE.match(text)
    if relative:
        amount = int(relative.group(1))
        return _in_range(today + (timedelta(weeks=amount) if relative.group(2) == "w" else timedelta(days=amount)),
                         what)
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or len(text) != 10:
        raise DomainError(
            f"{what} “{value.strip()[:40]}” is not a date: use YYYY-MM-DD (2026-12-01), today, tomorrow or +7."
        )
    return _in_range(parsed, what)


def _in_range(day: date, what: str) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise DomainError(f"{what} {day.isoformat()} is out of range: use a year from {FIRST_YEAR} to {LAST_YEAR}.")
    return day


def rounded_number(number: Decimal, places: int) -> Decimal | None:
    """`number` rounded half-even to `places` decimals, or None when it is not a finite number of a size any
    limit here allows (checked on the exponent, before the number is ever spelled out or rounded)."""
    if not number.is_finite() or number.adjusted() > MAX_NUMBER_EXPONENT:
        return None
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return rounded.copy_abs() if rounded.is_zero() else rounded  # -0.001 is kept as 0.00, not -0.00


def parse_revenue(value: object) -> Decimal | None:
    """Annual revenue: empty, or a non-negative number with at most two decimals (1,250,000.50 is fine)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise DomainError("Annual revenue must be a number, like 1250000 or 1,250,000.50.")
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise DomainError(f"Annual revenue “{value.strip()[:40]}” is not a number, like 1250000 or 1,250,000.50.") from None
    else:
        raise DomainError("Annual revenue must be a number.")
    rounded = rounded_number(number, 2)  # rounded first: 9,999,999,999,999.995 would be stored as 1e13
    if rounded is None or rounded < 0 or rounded >= MAX_REVENUE:
        raise DomainError(f"Annual revenue must be a number from 0 up to {MAX_REVENUE - Decimal('0.01'):,}.")
    return rounded


def choose(value: object, choices: tuple[str, ...], what: str) -> str:
    """One of a fixed list of labels; matching ignores case and surrounding spaces."""
    if isinstance(value, str):
        wanted = value.strip().casefold()
        for choice in choices:
            if choice.casefold() == wanted:
                return choice
    raise DomainError(f"{what} must be one of: {', '.join(choices)}.")
