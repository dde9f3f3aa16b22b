"""CPU time of the store's writes (a script, not a test): the demo load (about 2,600 audited changes through
the services) and a note saved with `set_field`, each with its change-log entry and report summaries.

    python bench/writes.py            # in a fresh temporary database
"""

from __future__ import annotations

import os
import tempfile
import time


def main() -> None:
    folder = tempfile.mkdtemp(prefix="acct-writes-")
    os.environ["ACCT_TUI_DB"] = os.path.join(folder, "writes.db")
    from acct_tui.demo import load_demo_portfolio
    from acct_tui.errors import DomainError
    from acct_tui.store import services
    from acct_tui.store.db import open_database
    from acct_tui.store.models import Run

    open_database(os.environ["ACCT_TUI_DB"])
    started = time.process_time()
    load_demo_portfolio()
    demo = time.process_time() - started
    runs = [run_id for (run_id,) in Run.select(Run.id).tuples()]
    saved = 0
    started = time.process_time()
    for round_number in range(10):
        for run_id in runs:
            try:
                services.set_field(run_id, 1, "notes", f"note {round_number}")
            except DomainError:  # step 1 is frozen by a granted approval on this account
                continue
            saved += 1
    per_save = (time.process_time() - started) / max(saved, 1) * 1000
    print(f"demo load: {demo:.2f} CPU-s; a note saved: {per_save:.2f} ms of CPU (mean of {saved})")


if __name__ == "__main__":
    main()
