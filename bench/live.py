"""A decision made in another session, seen in an open app: the app shows an account's checklist, a second
process (another session, as another approver would be) approves that account's pending gate, and the time
runs from the moment the decision committed to the first frame the app draws with the step approved.

Wall-clock times across two processes on one machine: the decider prints `time.time()` right after its
commit; the app notes the frame's `time.perf_counter()`, turned into wall-clock time in the same process.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

DECISIONS = 10
# The other session: approves each "RUN_ID STEP" read on stdin, prints when it committed.
DECIDER = """
import sys, time
from acct_tui.store import services
from acct_tui.store.db import open_database
open_database(sys.argv[1])
print("ready", flush=True)
for line in sys.stdin:
    run_id, step = line.split()
    services.approve(run_id, int(step), "Seen from the other session?")
    print(time.time(), flush=True)
"""


async def measure_seen_by_another_session(app: Any, expect: Callable, db: Path | str, wait_seconds: float,
                                          p95: Callable[[list[float]], float], results: dict[str, Any]) -> None:
    """`expect(condition)` resolves with the perf_counter of the first frame drawn once `condition` holds."""
    from acct_tui.store.queries import approval_queue
    from acct_tui.workflow import APPROVED

    pending = (await asyncio.to_thread(approval_queue))[:DECISIONS]
    decider = subprocess.Popen([sys.executable, "-c", DECIDER, str(db)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=_decider_environment())
    wall_minus_perf = time.time() - time.perf_counter()
    samples = []

    def checklist_of(item: Any) -> Any:
        view = getattr(app.screen, "_view", None)
        shown = app.current_mode == "checklist" and view is not None and view.account.id == item.account_id
        return view if shown else None

    try:
        assert decider.stdout.readline().strip() == "ready"
        for item in pending:
            opened = expect(lambda item=item: checklist_of(item) is not None)
            app.open_account(item.account_id)
            await asyncio.wait_for(opened, wait_seconds)
            approved = expect(lambda item=item: checklist_of(item) is not None
                              and checklist_of(item).step(item.step).status == APPROVED)
            decider.stdin.write(f"{item.run_id} {item.step}\n")
            decider.stdin.flush()
            committed_at = float(await asyncio.to_thread(decider.stdout.readline))
            seen_at = await asyncio.wait_for(approved, wait_seconds) + wall_minus_perf
            samples.append((seen_at - committed_at) * 1000)
    finally:
        decider.stdin.close()
        decider.wait(timeout=60)
    results["seen_elsewhere_median_ms"] = statistics.median(samples)
    results["seen_elsewhere_p95_ms"] = p95(samples)
    results["seen_elsewhere_max_ms"] = max(samples)


def _decider_environment() -> dict[str, str]:
    import os

    root = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "ACCT_TUI_USER": "another-approver",
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
