"""How report numbers, dates and times read: one place, so every format and the screen agree."""

from __future__ import annotations

from datetime import date, datetime

NONE = "—"


def count(number: int) -> str:
    return f"{number:,}"


def percent(value: float | None, places: int = 1) -> str:
    return NONE if value is None else f"{value:.{places}f} %"


def day(value: date | None) -> str:
    return value.isoformat() if value else NONE


def moment(value: datetime | None) -> str:
    """A stored (naive UTC) timestamp, to the minute and marked as UTC: readers may be in any time zone."""
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else NONE


def duration(hours: float | None) -> str:
    """A turnaround: hours up to two days, then days."""
    if hours is None:
        return NONE
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def age(days: int | None) -> str:
    return NONE if days is None else f"{days:,} d"
