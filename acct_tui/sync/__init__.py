"""Sync between two acct-tui databases (a laptop and the jump host): a change log of values written with each
change, merged field by field, conflicts kept for the user. Beside the store, never used by screens directly
for SQL: screens call `acct_tui.sync.conflicts` and `acct_tui.sync.session`."""
