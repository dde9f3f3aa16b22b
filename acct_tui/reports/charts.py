"""Charts as plain text: horizontal bars and sparklines built from block characters, so they read without
colour, over any terminal that shows UTF-8, and paste into an email or a wiki unchanged.
"""

from __future__ import annotations

from typing import Sequence

EIGHTHS = " ▏▎▍▌▋▊▉"
FULL = "█"
SPARKS = "▁▂▃▄▅▆▇█"
ELLIPSIS = "…"


def fit(text: str, width: int) -> str:
    """`text` cut to `width` characters, with an ellipsis when something was cut."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def bar(value: float, maximum: float, width: int) -> str:
    """A bar `width` cells long at `maximum`, in eighths of a cell; any value above zero shows."""
    if width <= 0 or maximum <= 0 or value <= 0:
        return ""
    eighths = max(1, round(8 * width * min(value, maximum) / maximum))
    whole, part = divmod(eighths, 8)
    return FULL * whole + (EIGHTHS[part] if part else "")


def bar_lines(bars: Sequence[tuple[str, float, str]], width: int, label_width: int = 24) -> list[str]:
    """One line per (label, value, value text): label, bar, value; every line at most `width` wide."""
    if not bars:
        return []
    labels = min(label_width, max(len(label) for label, _, _ in bars))
    texts = max(len(text) for _, _, text in bars)
    room = max(1, width - labels - texts - 2)
    maximum = max(value for _, value, _ in bars)
    return [
        f"{fit(label, labels):<{labels}} {bar(value, maximum, room):<{room}} {text:>{texts}}"
        for label, value, text in bars
    ]


def resample(values: Sequence[float], width: int) -> list[float]:
    """At most `width` values: longer series are averaged bucket by bucket, keeping their shape."""
    if len(values) <= width:
        return list(values)
    buckets = []
    for index in range(width):
        start = index * len(values) // width
        end = max(start + 1, (index + 1) * len(values) // width)
        chunk = values[start:end]
        buckets.append(sum(chunk) / len(chunk))
    return buckets


def sparkline(values: Sequence[float], width: int = 24) -> str:
    """A one-line trend, lowest value ▁ and highest █; a flat series sits in the middle."""
    points = resample(values, width)
    if not points:
        return ""
    low, high = min(points), max(points)
    if high == low:
        return SPARKS[3] * len(points)
    top = len(SPARKS) - 1
    return "".join(SPARKS[round(top * (value - low) / (high - low))] for value in points)
