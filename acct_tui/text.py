"""User text is data: it must reach the terminal, the screen and exports exactly as typed, never as markup
and never as terminal control. Every path that shows user text goes through `printable()` first.
"""

from __future__ import annotations

import re

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
    result = _CONTROL.sub(_picture, str(text))
    return result if keep_newlines else result.replace("\n", " ⏎ ").replace("\t", " ")
