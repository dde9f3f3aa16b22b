"""Reading the terminal: a bracketed paste arrives as one paste, whatever it contains.

Textual 8.2.8's parser ends a paste at the first Escape inside it: what follows the Escape is reported as keys
before the pasted text (`xx<ESC>yy` became the keys `^ y y` and then the paste `xx`), and a line break in that
part arrives as an Enter key that can submit a form. `WholePasteParser` takes everything between the paste
markers itself, byte for byte, and reports it as one `Paste`; what the paste may contain is up to the widget
that receives it (see `acct_tui.widgets.editors`).
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder
from typing import Iterable

from textual import events
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"


class WholePasteParser(XTermParser):
    """Textual's parser for everything but the inside of a bracketed paste."""

    def __init__(self, debug: bool = False) -> None:
        super().__init__(debug)
        self._recent = ""  # the last characters given to Textual's parser: a paste marker may span two reads
        self._pasted: list[str] | None = None  # the paste being read, else None
        self._pasted_tail = ""  # its last characters: the end marker may span two reads

    def feed(self, data: str) -> Iterable[Message]:
        if not data:  # end of input
            yield from super().feed(data)
            return
        while data:
            if self._pasted is None:
                window = self._recent + data
                start = window.find(PASTE_START)
                if start < 0:
                    yield from super().feed(data)
                    self._recent = window[-(len(PASTE_START) - 1):]
                    return
                # Textual's parser reads the start marker (and goes into its paste state); the paste is ours.
                after_marker = start + len(PASTE_START) - len(self._recent)
                yield from super().feed(data[:after_marker])
                data = data[after_marker:]
                self._recent = ""
                self._pasted, self._pasted_tail = [], ""
            else:
                window = self._pasted_tail + data
                end = window.find(PASTE_END)
                if end < 0:
                    self._pasted.append(data)
                    self._pasted_tail = window[-(len(PASTE_END) - 1):]
                    return
                cut = end - len(self._pasted_tail)  # where the end marker starts in `data`; < 0: in an earlier read
                pasted = "".join(self._pasted)
                text = pasted + data[:cut] if cut >= 0 else pasted[:cut]
                data = data[cut + len(PASTE_END):]
                self._pasted = None
                # Textual's parser leaves its paste state on the end marker, reporting an empty paste: not ours.
                for _ in super().feed(PASTE_END):
                    pass
                self._recent = ""
                yield events.Paste(text.replace("\x00", ""))  # as Textual does: NUL ends strings in terminals


class WholePasteDriver(LinuxDriver):
    """The Linux/macOS driver, reading input through `WholePasteParser`."""

    parser_class = WholePasteParser

    def run_input_thread(self) -> None:
        # Textual's input loop, with the parser replaced (Textual offers no hook to choose the parser).
        parser = self.parser_class(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        with selectors.SelectSelector() as selector:
            selector.register(self.fileno, selectors.EVENT_READ)

            def process(ready: list[tuple[selectors.SelectorKey, int]]) -> None:
                for _key, mask in ready:
                    if mask & selectors.EVENT_READ:
                        data = decode(os.read(self.fileno, 1024 * 4))
                        if not data:
                            break
                        for event in parser.feed(data):
                            self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)

            while not self.exit_event.is_set():
                process(selector.select(0.1))
