"""A decision made in another session, seen in an open app (a script, not a test).

    python bench/live.py TARGET [TARGET ...] [--json FILE]

TARGET is a portfolio file or a team database's URL; give an SQLite file and its PostgreSQL copy to measure
both back to back. For each, a fresh process starts the app headless at 80x24 and, for each of the first
DECISIONS gates of the approval queue: opens that account's checklist (timed from the call to the frame
showing it), has a second process (another session, as another approver would be) approve the gate, and
times from the moment that decision committed to the first frame the app draws with the step approved.

Wall-clock times across two processes on one machine: the decider prints `time.time()` right after its
commit; the app notes the frame's `time.perf_counter()`, turned into wall-clock time in the same process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

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
    samples, opens = [], []

    def checklist_of(item: Any) -> Any:
        view = getattr(app.screen, "_view", None)
        shown = app.current_mode == "checklist" and view is not None and view.account.id == item.account_id
        return view if shown else None

    try:
        assert decider.stdout.readline().strip() == "ready"
        for item in pending:
            opened = expect(lambda item=item: checklist_of(item) is not None)
            asked = time.perf_counter()
            app.open_account(item.account_id)
            opens.append((await asyncio.wait_for(opened, wait_seconds) - asked) * 1000)
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
    results["checklist_open_median_ms"] = statistics.median(opens)
    results["checklist_open_p95_ms"] = p95(opens)
    results["seen_elsewhere_median_ms"] = statistics.median(samples)
    results["seen_elsewhere_p95_ms"] = p95(samples)
    results["seen_elsewhere_max_ms"] = max(samples)


def _decider_environment() -> dict[str, str]:
    import os

    root = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "ACCT_TUI_USER": "another-approver",
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}


async def measure(target: str) -> dict[str, Any]:
    from run import WAIT_SECONDS, Frames, p95

    from acct_tui.app import AcctApp
    from acct_tui.store.db import open_database

    frames = Frames()
    frames.install()
    open_database(target)
    app = AcctApp(target)
    results: dict[str, Any] = {}
    listed = frames.expect(lambda: app.current_mode == "accounts" and app.screen.rows_loaded.is_set())
    async with app.run_test(size=(80, 24)):
        await asyncio.wait_for(listed, 300)
        await measure_seen_by_another_session(app, frames.expect, target, WAIT_SECONDS, p95, results)
    return results


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(asyncio.run(measure(sys.argv[2]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+", help="portfolio files or postgresql:// URLs, measured in turn")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    results = {}
    for target in args.targets:
        print(f"measuring {target}…", file=sys.stderr)
        child = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", target],
                               capture_output=True, text=True, timeout=1800)
        if child.returncode != 0:
            raise SystemExit(f"measuring {target} failed:\n{child.stderr[-4000:]}")
        results[target] = json.loads(child.stdout.strip().splitlines()[-1])
    for target, figures in results.items():
        print(target)
        for name, value in figures.items():
            print(f"  {name}: {value:,.0f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
