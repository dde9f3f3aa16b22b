"""User text reaches the terminal as typed: never as a control sequence."""

from hypothesis import given
from hypothesis import strategies as st

from acct_tui.text import column_text, invisible_character, printable


def test_controls_become_visible_symbols_and_everything_else_is_kept():
    assert printable("a\x1b]0;X\x07b") == "a␛]0;X␇b"
    assert printable("x\x1b[2J\x7f\x9b") == "x␛[2J␡\\x9b"
    assert printable("[bold]x[/bold] a[/]b ünï ✓") == "[bold]x[/bold] a[/]b ünï ✓"
    assert printable("two\nlines\tand tab") == "two\nlines\tand tab"


def test_one_line_form_folds_newlines():
    assert printable("two\nlines", keep_newlines=False) == "two ⏎ lines"


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text())
def test_column_text_of_plain_ascii_is_the_text_itself_and_anything_else_is_cleaned(text):
    shown = column_text(text)
    if text.isascii():  # no skin tones there: controls made visible, nothing else changed
        assert shown == printable(text, keep_newlines=False)
    assert not any(ord(character) < 0x20 or 0x7F <= ord(character) <= 0x9F or invisible_character(character)
                   for character in shown)
