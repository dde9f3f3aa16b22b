"""Rules for the values of form fields and account attributes: what is accepted and in what normal form.
Each kind of form field applies them through its entry in `acct_tui.workflow.field_kinds`."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from acct_tui.errors import DomainError

MAX_NAME = 200
MAX_SHORT_TEXT = 200
MAX_NOTES = 20_000
MAX_COMMENT = 4_000
# SQLite keeps DECIMAL as an 8-byte float: 15 significant digits survive the round trip exactly.
MAX_REVENUE = Decimal("1e13")

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


def one_line_text(value: object, what: str, limit: int = MAX_SHORT_TEXT, required: bool = False) -> str:
    """A one-line text value: trimmed, no control characters, within `limit` characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DomainError(f"{what} must be text.")
    text = unicodedata.normalize("NFC", value.replace("\t", " ")).strip()
    if _CONTROL.search(text):
        raise DomainError(f"{what} cannot contain control characters (such as Escape or line breaks).")
    if required and not text:
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
        return today + (timedelta(weeks=amount) if relative.group(2) == "w" else timedelta(days=amount))
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or len(text) != 10:
        raise DomainError(
            f"{what} “{value.strip()[:40]}” is not a date: use YYYY-MM-DD (2026-12-01), today, tomorrow or +7."
        )
    if not 2000 <= parsed.year <= 2100:
        raise DomainError(f"{what} {parsed.isoformat()} is out of range: use a year from 2000 to 2100.")
    return parsed


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
    if not number.is_finite() or number < 0 or number >= MAX_REVENUE:
        raise DomainError(f"Annual revenue must be a number from 0 up to {MAX_REVENUE - Decimal('0.01'):,}.")
    return number.quantize(Decimal("0.01"))


def choose(value: object, choices: tuple[str, ...], what: str) -> str:
    """One of a fixed list of labels; matching ignores case and surrounding spaces."""
    if isinstance(value, str):
        wanted = value.strip().casefold()
        for choice in choices:
            if choice.casefold() == wanted:
                return choice
    raise DomainError(f"{what} must be one of: {', '.join(choices)}.")
