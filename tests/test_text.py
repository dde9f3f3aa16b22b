"""User text reaches the terminal as typed: never as a control sequence."""

from acct_tui.text import printable


def test_controls_become_visible_symbols_and_everything_else_is_kept():
    assert printable("a\x1b]0;X\x07b") == "a␛]0;X␇b"
    assert printable("x\x1b[2J\x7f\x9b") == "x␛[2J␡\\x9b"
    assert printable("[bold]x[/bold] a[/]b ünï ✓") == "[bold]x[/bold] a[/]b ünï ✓"
    assert printable("two\nlines\tand tab") == "two\nlines\tand tab"


def test_one_line_form_folds_newlines():
    assert printable("two\nlines", keep_newlines=False) == "two ⏎ lines"
