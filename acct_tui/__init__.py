"""acct-tui: a keyboard-first terminal app for the account-management workflow."""

__version__ = "0.1.0"
