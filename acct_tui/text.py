"""User text is data: it must reach the terminal, the screen and exports exactly as typed, never as markup
and never as terminal control. Every path that shows user text goes through `printable()` first.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from rich.cells import cell_len, set_cell_size

# C0 controls except tab/newline, DEL and C1 controls: each would act on the terminal (ESC sequences
# retitle it or blank rows), so they are shown as visible symbols instead.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control pictures": ␛ for ESC
    if code == 0x7F:
        return "\u2421"
    return f"\\x{code:02x}"


def printable(text: object, keep_newlines: bool = True) -> str:
    """`text` with every terminal control character replaced by a visible stand-in."""
    if isinstance(text, str) and text.isprintable():  # no control character, tab or newline: as it is
        return text
    result = _CONTROL.sub(_picture, str(text))
    return result if keep_newlines else result.replace("\n", " ⏎ ").replace("\t", " ")


# Characters that show nothing yet are not spaces: Hangul fillers, the combining grapheme joiner, Mongolian
# free variation selectors, the braille blank. (Format characters, category Cf, are found by category.)
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u034f\u180b\u180c\u180d\u180f\u2800")


def invisible_character(character: str) -> bool:
    """Whether `character` draws nothing on its own: a format character (zero-width space, BOM, word joiner,
    direction marks, tags), a variation selector or a filler. Spaces are not counted here."""
    code = ord(character)
    return (character in _FILLERS or unicodedata.category(character) in ("Cf", "Zl", "Zp")
            or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF)


# Terminals disagree on how wide these are drawn (an emoji skin tone is 0 cells in one and 2 in tmux 3.3a,
# a Hangul filler 0 or 2, `❤` with a variation selector 1 or 2, a zero-width joiner sequence 2 or 6), so a
# column of text that holds them is misaligned on some terminal whatever is measured.
_SKIN_TONES = re.compile("[\U0001F3FB-\U0001F3FF]")


def column_text(text: object) -> str:
    """One line of `text` for a column of a table on a terminal: printable, and without the characters
    terminals draw at different widths (skin tones, joiners, variation selectors, fillers, format
    characters), so `rich.cells.cell_len` is the width every terminal draws."""
    if text.__class__ is str and text.isascii() and text.isprintable():
        return text  # nothing to replace or drop: the usual case, checked in C (the list draws this per row)
    shown = _SKIN_TONES.sub("", printable(text, keep_newlines=False))
    return "".join(character for character in shown if not invisible_character(character))


def fit_cells(text: str, width: int, align: Literal["left", "right"] = "left") -> str:
    """`text` in exactly `width` terminal cells, measured by cells (a wide character takes two), never by
    characters: cut with an ellipsis when too long, else padded. Give it `column_text`."""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    padding = " " * (width - cell_len(text))
    return padding + text if align == "right" else text + padding
